import type { Kysely, Migration } from 'kysely'

/**
 * Composer repositories. Archives are ordinary assets (`<vendor>/<package>/<version>/<package>-<version>.zip`);
 * `composer_archives` keeps each archive blob's composer.json so that `p2` documents are built
 * without reopening a zip.
 */
export const archives: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('composer_archives')
      .addColumn('sha256', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('manifest', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()
  },
}
