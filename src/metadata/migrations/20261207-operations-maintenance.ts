import type { Kysely, Migration } from 'kysely'

/** Announced maintenance windows (docs/operations.md); every node reads them, so they apply cluster-wide and survive restarts. */
export const operationsMaintenance: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('maintenance_windows')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('starts_at', 'bigint', (c) => c.notNull())
      .addColumn('ends_at', 'bigint', (c) => c.notNull())
      .addColumn('forced_reason', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('announced_at', 'bigint', (c) => c.notNull())
      .addColumn('started_notified_at', 'bigint')
      .addColumn('ended_notified_at', 'bigint')
      .addColumn('cancelled_at', 'bigint')
      .execute()
    await db.schema.createIndex('maintenance_windows_ends_at').on('maintenance_windows').column('ends_at').execute()
  },
}
