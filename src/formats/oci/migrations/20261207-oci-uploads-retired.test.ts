/**
 * Upgrading to the core's upload sessions (migrations 20261207-uploads-sessions of the core and
 * 20261207-oci-uploads-retired of the docker format): the container
 * registry's old sessions kept each chunk as an asset in the image's `_uploads` folder. The
 * upgrade reclaims them cleanly: the chunk assets and their properties go, the project's usage
 * loses their bytes, an `_uploads` folder left empty goes, and everything else is kept.
 */
import { sql, type Kysely } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { metadataBackends } from '../../../../test/helpers/postgres.js'
import type { MetadataStore } from '../../../metadata/database.js'
import { ociFormat } from '../index.js'
import { storeMigratedTo } from '../../../../test/helpers/migrated-store.js'

const backends = await metadataBackends()
const NOW = 1_700_000_000_000
const HELD = 'a'.repeat(64)
const MANIFEST = 'b'.repeat(64)
const CHUNKS = ['c'.repeat(64), 'd'.repeat(64), 'e'.repeat(64)]

describe.each(backends)('migration 20261207-oci-uploads-retired (%s)', (backend) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  const storeAt013 = (): Promise<MetadataStore> => storeMigratedTo(backend, '013-storage-lifecycle', cleanups, [ociFormat])

  async function asset(db: Kysely<unknown>, path: string, sha256: string, size: number): Promise<void> {
    const folder = path.slice(0, path.lastIndexOf('/'))
    await sql`INSERT INTO assets (repo_key, path, folder, name, sha256, sha1, md5, size, content_type, original_checksums, created_at, created_by, modified_at, modified_by)
      VALUES ('docker-local', ${path}, ${folder}, ${path.slice(folder.length + 1)}, ${sha256}, 's1', 'm5', ${size}, 'application/octet-stream', '{}', ${NOW}, 'admin', ${NOW}, 'admin')`.execute(db)
  }

  async function folder(db: Kysely<unknown>, path: string): Promise<void> {
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : ''
    await sql`INSERT INTO folders (repo_key, path, folder, name, created_at, created_by) VALUES ('docker-local', ${path}, ${parent}, ${path.slice(path.lastIndexOf('/') + 1)}, ${NOW}, 'admin')`.execute(db)
  }

  /** A registry as the version before kept it: a tag, a pushed blob, and two sessions whose chunks are assets. */
  async function writeOldData(db: Kysely<unknown>): Promise<void> {
    await sql`INSERT INTO projects (key, display_name, description, storage_quota_bytes, used_bytes, admin_privileges, created_at, updated_at)
      VALUES ('team', 'team', '', 1000000, 200, '{}', ${NOW}, ${NOW})`.execute(db)
    await sql`INSERT INTO repositories (key, rclass, package_type, config, created_at, updated_at)
      VALUES ('docker-local', 'local', 'docker', ${JSON.stringify({ projectKey: 'team' })}, ${NOW}, ${NOW})`.execute(db)
    for (const path of ['app', 'app/1.0', 'app/_uploads', 'other', 'other/_uploads']) await folder(db, path)
    for (const [sha256, size] of [[HELD, 100], [MANIFEST, 10], ...CHUNKS.map((c, i) => [c, [30, 20, 40][i]!] as const)] as const) {
      await sql`INSERT INTO blobs (sha256, sha1, md5, size, created_at, written_at) VALUES (${sha256}, 's1', 'm5', ${size}, ${NOW}, ${NOW})`.execute(db)
    }
    await asset(db, 'app/1.0/manifest.json', MANIFEST, 10)
    await asset(db, `app/_uploads/sha256__${HELD}`, HELD, 100)
    const sessions = [
      { id: 'session-app', image: 'app', chunks: [[0, 30, CHUNKS[0]!], [30, 20, CHUNKS[1]!]] as const },
      { id: 'session-other', image: 'other', chunks: [[0, 40, CHUNKS[2]!]] as const },
    ]
    for (const session of sessions) {
      const size = session.chunks.reduce((sum, [, s]) => sum + s, 0)
      await sql`INSERT INTO oci_uploads (id, repo_key, image, size, created_by, created_at, updated_at) VALUES (${session.id}, 'docker-local', ${session.image}, ${size}, 'admin', ${NOW}, ${NOW})`.execute(db)
      for (const [offset, chunkSize, sha256] of session.chunks) {
        const path = `${session.image}/_uploads/${session.id}.${offset}`
        await asset(db, path, sha256, chunkSize)
        await sql`INSERT INTO properties (repo_key, path, name, value) VALUES ('docker-local', ${path}, 'note', 'chunk')`.execute(db)
        await sql`INSERT INTO oci_upload_chunks (upload_id, start_offset, size, sha256, path) VALUES (${session.id}, ${offset}, ${chunkSize}, ${sha256}, ${path})`.execute(db)
      }
    }
  }

  it('removes the old sessions\' chunk assets, their bytes from the project\'s usage and emptied uploads folders; keeps the rest', async () => {
    const store = await storeAt013()
    await writeOldData(store.db as unknown as Kysely<unknown>)
    await store.migrate([ociFormat])
    const db = store.db

    const assets = await db.selectFrom('assets').select(['path', 'sha256']).orderBy('path').execute()
    expect(assets).toEqual([
      { path: 'app/1.0/manifest.json', sha256: MANIFEST },
      { path: `app/_uploads/sha256__${HELD}`, sha256: HELD },
    ])
    expect(await db.selectFrom('properties').selectAll().execute()).toEqual([])
    const folders = await db.selectFrom('folders').select('path').orderBy('path').execute()
    expect(folders.map((f) => f.path)).toEqual(['app', 'app/1.0', 'app/_uploads', 'other'])
    const project = await db.selectFrom('projects').select('used_bytes').where('key', '=', 'team').executeTakeFirstOrThrow()
    expect(Number(project.used_bytes)).toBe(110)
    // The chunks' blobs are unreferenced now: garbage collection takes them (their rows stay until then).
    expect((await db.selectFrom('blobs').select('sha256').orderBy('sha256').execute()).map((b) => b.sha256)).toEqual([HELD, MANIFEST, ...CHUNKS])
    // The old tables are gone; the new one is there and empty.
    await expect(sql`SELECT * FROM oci_uploads`.execute(db)).rejects.toThrow()
    await expect(sql`SELECT * FROM oci_upload_chunks`.execute(db)).rejects.toThrow()
    expect(await db.selectFrom('upload_sessions').selectAll().execute()).toEqual([])
  })

  it('migrates an empty database the same way', async () => {
    const store = await storeAt013()
    await store.migrate([ociFormat])
    expect(await store.db.selectFrom('upload_sessions').selectAll().execute()).toEqual([])
  })
})
