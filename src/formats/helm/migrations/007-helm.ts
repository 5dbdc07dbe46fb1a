import type { Kysely, Migration } from 'kysely'

/**
 * Helm chart repositories. Charts themselves are ordinary assets (`<name>-<version>.tgz`); these
 * rows let `index.yaml` be built without reopening a chart:
 * - `helm_charts`: the `Chart.yaml` of a chart blob, keyed by the blob's sha256 (content-addressed,
 *   so a row never goes stale: the same bytes always have the same Chart.yaml);
 * - `helm_indexes`: per local repository, the last generated `index.yaml` and the change
 *   revision it was built from; a read that finds `built_revision < revision` rebuilds it.
 */
export const helm: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('helm_charts')
      .addColumn('sha256', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('helm_indexes')
      .addColumn('repo_key', 'text', (c) => c.primaryKey().references('repositories.key').onDelete('cascade'))
      .addColumn('revision', 'bigint', (c) => c.notNull())
      .addColumn('built_revision', 'bigint', (c) => c.notNull())
      .addColumn('body', 'text')
      .addColumn('built_at', 'bigint')
      .execute()
  },
}
