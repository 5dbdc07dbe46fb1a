/**
 * The core's resumable uploads on each metadata engine (SQLite, PostgreSQL) and each blob store
 * (filesystem, S3 on moto): chunks through two service instances (two nodes), the digest checked
 * from the kept hash state, nothing re-read, quota while open, claims, expiry and the sweep.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import { TEST_CREDENTIALS, motoOrSkip } from '../../../test/helpers/s3.js'
import { S3StorageDriver } from '../../storage/s3/s3-storage-driver.js'
import type { StorageDriver } from '../../storage/storage-driver.js'
import { ArtifactService } from '../artifacts/artifact-service.js'
import { StorageQuota } from '../auth/quota.js'
import { BlobStore, blobKey } from '../blobs/blob-store.js'
import { TemporarySweeper } from '../blobs/temporary-sweeper.js'
import type { Repository } from '../repositories/repository-service.js'
import { InstanceRegistry } from '../system/instances.js'
import { UploadService, temporaryId, type UploadSession } from './upload-service.js'

const MiB = 1024 * 1024
const logger = pino({ level: 'silent' })
const backends = await metadataBackends()
const moto = await motoOrSkip('the upload service on S3')
afterAll(() => moto?.stop())
const stores = moto ? (['filesystem', 's3'] as const) : (['filesystem'] as const)
const cases = backends.flatMap((backend) => stores.map((store) => [backend, store] as const))

describe.each(cases)('UploadService on %s with a %s blob store', (backend, store) => {
  let core: CoreFixture
  let driver: StorageDriver
  let blobs: BlobStore
  let quota: StorageQuota
  let artifacts: ArtifactService
  let nodes: InstanceRegistry[]
  let repository: Repository
  let cleanupStore: () => Promise<void>

  beforeEach(async () => {
    core = await createCoreFixture(backend)
    if (store === 's3') {
      const bucket = await moto!.createBucket()
      const s3 = new S3StorageDriver({ bucket, prefix: 'trove', endpoint: moto!.endpoint, forcePathStyle: true, credentials: TEST_CREDENTIALS, partSizeBytes: 5 * MiB, maxConcurrentParts: 2 })
      driver = s3
      cleanupStore = async () => (await s3.close(), await moto!.deleteBucket(bucket))
    } else {
      driver = core.blobs.driver
      cleanupStore = async () => {}
    }
    blobs = new BlobStore(driver, { records: core.records })
    quota = new StorageQuota(core.metadata.db)
    artifacts = new ArtifactService(core.metadata.db, blobs, quota)
    nodes = [new InstanceRegistry(core.metadata.db, logger), new InstanceRegistry(core.metadata.db, logger)]
    for (const node of nodes) await node.start()
    await core.metadata.db
      .insertInto('projects')
      .values({ key: 'team', display_name: 'team', description: '', storage_quota_bytes: 20 * MiB, used_bytes: 0, admin_privileges: '{}', created_at: 0, updated_at: 0 })
      .execute()
    repository = await core.repositories.create('files', { rclass: 'local', packageType: 'generic', projectKey: 'team' })
  })
  afterEach(async () => {
    for (const node of nodes) await node.stop().catch(() => {})
    await cleanupStore()
    await core.cleanup()
  })

  /** The service as node `n` runs it. */
  function service(n: number): UploadService {
    const node = nodes[n]!
    return new UploadService({
      db: core.metadata.db,
      blobs,
      quota,
      instanceId: node.id,
      liveness: () => node.liveness(),
      repository: (key) => core.repositories.get(key),
    })
  }

  /** Another node, on another host, alive (a fresh heartbeat) until {@link otherNodeDies}. */
  const OTHER_NODE = '0123456789abcdef'
  async function otherNodeIsAlive(): Promise<void> {
    const now = Date.now()
    await core.metadata.db
      .insertInto('instances')
      .values({ id: OTHER_NODE, hostname: 'another-node', host_identity: 'another-boot/pid:[1]', pid: 1, started_at: now, heartbeat_at: now })
      .execute()
  }
  async function otherNodeDies(): Promise<void> {
    await core.metadata.db.deleteFrom('instances').where('id', '=', OTHER_NODE).execute()
  }

  async function used(): Promise<number> {
    const row = await core.metadata.db.selectFrom('projects').select('used_bytes').where('key', '=', 'team').executeTakeFirstOrThrow()
    return Number(row.used_bytes)
  }

  async function temporaries(): Promise<string[]> {
    const ids: string[] = []
    for await (const temporary of driver.listTemporary()) ids.push(temporary.id)
    return ids.sort()
  }

  async function readBlob(sha256: string): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const chunk of await driver.read(blobKey(sha256))) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }

  const body = (bytes: Buffer) => Readable.from([bytes])
  const digest = (algorithm: string, bytes: Buffer) => createHash(algorithm).update(bytes).digest('hex')

  it('takes chunks on two nodes, completes on the second from the kept hash state, and records the blob once', async () => {
    const parts = [randomBytes(1000), randomBytes(6 * MiB), randomBytes(2 * MiB), randomBytes(10)]
    const whole = Buffer.concat(parts)
    let session: UploadSession = await service(0).start(repository, 'app', 'alice')
    for (const [i, part] of parts.slice(0, 3).entries()) {
      session = await service(i % 2).append(repository, session, body(part), { start: session.size, size: part.length })
    }
    expect(session.size).toBe(parts[0]!.length + parts[1]!.length + parts[2]!.length)
    // The open session's bytes count against the project's quota; they are no asset, no blob.
    expect(await used()).toBe(session.size)
    expect(await temporaries()).toEqual([temporaryId(session.id)])
    expect(await core.metadata.db.selectFrom('assets').selectAll().execute()).toEqual([])

    await nodes[0]!.stop() // the first node is gone before the completion
    const recorded: string[] = []
    const blob = await service(1).complete(repository, session, digest('sha256', whole), body(parts[3]!), { start: session.size }, async (b) => {
      recorded.push(b.sha256)
      await artifacts.applyChanges(repository, { put: [{ path: 'app/blob', blob: b, contentType: 'application/octet-stream' }], finishUploads: [session.id] }, 'alice')
    })

    expect(blob).toEqual({ sha256: digest('sha256', whole), sha1: digest('sha1', whole), md5: digest('md5', whole), size: whole.length })
    expect(recorded).toEqual([blob.sha256])
    expect((await readBlob(blob.sha256)).equals(whole)).toBe(true)
    expect(await service(1).get(session.id)).toBeUndefined()
    expect(await temporaries()).toEqual([])
    // Counted once: the session's bytes became the asset's.
    expect(await used()).toBe(whole.length)
    const row = await core.metadata.db.selectFrom('blobs').selectAll().where('sha256', '=', blob.sha256).executeTakeFirstOrThrow()
    expect([row.sha1, row.md5, Number(row.size)]).toEqual([blob.sha1, blob.md5, whole.length])
  }, 120_000)

  it('refuses chunks out of order, of the wrong size, and while another live node appends; takes over a dead node\'s claim', async () => {
    const uploads = service(0)
    let session = await uploads.start(repository, 'app', 'alice')
    session = await uploads.append(repository, session, body(randomBytes(100)))
    await expect(uploads.append(repository, session, body(randomBytes(10)), { start: 0 })).rejects.toMatchObject({ code: 'RANGE_NOT_SATISFIABLE', details: { size: 100 } })
    await expect(uploads.append(repository, session, body(randomBytes(10)), { start: 100, size: 20 })).rejects.toMatchObject({ code: 'SIZE_INVALID' })
    expect((await uploads.get(session.id))?.size).toBe(100)
    expect(await used()).toBe(100)

    // A claim of a live node elsewhere: this chunk is out of order.
    await otherNodeIsAlive()
    await core.metadata.db.updateTable('upload_sessions').set({ writer: `${OTHER_NODE}.claim` }).where('id', '=', session.id).execute()
    await expect(uploads.append(repository, session, body(randomBytes(10)))).rejects.toMatchObject({ code: 'RANGE_NOT_SATISFIABLE' })
    // That node dies mid-chunk: its claim is void, the chunk is taken.
    await otherNodeDies()
    const more = randomBytes(50)
    session = await uploads.append(repository, session, body(more), { start: 100 })
    expect(session.size).toBe(150)
  })

  it('answers DIGEST_INVALID without storing anything and keeps the session resumable', async () => {
    const uploads = service(0)
    const first = randomBytes(5000)
    const last = randomBytes(300)
    let session = await uploads.start(repository, 'app', 'alice')
    session = await uploads.append(repository, session, body(first))
    const record = async () => {
      throw new Error('must not be called')
    }
    await expect(uploads.complete(repository, session, digest('sha256', Buffer.from('other')), body(last), {}, record)).rejects.toMatchObject({ code: 'DIGEST_INVALID' })
    expect((await uploads.get(session.id))?.size).toBe(first.length)
    expect(await core.metadata.db.selectFrom('blobs').selectAll().execute()).toEqual([])

    const whole = Buffer.concat([first, last])
    const blob = await uploads.complete(repository, session, digest('sha256', whole), body(last), {}, async () => {})
    expect((await readBlob(blob.sha256)).equals(whole)).toBe(true)
    // Without finishUploads the service ends the session itself, and its bytes stop counting.
    expect(await uploads.get(session.id)).toBeUndefined()
    expect(await used()).toBe(0)
  })

  it('refuses a chunk over the project quota at once when its length is declared, else before keeping it', async () => {
    const uploads = service(0)
    let session = await uploads.start(repository, 'app', 'alice')
    session = await uploads.append(repository, session, body(randomBytes(15 * MiB)))
    expect(await used()).toBe(15 * MiB)
    const never = new Readable({ read() {} }) // no byte is read from a refused request
    await expect(uploads.append(repository, session, never, { declaredSize: 6 * MiB })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' })
    await expect(uploads.append(repository, session, body(randomBytes(6 * MiB)))).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' })
    expect((await uploads.get(session.id))?.size).toBe(15 * MiB)
    expect(await used()).toBe(15 * MiB)

    await uploads.cancel(repository, session)
    expect(await used()).toBe(0)
    expect(await temporaries()).toEqual([])
  }, 120_000)

  it('a streamed chunk (no range) completes from the checksums kept, and a chunk after it all the same', async () => {
    const uploads = service(0)
    const whole = randomBytes(3 * MiB + 7)
    let streamed = await uploads.append(repository, await uploads.start(repository, 'one', 'alice'), body(whole))
    const expected = { sha256: digest('sha256', whole), sha1: digest('sha1', whole), md5: digest('md5', whole), size: whole.length }
    expect(await uploads.complete(repository, streamed, expected.sha256, undefined, {}, async () => {})).toEqual(expected)
    expect((await readBlob(expected.sha256)).equals(whole)).toBe(true)

    // A client that streams a first chunk and then sends more, on another node.
    const [first, second, last] = [randomBytes(2 * MiB), randomBytes(6 * MiB), randomBytes(100)]
    const joined = Buffer.concat([first, second, last])
    streamed = await uploads.append(repository, await uploads.start(repository, 'two', 'alice'), body(first))
    streamed = await service(1).append(repository, streamed, body(second), { start: first.length, size: second.length })
    await expect(service(1).complete(repository, streamed, digest('sha256', whole), body(last), {}, async () => {})).rejects.toMatchObject({ code: 'DIGEST_INVALID' })
    const blob = await service(0).complete(repository, streamed, digest('sha256', joined), body(last), {}, async () => {})
    expect(blob).toEqual({ sha256: digest('sha256', joined), sha1: digest('sha1', joined), md5: digest('md5', joined), size: joined.length })
    expect((await readBlob(blob.sha256)).equals(joined)).toBe(true)
  }, 120_000)

  it('a whole blob in the completing request is stored once and verified; a wrong digest or size stores nothing and keeps the session', async () => {
    const uploads = service(0)
    const whole = randomBytes(7 * MiB + 3)
    const session = await uploads.start(repository, 'whole', 'alice')
    const wrong = digest('sha256', Buffer.from('other'))
    await expect(uploads.complete(repository, session, wrong, body(whole), {}, async () => {})).rejects.toMatchObject({ code: 'DIGEST_INVALID', details: { expected: wrong } })
    const right = digest('sha256', whole)
    await expect(uploads.complete(repository, session, right, body(whole), { start: 0, size: whole.length + 1 }, async () => {})).rejects.toMatchObject({ code: 'SIZE_INVALID' })
    expect(await blobs.exists(wrong)).toBe(false)
    expect(await blobs.exists(right)).toBe(false)
    expect(await uploads.get(session.id)).toMatchObject({ size: 0 })
    expect(await temporaries()).toEqual([])

    const blob = await uploads.complete(repository, session, right, body(whole), { start: 0, size: whole.length }, async () => {})
    expect(blob).toEqual({ sha256: right, sha1: digest('sha1', whole), md5: digest('md5', whole), size: whole.length })
    expect((await readBlob(right)).equals(whole)).toBe(true)
    expect(await uploads.get(session.id)).toBeUndefined()
  }, 120_000)

  it('expires abandoned sessions but not one a live node is appending to; the temporary sweep keeps open sessions\' data only', async () => {
    const uploads = service(0)
    const abandoned = await uploads.append(repository, await uploads.start(repository, 'a', 'alice'), body(randomBytes(100)))
    const busy = await uploads.append(repository, await uploads.start(repository, 'b', 'alice'), body(randomBytes(100)))
    const fresh = await uploads.append(repository, await uploads.start(repository, 'c', 'alice'), body(randomBytes(100)))
    const old = Date.now() - 3_600_000
    await core.metadata.db.updateTable('upload_sessions').set({ updated_at: old }).where('id', 'in', [abandoned.id, busy.id]).execute()
    await otherNodeIsAlive()
    await core.metadata.db.updateTable('upload_sessions').set({ writer: `${OTHER_NODE}.claim` }).where('id', '=', busy.id).execute()

    expect(await uploads.sweep(60_000)).toEqual({ sessions: 1 })
    expect(await uploads.get(abandoned.id)).toBeUndefined()
    expect(await uploads.get(busy.id)).toBeDefined()
    expect(await used()).toBe(200)

    // Data of a session that is gone (say its row went with its repository) is reclaimed; open ones stay.
    const orphan = await uploads.start(repository, 'd', 'alice')
    await uploads.append(repository, orphan, body(randomBytes(10)))
    await core.metadata.db.deleteFrom('upload_sessions').where('id', '=', orphan.id).execute()
    const sweeper = new TemporarySweeper(driver, nodes[0]!, () => false, logger, uploads)
    expect(await sweeper.sweep()).toEqual({ removed: 1, kept: 2 })
    expect(await temporaries()).toEqual([temporaryId(busy.id), temporaryId(fresh.id)].sort())
  })
})
