/**
 * One chunked container blob upload across two Trove instances that share one PostgreSQL and one
 * S3 bucket (moto), as a cluster behind a load balancer: the POST on the first, PATCHes on both,
 * the first instance shut down, the closing PUT on the second. The second takes each chunk from
 * the session's state in the shared stores (hash state, multipart upload), never re-reading one.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTrove, type Trove } from '../../src/main.js'
import { S3StorageDriver } from '../../src/storage/s3/s3-storage-driver.js'
import { requireClients } from '../helpers/clients.js'
import { sha256 } from '../helpers/oci-images.js'
import { POSTGRES, createTestDatabase, type TestDatabase } from '../helpers/postgres.js'
import { TEST_CREDENTIALS, motoOrSkip, type MotoServer } from '../helpers/s3.js'
import { ADMIN_PASSWORD, basicAuth, testConfig } from '../helpers/server.js'

const MiB = 1024 * 1024
const hasPostgres = await requireClients('the two-instance upload suite', [POSTGRES])
const moto: MotoServer | undefined = hasPostgres ? await motoOrSkip('the two-instance upload suite') : undefined
const auth = basicAuth('admin', ADMIN_PASSWORD)

describe.skipIf(!moto)('a chunked upload across two instances sharing PostgreSQL and S3', () => {
  let database: TestDatabase
  let bucket: string
  let driver: S3StorageDriver
  const dirs: string[] = []
  const nodes: { trove: Trove; url: string }[] = []

  async function startNode(): Promise<{ trove: Trove; url: string }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'trove-cluster-'))
    dirs.push(dataDir)
    const blobstore = { url: `s3://${bucket}/trove`, s3: { endpoint: moto!.endpoint, forcePathStyle: true, partSizeBytes: 5 * MiB } }
    const config = testConfig({ dataDir, databaseUrl: database.url, blobstore: { settings: { blobstore }, env: {}, driver, close: async () => {} } })
    const trove = await createTrove(config, { logger: pino({ level: config.log.level }) })
    return { trove, url: await trove.listen() }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    bucket = await moto!.createBucket()
    driver = new S3StorageDriver({ bucket, prefix: 'trove', endpoint: moto!.endpoint, forcePathStyle: true, credentials: TEST_CREDENTIALS, partSizeBytes: 5 * MiB, maxConcurrentParts: 2 })
    nodes.push(await startNode())
    nodes.push(await startNode())
    const res = await call(nodes[0]!.url, 'PUT', '/artifactory/api/repositories/docker-local', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rclass: 'local', packageType: 'docker' }),
    })
    expect(res.status, await res.clone().text()).toBe(200)
  })
  afterAll(async () => {
    for (const node of nodes) await node.trove.close().catch(() => {})
    await driver?.close()
    if (bucket) await moto?.deleteBucket(bucket)
    await database?.drop()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
    await moto?.stop()
  })

  async function call(url: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Response> {
    return fetch(`${url}${path}`, { method, headers: { authorization: auth, ...init.headers }, body: init.body, redirect: 'manual' })
  }

  it('takes the POST on one, PATCHes on both, and the PUT on the other after the first is gone', async () => {
    const [first, second] = nodes as [{ trove: Trove; url: string }, { trove: Trove; url: string }]
    const chunks = [randomBytes(6 * MiB), randomBytes(MiB), randomBytes(3 * MiB), randomBytes(2 * MiB + 7)]
    const whole = Buffer.concat(chunks)
    const started = await call(first.url, 'POST', '/v2/docker-local/app/blobs/uploads/')
    expect(started.status).toBe(202)
    const location = started.headers.get('location')!
    const uuid = started.headers.get('docker-upload-uuid')!

    let offset = 0
    for (const [i, chunk] of chunks.slice(0, 3).entries()) {
      const node = i === 1 ? second : first
      const res = await call(node.url, 'PATCH', location, {
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` },
        body: chunk,
      })
      expect(res.status, await res.clone().text()).toBe(202)
      offset += chunk.length
      expect(res.headers.get('range')).toBe(`0-${offset - 1}`)
      expect(res.headers.get('docker-upload-uuid')).toBe(uuid)
    }
    // A chunk sent again, to the other node, is out of order there too.
    const repeated = await call(second.url, 'PATCH', location, { headers: { 'content-range': `0-${chunks[0]!.length - 1}` }, body: chunks[0] })
    expect(repeated.status).toBe(416)
    expect(repeated.headers.get('range')).toBe(`0-${offset - 1}`)

    await first.trove.close()
    const status = await call(second.url, 'GET', location)
    expect(status.status).toBe(204)
    expect(status.headers.get('range')).toBe(`0-${offset - 1}`)
    const done = await call(second.url, 'PUT', `${location}?digest=sha256:${sha256(whole)}`, {
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${whole.length - 1}` },
      body: chunks[3],
    })
    expect(done.status, await done.clone().text()).toBe(201)
    expect(done.headers.get('docker-content-digest')).toBe(`sha256:${sha256(whole)}`)

    const got = await call(second.url, 'GET', `/v2/docker-local/app/blobs/sha256:${sha256(whole)}`)
    expect(got.status).toBe(200)
    expect(Buffer.from(await got.arrayBuffer()).equals(whole)).toBe(true)
    // The session is over, and its temporary data (multipart upload, pieces) is gone from the bucket.
    expect((await call(second.url, 'GET', location)).status).toBe(404)
    const left: string[] = []
    for await (const temporary of driver.listTemporary()) left.push(temporary.id)
    expect(left.filter((id) => id.startsWith('upload-'))).toEqual([])
  }, 180_000)
})
