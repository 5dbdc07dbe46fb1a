/**
 * The S3 blob store when the store misbehaves, through a real proxy in front of moto: throttling
 * and reset connections are retried, a download cut mid-stream fails the client's response rather
 * than ending it short, and a store that is down at start is reported and recovered from without
 * a restart.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { get as httpGet } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createTrove, type Trove } from '../../src/main.js'
import { createTestBlobstore } from '../helpers/blobstore.js'
import { freePort } from '../helpers/ports.js'
import { S3FaultProxy } from '../helpers/s3-fault-proxy.js'
import { motoOrSkip } from '../helpers/s3.js'
import { ADMIN_PASSWORD, basicAuth, testConfig } from '../helpers/server.js'

const MiB = 1024 * 1024
const ADMIN = basicAuth('admin', ADMIN_PASSWORD)
const moto = await motoOrSkip('the S3 fault tests')
afterAll(() => moto?.stop())

describe.skipIf(!moto)('S3 blob store faults', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  /** A Trove whose blob store is a fresh bucket reached through `proxy`, its log lines kept. */
  async function troveBehind(proxy: S3FaultProxy, blobstore: Record<string, unknown> = {}): Promise<{ trove: Trove; url: string; logs: string[]; dataDir: string }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'trove-s3-faults-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const bucket = await moto!.createBucket()
    const logs: string[] = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString())
        callback()
      },
    })
    const config = testConfig({
      dataDir,
      blobstore: await createTestBlobstore(dataDir),
      settings: {
        log: { level: 'info' },
        blobstore: { url: `s3://${bucket}/trove`, s3: { endpoint: proxy.endpoint, forcePathStyle: true, partSizeBytes: 5 * MiB }, ...blobstore },
      },
    })
    const trove = await createTrove(config, { logger: pino({ level: 'info' }, sink) })
    const url = await trove.listen()
    cleanups.push(() => trove.close())
    const created = await fetch(`${url}/artifactory/api/repositories/generic-local`, {
      method: 'PUT',
      headers: { authorization: ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'generic-local', rclass: 'local', packageType: 'generic' }),
    })
    expect(created.status).toBe(200)
    return { trove, url, logs, dataDir }
  }

  async function startedProxy(): Promise<S3FaultProxy> {
    const proxy = new S3FaultProxy(moto!.endpoint, await freePort())
    await proxy.start()
    cleanups.push(() => proxy.stop())
    return proxy
  }

  async function deploy(url: string, path: string, content: Buffer): Promise<number> {
    const response = await fetch(`${url}/artifactory/generic-local/${path}`, { method: 'PUT', headers: { authorization: ADMIN }, body: content })
    await response.arrayBuffer()
    return response.status
  }

  it('retries throttling (503 SlowDown) and reset connections: uploads and downloads succeed', async () => {
    const proxy = await startedProxy()
    const { url } = await troveBehind(proxy)
    const content = randomBytes(12 * MiB + 3)

    // 1. A multipart upload whose first requests are throttled.
    proxy.slowDown(3)
    expect(await deploy(url, 'throttled.bin', content)).toBe(201)
    expect(proxy.throttled).toBe(3)

    // 2. A download whose first connections are reset before any answer.
    proxy.resetConnections(2)
    const download = await fetch(`${url}/artifactory/generic-local/throttled.bin`, { headers: { authorization: ADMIN } })
    expect(download.status).toBe(200)
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(content))
    expect(proxy.reset).toBe(2)
  })

  it('a download the store cuts mid-stream fails the client’s response, never ends it short', async () => {
    const proxy = await startedProxy()
    const { url } = await troveBehind(proxy)
    const content = randomBytes(4 * MiB)
    expect(await deploy(url, 'cut.bin', content)).toBe(201)

    proxy.cutDownloads(MiB)
    for (const range of [undefined, 'bytes=1000-3999999']) {
      const result = await rawGet(`${url}/artifactory/generic-local/cut.bin`, range)
      // The headers promised the whole file (or range); the connection broke before it came.
      expect(result.status, range).toBe(range ? 206 : 200)
      expect(result.isComplete, range).toBe(false)
      expect(result.received, range).toBeLessThan(range ? 3_999_000 : content.length)
    }
    expect(proxy.cut).toBe(2)

    proxy.cutDownloads(undefined)
    const whole = await rawGet(`${url}/artifactory/generic-local/cut.bin`)
    expect(whole).toMatchObject({ status: 200, isComplete: true, received: content.length, sha256: sha256(content) })
  })

  it('with a read cache (blobstore.cache.dir), a blob read once is served from disk while the store is down', async () => {
    const proxy = await startedProxy()
    const cacheDir = await mkdtemp(join(tmpdir(), 'trove-s3-cache-'))
    cleanups.push(() => rm(cacheDir, { recursive: true, force: true }))
    const { url } = await troveBehind(proxy, { cache: { dir: cacheDir, maxBytes: 64 * MiB } })
    const content = randomBytes(3 * MiB)
    expect(await deploy(url, 'cached.bin', content)).toBe(201)
    expect((await rawGet(`${url}/artifactory/generic-local/cached.bin`)).sha256).toBe(sha256(content))
    expect(proxy.downloads).toBe(1)

    await proxy.stop()
    await sleep(300) // the write-through is committed in the background

    expect(await rawGet(`${url}/artifactory/generic-local/cached.bin`)).toMatchObject({ status: 200, isComplete: true, sha256: sha256(content) })
    expect(await rawGet(`${url}/artifactory/generic-local/cached.bin`, 'bytes=10-19')).toMatchObject({ status: 206, received: 10 })
  })

  it('starts while the store is down: readiness 503 and one clear log line, then recovers without a restart', async () => {
    // The proxy's port is reserved but nothing listens on it yet.
    const proxy = new S3FaultProxy(moto!.endpoint, await freePort())
    cleanups.push(() => proxy.stop())
    const { url, logs } = await troveBehind(proxy)

    const down = await fetch(`${url}/api/v1/system/readiness`)
    expect(down.status).toBe(503)
    const body = (await down.json()) as { checks: { name: string; status: string; error?: string }[] }
    expect(body.checks.find((c) => c.name === 'blobstore')).toMatchObject({ status: 'DOWN', error: expect.any(String) as string })
    await eventually(() => logs.some((line) => /the blob store s3:\/\/trove-[0-9a-f]+\/trove cannot be reached .*readiness reports DOWN/.test(line)))
    expect(logs.filter((line) => line.includes('cannot be reached'))).toHaveLength(1)

    await proxy.start()

    await eventually(async () => (await fetch(`${url}/api/v1/system/readiness`)).status === 200)
    expect(await deploy(url, 'after-recovery.bin', randomBytes(1000))).toBe(201)
    await eventually(() => logs.some((line) => /the blob store s3:\/\/\S+ can be reached again/.test(line)))
  })
})

/** A GET that reports whether the body arrived whole (as many bytes as announced, cleanly ended). */
function rawGet(url: string, range?: string): Promise<{ status: number; received: number; isComplete: boolean; sha256: string }> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { headers: { authorization: ADMIN, ...(range ? { range } : {}) } }, (response) => {
      const hash = createHash('sha256')
      let received = 0
      let isDone = false
      const finish = () => {
        if (isDone) return
        isDone = true
        const announced = Number(response.headers['content-length'])
        resolve({ status: response.statusCode ?? 0, received, isComplete: response.complete && received === announced, sha256: hash.digest('hex') })
      }
      response.on('data', (chunk: Buffer) => {
        received += chunk.length
        hash.update(chunk)
      })
      response.once('end', finish)
      response.once('error', finish)
      response.once('close', finish)
    })
    request.once('error', reject)
    request.setTimeout(30_000, () => request.destroy(new Error('download timed out')))
  })
}

async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(100)
  }
}

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex')
}
