import type { Kysely, Migration } from 'kysely'

/** Background jobs (GC, index rebuilds, scans), leased by one node at a time. */
export const jobs: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      // While queued or running: at most one pending job per key (e.g. one GC, one index rebuild per repository).
      .addColumn('dedupe_key', 'text', (c) => c.unique())
      .addColumn('run_at', 'bigint', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'bigint')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('result', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('jobs_due').on('jobs').columns(['status', 'run_at']).execute()
  },
}
