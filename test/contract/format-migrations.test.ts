/**
 * The formats' tables moved into the formats' folders (003-oci, 004-npm and 007-helm live
 * beside their code now) under the names databases have recorded: a database the previous
 * release migrated, with data in those tables, starts and serves it; a database migrated by the
 * core alone gets the formats' tables at the next start; a migration or a package type declared
 * twice is refused. On SQLite and PostgreSQL.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Migrator, sql, type Kysely, type Migration } from 'kysely'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { assertDistinctFormats, type Format } from '../../src/formats/format.js'
import { FORMATS } from '../../src/formats/index.js'
import { createTrove, type Trove } from '../../src/main.js'
import { openMetadataStore } from '../../src/metadata/database.js'
import { allMigrations } from '../../src/metadata/migrations/index.js'
import { createTestBlobstore } from '../helpers/blobstore.js'
import { createTestDatabase, metadataBackends } from '../helpers/postgres.js'
import { basicAuth, ADMIN_PASSWORD, testConfig } from '../helpers/server.js'

const backends = await metadataBackends()

/** Every migration name a release has recorded in databases (never renamed, never dropped). */
const LANDED = [
  '001-initial',
  '002-jobs',
  '003-oci',
  '004-npm',
  '005-remote',
  '006-vulndb',
  '007-helm',
  '008-access',
  '009-sso',
  '010-scan-policies',
  '011-token-bounds',
  '012-scans-per-repository',
  '013-storage-lifecycle',
]

/** The migrations of this release that no release has recorded yet (new formats' tables). */
function newerThanLanded(backend: Parameters<typeof allMigrations>[0]): string[] {
  return Object.keys(allMigrations(backend, FORMATS)).filter((name) => !LANDED.includes(name))
}

const SHA = 'a'.repeat(64)
const NOW = 1_760_000_000_000

/** What the previous release wrote in the formats' tables: an npm package, a Helm chart, an OCI referrer. */
async function writeReleaseData(db: Kysely<unknown>): Promise<void> {
  for (const [key, type] of [['npm-local', 'npm'], ['helm-local', 'helm'], ['docker-local', 'docker']]) {
    await sql`INSERT INTO repositories (key, rclass, package_type, config, created_at, updated_at) VALUES (${key}, 'local', ${type}, ${JSON.stringify({ key, rclass: 'local', packageType: type })}, ${NOW}, ${NOW})`.execute(db)
  }
  const manifest = { name: 'hello', version: '1.0.0', description: 'from the old release', dist: { shasum: 'b'.repeat(40), integrity: 'sha512-x' } }
  await sql`INSERT INTO npm_packages (repo_key, name, revision, dist_tags, latest_version, description, keywords, created_at, modified_at)
    VALUES ('npm-local', 'hello', 1, ${JSON.stringify({ latest: '1.0.0' })}, '1.0.0', 'from the old release', '[]', ${NOW}, ${NOW})`.execute(db)
  await sql`INSERT INTO npm_versions (repo_key, name, version, manifest, tarball_path, deprecated, readme, published_by, created_at, modified_at)
    VALUES ('npm-local', 'hello', '1.0.0', ${JSON.stringify(manifest)}, 'hello/-/hello-1.0.0.tgz', NULL, NULL, 'admin', ${NOW}, ${NOW})`.execute(db)

  await sql`INSERT INTO blobs (sha256, sha1, md5, size, created_at) VALUES (${SHA}, ${'c'.repeat(40)}, ${'d'.repeat(32)}, 100, ${NOW})`.execute(db)
  await sql`INSERT INTO assets (repo_key, path, folder, name, sha256, sha1, md5, size, content_type, original_checksums, created_at, created_by, modified_at, modified_by)
    VALUES ('helm-local', 'hello-0.1.0.tgz', '', 'hello-0.1.0.tgz', ${SHA}, ${'c'.repeat(40)}, ${'d'.repeat(32)}, 100, 'application/gzip', '{}', ${NOW}, 'admin', ${NOW}, 'admin')`.execute(db)
  const chart = { apiVersion: 'v2', name: 'hello', version: '0.1.0', description: 'an old chart' }
  await sql`INSERT INTO helm_charts (sha256, name, version, metadata, created_at) VALUES (${SHA}, 'hello', '0.1.0', ${JSON.stringify(chart)}, ${NOW})`.execute(db)
  // Out of date: the next read rebuilds index.yaml from the charts above.
  await sql`INSERT INTO helm_indexes (repo_key, revision, built_revision, body, built_at) VALUES ('helm-local', 1, -1, NULL, NULL)`.execute(db)

  await sql`INSERT INTO oci_referrers (digest, subject, artifact_type, annotations, created_at) VALUES (${`sha256:${'e'.repeat(64)}`}, ${`sha256:${'f'.repeat(64)}`}, 'application/example', NULL, ${NOW})`.execute(db)
}

