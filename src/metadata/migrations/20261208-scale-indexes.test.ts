/**
 * Upgrading to 20261208-scale-indexes: a database with files at 20261207-uploads-sessions keeps
 * every row, gains the indexes (the name search and folder listings then read them), and an
 * operator's index of the same name made beforehand does not stop the upgrade.
 */
import { sql, type Kysely } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import { storeMigratedTo } from '../../../test/helpers/migrated-store.js'
import { ArtifactQueries } from '../../core/artifacts/artifact-queries.js'
import type { MetadataStore } from '../database.js'
import type { Database } from '../schema.js'

const backends = await metadataBackends()

async function indexesOf(store: MetadataStore, table: string): Promise<string[]> {
  const rows =
    store.engine === 'postgres'
      ? (await sql<{ name: string }>`select indexname as name from pg_indexes where tablename = ${table}`.execute(store.db)).rows
      : (await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = ${table}`.execute(store.db)).rows
  return rows.map((r) => r.name).sort()
}

async function fill(db: Kysely<Database>): Promise<void> {
  await sql`insert into repositories (key, rclass, package_type, config, created_at, updated_at) values ('old-local', 'local', 'generic', '{}', 1, 1)`.execute(db)
  await sql`insert into blobs (sha256, sha1, md5, size, created_at) values (${'a'.repeat(64)}, ${'b'.repeat(40)}, ${'c'.repeat(32)}, 7, 1)`.execute(db)
  for (const [path, folder, name] of [['lib/App-1.0.jar', 'lib', 'App-1.0.jar'], ['lib/app-1.1.jar', 'lib', 'app-1.1.jar'], ['top.txt', '', 'top.txt']]) {
    await sql`insert into assets (repo_key, path, folder, name, sha256, sha1, md5, size, content_type, original_checksums, created_at, created_by, modified_at, modified_by, download_count)
      values ('old-local', ${path}, ${folder}, ${name}, ${'a'.repeat(64)}, ${'b'.repeat(40)}, ${'c'.repeat(32)}, 7, 'text/plain', '{}', 1, 'old', 1, 'old', 0)`.execute(db)
  }
  await sql`insert into folders (repo_key, path, folder, name, created_at, created_by) values ('old-local', 'lib', '', 'lib', 1, 'old')`.execute(db)
}

describe.each(backends)('migration 20261208-scale-indexes (%s)', (backend) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('keeps the files of an older database and finds them through the new indexes', async () => {
    const store = await storeMigratedTo(backend, '20261207-uploads-sessions', cleanups)
    await fill(store.db)
    const before = await store.db.selectFrom('assets').selectAll().orderBy('path').execute()
    expect(await indexesOf(store, 'assets')).toContain('assets_folder')

    await store.migrate()

    expect(await store.db.selectFrom('assets').selectAll().orderBy('path').execute()).toEqual(before)
    const indexes = await indexesOf(store, 'assets')
    expect(indexes).toEqual(expect.arrayContaining(['assets_name_lower', 'assets_folder_path', 'assets_name_path', 'assets_sha256_path', 'assets_sha1_path', 'assets_md5_path']))
    for (const replaced of ['assets_folder', 'assets_name', 'assets_sha256', 'assets_sha1', 'assets_md5']) expect(indexes).not.toContain(replaced)
    expect(await indexesOf(store, 'folders')).toContain('folders_folder_path')
    const queries = new ArtifactQueries(store.db, undefined as never)
    expect((await queries.search.byName('app-1.0.JAR', ['old-local'], { limit: 10 })).map((a) => a.path)).toEqual(['lib/App-1.0.jar'])
    expect((await queries.search.byName('APP-*', ['old-local'], { limit: 10 })).map((a) => a.path)).toEqual(['lib/App-1.0.jar', 'lib/app-1.1.jar'])
    expect((await queries.search.byChecksum('sha256', 'A'.repeat(64), ['old-local'], { limit: 10 })).map((a) => a.path)).toEqual(['lib/App-1.0.jar', 'lib/app-1.1.jar', 'top.txt'])
    expect((await queries.findFiles({ repoKeys: ['old-local'], names: ['top.txt', 'app-1.1.jar'] })).map((a) => a.path)).toEqual(['lib/app-1.1.jar', 'top.txt'])
    const children = await queries.children('old-local', 'lib')
    expect(children.files.map((f) => f.path)).toEqual(['lib/App-1.0.jar', 'lib/app-1.1.jar'])
    expect((await queries.children('old-local', '')).folders).toEqual(['lib'])
  })

  it('upgrades a database where an index of the same name was made by hand', async () => {
    const store = await storeMigratedTo(backend, '20261207-uploads-sessions', cleanups)
    await fill(store.db)
    await sql`create index assets_folder_path on assets (repo_key, folder, path)`.execute(store.db)

    await store.migrate()

    expect(await indexesOf(store, 'assets')).toEqual(expect.arrayContaining(['assets_name_lower', 'assets_folder_path']))
    expect(await store.db.selectFrom('assets').select('path').orderBy('path').execute()).toHaveLength(3)
  })
})
