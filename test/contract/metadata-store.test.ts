import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Migrator, sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { openMetadataStore, type MetadataStore } from '../../src/metadata/database.js'
import { migrationProvider } from '../../src/metadata/migrations/index.js'
import { createTestDatabase, metadataBackends, type TestDatabase } from '../helpers/postgres.js'

const run = promisify(execFile)
const backends = await metadataBackends()

/** A fresh, empty database URL for the backend, and how to remove it. */
async function freshDatabase(backend: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (backend === 'postgres') {
    const db: TestDatabase = await createTestDatabase()
    return db
  }
  const dir = await mkdtemp(join(tmpdir(), 'trove-meta-'))
  return { url: join(dir, 'trove.db'), drop: () => rm(dir, { recursive: true, force: true }) }
}

/** The spine's tables; formats add their own. */
const CORE_TABLES = ['assets', 'blobs', 'folders', 'jobs', 'properties', 'repositories', 'repository_grants', 'settings', 'tokens', 'users']

async function migrationNames(backend: string): Promise<string[]> {
  return Object.keys(await migrationProvider(backend as 'sqlite' | 'postgres').getMigrations()).sort()
}

describe.each(backends)('metadata store (%s)', (backend) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  async function open(): Promise<{ store: MetadataStore; url: string }> {
    const database = await freshDatabase(backend)
    cleanups.push(() => database.drop())
    const store = openMetadataStore(database.url)
    cleanups.push(() => store.close())
    return { store, url: database.url }
  }

  it('creates every table, and migrating again changes nothing', async () => {
    const { store } = await open()
    await store.migrate()
    await store.migrate()
    const tables = (await store.db.introspection.getTables()).map((t) => t.name).filter((n) => !n.startsWith('kysely_'))
    expect(tables).toEqual(expect.arrayContaining(CORE_TABLES))
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(store.db)
    expect(applied.rows.map((r) => r.name).sort()).toEqual(await migrationNames(backend))
  })

  it('stores epoch milliseconds and sizes beyond 32 bits as numbers', async () => {
    const { store } = await open()
    await store.migrate()
    const big = 5 * 1024 ** 3 + 7
    const now = Date.now()
    await store.db.insertInto('blobs').values({ sha256: 'a'.repeat(64), sha1: 'b'.repeat(40), md5: 'c'.repeat(32), size: big, created_at: now }).execute()
    const row = await store.db.selectFrom('blobs').selectAll().executeTakeFirstOrThrow()
    expect(row.size).toBe(big)
    expect(row.created_at).toBe(now)
  })

  it('an upgrade keeps every blob row, its last write taken from its creation time', async () => {
    const { store } = await open()
    // 1. A database as the version before the storage lifecycle left it, holding a blob.
    const migrator = new Migrator({ db: store.db, provider: migrationProvider(backend as 'sqlite' | 'postgres') })
    expect((await migrator.migrateTo('010-scan-policies')).error).toBeUndefined()
    const created = Date.now() - 3_600_000
    await sql`insert into blobs (sha256, sha1, md5, size, created_at) values (${'d'.repeat(64)}, ${'e'.repeat(40)}, ${'f'.repeat(32)}, ${12}, ${created})`.execute(store.db)

    // 2. The upgrade.
    await store.migrate()

    const row = await store.db.selectFrom('blobs').selectAll().executeTakeFirstOrThrow()
    expect(row).toMatchObject({ sha256: 'd'.repeat(64), size: 12, created_at: created, written_at: created })
    expect(await store.db.selectFrom('instances').selectAll().execute()).toEqual([])
  })

  it('orders paths bytewise, so a folder range never catches a sibling sharing its prefix', async () => {
    const { store } = await open()
    await store.migrate()
    const now = Date.now()
    await store.db.insertInto('repositories').values({ key: 'r1', rclass: 'local', package_type: 'generic', config: '{}', created_at: now, updated_at: now }).execute()
    for (const path of ['a/b/x', 'a/b-c/x', 'a/b0', 'a/b.d', 'a/bz', 'a/B/x']) {
      await store.db.insertInto('folders').values({ repo_key: 'r1', path, folder: 'a', name: path, created_at: now, created_by: 't' }).execute()
    }
    const below = await store.db.selectFrom('folders').select('path').where('path', '>=', 'a/b/').where('path', '<', 'a/b0').execute()
    expect(below.map((r) => r.path)).toEqual(['a/b/x'])
  })

  it('runs migrations safely when several processes start at once', async () => {
    const { store, url } = await open()
    // Four processes race to migrate the same empty database.
    const script = `import { openMetadataStore } from './src/metadata/database.ts'
      const store = openMetadataStore(process.argv[1]); await store.migrate(); await store.close(); console.log('migrated')`
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, url], { cwd: process.cwd(), timeout: 150_000 }),
      ),
    )
    for (const result of results) expect(result.stdout.trim()).toBe('migrated')
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(store.db)
    expect(applied.rows.map((r) => r.name).sort()).toEqual(await migrationNames(backend))
    const tables = (await store.db.introspection.getTables()).map((t) => t.name).filter((n) => !n.startsWith('kysely_'))
    expect(tables).toEqual(expect.arrayContaining(CORE_TABLES))
  }, 180_000)

  it('answers the health check, and fails it once closed', async () => {
    const database = await freshDatabase(backend)
    cleanups.push(() => database.drop())
    const store = openMetadataStore(database.url)
    await store.migrate()
    await expect(store.checkHealth()).resolves.toBeUndefined()
    await store.close()
    await expect(store.checkHealth()).rejects.toThrow()
  })
})
