import type { Kysely, Migration } from 'kysely'

/** Named as every new migration is (`20261207-<area>-<what>`), so it sorts after the landed ones. */
export const sampleMigrations: Readonly<Record<string, Migration>> = {
  '20261207-sample-packages': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('sample_packages')
        .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('uploaded_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('sample_packages_pk', ['repo_key', 'name', 'version'])
        .execute()
    },
  },
}