describe.each(backends)('the formats’ migrations (%s)', (backend) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  /** A fresh database and data folder, and a way to start Trove on them. */
  async function fresh() {
    const dataDir = await mkdtemp(join(tmpdir(), 'trove-format-migrations-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const database = backend === 'postgres' ? await createTestDatabase() : undefined
    if (database) cleanups.push(() => database.drop())
    const url = database?.url ?? join(dataDir, 'trove.db')
    const start = async (formats: readonly Format[] = FORMATS): Promise<Trove & { url: string }> => {
      const blobstore = await createTestBlobstore(dataDir)
      cleanups.push(() => blobstore.close())
      const trove = await createTrove(testConfig({ dataDir, databaseUrl: url, blobstore }), { logger: pino({ level: 'silent' }), formats })
      cleanups.push(() => trove.close())
      return Object.assign(trove, { url: await trove.listen() })
    }
    return { url, start }
  }

  const appliedNames = async (db: Kysely<unknown>) => (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows.map((r) => r.name)

  it('keeps every landed migration name, the formats’ under their old names', () => {
    expect(Object.keys(allMigrations(backend, FORMATS))).toEqual(expect.arrayContaining(LANDED))
    const owners = Object.fromEntries(FORMATS.flatMap((f) => Object.keys(f.migrations ?? {}).map((name) => [name, f.id])))
    expect(owners).toMatchObject({ '003-oci': 'docker', '004-npm': 'npm', '007-helm': 'helm' })
  })

  it('starts on a database the previous release migrated, and serves what it holds', async () => {
    const { url, start } = await fresh()
    // 1. The previous release: one migration set, 001 to 013 in name order, the formats' tables among them.
    const store = openMetadataStore(url)
    const landed = allMigrations(backend, FORMATS)
    const provider = { getMigrations: async () => Object.fromEntries(LANDED.map((name) => [name, landed[name]!])) as Record<string, Migration> }
    expect((await new Migrator({ db: store.db, provider }).migrateToLatest()).error).toBeUndefined()
    await writeReleaseData(store.db as unknown as Kysely<unknown>)
    const before = await appliedNames(store.db as unknown as Kysely<unknown>)
    await store.close()

    // 2. This release starts on it: nothing is migrated again, and the data is served.
    const trove = await start()
    const db = trove.services.metadata.db as unknown as Kysely<unknown>
    // Nothing is migrated again; only migrations newer than that release (a new format's tables) run.
    expect(await appliedNames(db)).toEqual([...before, ...newerThanLanded(backend)].sort())
    const auth = { authorization: basicAuth('admin', ADMIN_PASSWORD) }
    const packument = await fetch(`${trove.url}/artifactory/api/npm/npm-local/hello`, { headers: auth })
    expect(packument.status).toBe(200)
    expect(await packument.json()).toMatchObject({ name: 'hello', 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { description: 'from the old release' } } })
    const index = await fetch(`${trove.url}/artifactory/api/helm/helm-local/index.yaml`, { headers: auth })
    expect(index.status).toBe(200)
    expect(parseYaml(await index.text())).toMatchObject({ entries: { hello: [{ name: 'hello', version: '0.1.0', description: 'an old chart', digest: SHA }] } })
    const referrers = await sql<{ subject: string }>`select subject from oci_referrers`.execute(db)
    expect(referrers.rows).toEqual([{ subject: `sha256:${'f'.repeat(64)}` }])
  })

  it('adds the formats’ tables to a database the core alone migrated (a command run before the first start)', async () => {
    const { url, start } = await fresh()
    const store = openMetadataStore(url)
    await store.migrate()
    expect(await appliedNames(store.db as unknown as Kysely<unknown>)).not.toContain('004-npm')
    await store.close()

    const trove = await start()
    const db = trove.services.metadata.db as unknown as Kysely<unknown>
    expect(await appliedNames(db)).toEqual([...LANDED, ...newerThanLanded(backend)].sort())
    // (The registry's old upload tables are created by 003-oci and retired by 20261207-oci-uploads-retired.)
    for (const table of ['oci_referrers', 'npm_packages', 'npm_versions', 'helm_charts', 'helm_indexes', 'upload_sessions']) {
      expect((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows.map((r) => Number(r.n))).toEqual([0])
    }
  })

  it('refuses two formats claiming one migration or one package type, before touching the database', async () => {
    const { start } = await fresh()
    const npm = FORMATS.find((f) => f.id === 'npm')!
    const copy: Format = { ...npm, id: 'npm-copy', config: undefined }
    await expect(start([...FORMATS, copy])).rejects.toThrow("the migration '004-npm' is declared by the formats 'npm' and 'npm-copy'")
    expect(() => assertDistinctFormats([...FORMATS, { ...npm, migrations: {}, config: undefined }])).toThrow("the package type 'npm' is declared by the formats 'npm' and 'npm'")
    const stealing: Format = { id: 'thief', title: 'Thief', kinds: ['local'], migrations: { '001-initial': LANDED_MIGRATION }, register: async () => {} }
    expect(() => allMigrations(backend, [stealing])).toThrow("the migration '001-initial' is declared by the core and by the format 'thief'")
  })
})

const LANDED_MIGRATION: Migration = { up: async () => {} }
