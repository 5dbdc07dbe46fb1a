import type { Kysely, Migration } from 'kysely'

/**
 * npm packages and versions of local npm repositories. The tarballs themselves are ordinary
 * assets (`name/-/name-1.0.0.tgz`); these rows hold what the packument is built from, so that a
 * packument is two indexed reads, not a walk of the storage.
 */
export const npm: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('npm_packages')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('revision', 'bigint', (c) => c.notNull())
      .addColumn('dist_tags', 'text', (c) => c.notNull())
      .addColumn('latest_version', 'text')
      .addColumn('description', 'text')
      .addColumn('keywords', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('modified_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('npm_packages_pk', ['repo_key', 'name'])
      .execute()

    await db.schema
      .createTable('npm_versions')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('manifest', 'text', (c) => c.notNull())
      .addColumn('tarball_path', 'text', (c) => c.notNull())
      .addColumn('deprecated', 'text')
      .addColumn('readme', 'text')
      .addColumn('published_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('modified_at', 'bigint', (c) => c.notNull())
      // The primary key is what refuses a second publish of one version, even when two race.
      .addPrimaryKeyConstraint('npm_versions_pk', ['repo_key', 'name', 'version'])
      .execute()
  },
}
