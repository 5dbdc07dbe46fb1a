import type { Kysely, Migration } from 'kysely'

/** Usage reports (docs/lifecycle.md): daily totals per repository, and the bytes each cleanup freed. */
export const lifecycleUsage: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('usage_snapshots')
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('repo_key', 'text', (c) => c.notNull())
      .addColumn('project_key', 'text')
      .addColumn('files', 'bigint', (c) => c.notNull())
      .addColumn('logical_bytes', 'bigint', (c) => c.notNull())
      .addColumn('stored_bytes', 'bigint', (c) => c.notNull())
      .addColumn('taken_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('usage_snapshots_pk', ['repo_key', 'day'])
      .execute()
    await db.schema
      .createTable('usage_freed')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('repo_key', 'text')
      .addColumn('project_key', 'text')
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .addColumn('files', 'bigint', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('usage_freed_repo_at').on('usage_freed').columns(['repo_key', 'at']).execute()
  },
}
