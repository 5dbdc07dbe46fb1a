import { sql, type Kysely, type Migration } from 'kysely'
import type { MetadataEngine } from '../database.js'

/**
 * Indexes that keep lookups flat however many artifacts are stored (issue 22, item 6):
 *
 * - `assets_name_lower`: the quick search by name compares `lower(name)`; an exact name (or a
 *   pattern's literal prefix) is one index range, in (repository, path) order. On PostgreSQL the
 *   key is compared in byte order (`collate "C"`), so that a prefix is one range whatever the
 *   database's locale; the queries say the same (core/artifacts/artifact-search.ts).
 * - `assets_folder_path`, `folders_folder_path`: a folder's children in path order straight from
 *   the index; without them SQLite walked the whole repository in path order to avoid a sort.
 * - `assets_name_path`, `assets_sha256_path`, `assets_sha1_path`, `assets_md5_path`: files by
 *   name or checksum in (repository, path) order (formats' lookups by file name, the checksum
 *   search), for the same reason.
 *
 * Each replaces the index that was its prefix.
 *
 * Only indexes: no row changes (the `name` column has held each file's last path segment since
 * 001). `if not exists`, so a database where an operator created them by hand upgrades too.
 */
export const scaleIndexes = (engine: MetadataEngine): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    const nameKey = engine === 'postgres' ? sql`(lower(name) collate "C")` : sql`lower(name)`
    await sql`create index if not exists assets_name_lower on assets (${nameKey}, repo_key, path)`.execute(db)
    await sql`create index if not exists assets_folder_path on assets (repo_key, folder, path)`.execute(db)
    await sql`create index if not exists folders_folder_path on folders (repo_key, folder, path)`.execute(db)
    for (const column of ['name', 'sha256', 'sha1', 'md5']) {
      await sql`create index if not exists ${sql.id(`assets_${column}_path`)} on assets (${sql.id(column)}, repo_key, path)`.execute(db)
    }
    for (const replaced of ['assets_folder', 'folders_folder', 'assets_name', 'assets_sha256', 'assets_sha1', 'assets_md5']) {
      await sql`drop index if exists ${sql.id(replaced)}`.execute(db)
    }
  },
})
