import type { Kysely, Migration } from 'kysely'

/** Download policies of the scanner: one row per policy, its settings as JSON (read whole, a few per server). */
export const scanPolicies: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('scan_policies')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()
  },
}
