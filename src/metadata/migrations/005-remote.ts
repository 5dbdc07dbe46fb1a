import type { Kysely, Migration } from 'kysely'

/** Remote repositories: where a cached file came from and when it was fetched (or last re-checked). */
export const remote: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('assets').addColumn('source_url', 'text').execute()
    await db.schema.alterTable('assets').addColumn('fetched_at', 'bigint').execute()
  },
}
