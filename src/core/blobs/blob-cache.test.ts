import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, open, readFile, readdir, rm, stat, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { freePort } from '../../../test/helpers/ports.js'
import { S3FaultProxy } from '../../../test/helpers/s3-fault-proxy.js'
import { TEST_CREDENTIALS, motoOrSkip } from '../../../test/helpers/s3.js'
import { S3StorageDriver } from '../../storage/s3/s3-storage-driver.js'
import { BlobReadCache } from './blob-cache.js'
import { BlobStore } from './blob-store.js'

const KiB = 1024
const moto = await motoOrSkip('the blob read cache tests')
afterAll(() => moto?.stop())
const logger = pino({ level: 'silent' })

describe.skipIf(!moto)('the local read cache in front of S3', () => {
  let proxy: S3FaultProxy
  let bucket: string
  let driver: S3StorageDriver
  let dir: string
  let blobs: BlobStore

  beforeEach(async () => {
    proxy = new S3FaultProxy(moto!.endpoint, await freePort())
    await proxy.start()
    bucket = await moto!.createBucket()
    driver = new S3StorageDriver({
      bucket,
      prefix: '',
      endpoint: proxy.endpoint,
      forcePathStyle: true,
      credentials: TEST_CREDENTIALS,
      partSizeBytes: 5 * 1024 * KiB,
      maxConcurrentParts: 2,
    })
    dir = await mkdtemp(join(tmpdir(), 'trove-cache-'))
    blobs = await storeWithCache(600 * KiB)
  })
  afterEach(async () => {
    await driver.close()
    await proxy.stop()
    await moto!.deleteBucket(bucket)
    await rm(dir, { recursive: true, force: true })
  })

  /** A blob store on the bucket with a cache in `dir` (a new process, as far as the cache knows). */
  async function storeWithCache(maxBytes: number): Promise<BlobStore> {
    const cache = new BlobReadCache(join(dir, 'cache'), maxBytes, logger)
    await cache.load()
    return new BlobStore(driver, { cache })
  }

  const cacheFile = (sha256: string) => join(dir, 'cache', 'blobs', 'sha256', sha256.slice(0, 2), sha256)

  async function put(size: number): Promise<{ sha256: string; content: Buffer }> {
    const content = randomBytes(size)
    await blobs.put(Readable.from([content]))
    return { sha256: sha256Of(content), content }
  }

  /** Reads a blob through the sender (as downloads do) and waits until its write-through is settled. */
  async function send(store: BlobStore, sha256: string, range?: { start: number; end: number }): Promise<Buffer> {
    const chunks: Buffer[] = []
    const sink = new PassThrough()
    sink.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)))
    await (await store.openSender(sha256, range))(sink)
    await sleep(200) // the cache commits in the background
    return Buffer.concat(chunks)
  }

  it('writes a whole read through, then serves the blob from disk without asking the store', async () => {
    const blob = await put(200 * KiB)

    expect((await send(blobs, blob.sha256)).equals(blob.content)).toBe(true)
    expect(proxy.downloads).toBe(1)
    expect(sha256Of(await readFile(cacheFile(blob.sha256)))).toBe(blob.sha256)

    expect((await send(blobs, blob.sha256)).equals(blob.content)).toBe(true)
    expect((await send(blobs, blob.sha256, { start: 100, end: 1099 })).equals(blob.content.subarray(100, 1100))).toBe(true)
    expect(sha256Of(await readAll(await blobs.open(blob.sha256)))).toBe(blob.sha256)
    expect(proxy.downloads).toBe(1)
  })

  it('a ranged read that misses goes to the store and caches nothing', async () => {
    const blob = await put(100 * KiB)

    expect((await send(blobs, blob.sha256, { start: 10, end: 19 })).equals(blob.content.subarray(10, 20))).toBe(true)

    expect(proxy.downloads).toBe(1)
    expect(await stat(cacheFile(blob.sha256)).catch(() => undefined)).toBeUndefined()
  })

  it('a corrupt cache file is fetched again, never served; so is a missing one, and the folder may go at any time', async () => {
    const blob = await put(150 * KiB)
    await send(blobs, blob.sha256)

    // 1. One byte flipped in place, the file's times put back: the change time still tells.
    const before = await stat(cacheFile(blob.sha256))
    const handle = await open(cacheFile(blob.sha256), 'r+')
    await handle.write(Buffer.from([blob.content[5000]! ^ 0xff]), 0, 1, 5000)
    await handle.close()
    await utimes(cacheFile(blob.sha256), before.atime, before.mtime)
    expect((await send(blobs, blob.sha256)).equals(blob.content)).toBe(true)
    expect(proxy.downloads).toBe(2)
    expect(sha256Of(await readFile(cacheFile(blob.sha256)))).toBe(blob.sha256)

    // 2. The whole folder deleted under a running cache.
    await rm(join(dir, 'cache'), { recursive: true, force: true })
    expect((await send(blobs, blob.sha256)).equals(blob.content)).toBe(true)
    expect(proxy.downloads).toBe(3)
    expect(sha256Of(await readFile(cacheFile(blob.sha256)))).toBe(blob.sha256)
  })

  it('after a restart, hashes each cached file before its first use', async () => {
    const blob = await put(120 * KiB)
    await send(blobs, blob.sha256)
    // Corrupted while Trove was down (the restarted cache has checked nothing yet).
    const handle = await open(cacheFile(blob.sha256), 'r+')
    await handle.write(Buffer.from('garbage'), 0, 7, 0)
    await handle.close()

    const restarted = await storeWithCache(600 * KiB)

    expect((await send(restarted, blob.sha256)).equals(blob.content)).toBe(true)
    expect(proxy.downloads).toBe(2)
  })

  it('evicts the least recently used blobs past maxBytes', async () => {
    // 600 KiB hold three blobs of 180 KiB.
    const [a, b, c, d] = [await put(180 * KiB), await put(180 * KiB), await put(180 * KiB), await put(180 * KiB)]
    for (const blob of [a, b, c]) await send(blobs, blob.sha256)
    await send(blobs, a.sha256) // a is used again: b is now the least recently used

    await send(blobs, d.sha256)

    expect(await cachedDigests()).toEqual([a.sha256, c.sha256, d.sha256].sort())
    expect(proxy.downloads).toBe(4)
  })

  it('a read its reader abandons leaves nothing in the cache', async () => {
    const blob = await put(3 * 1024 * KiB)
    const stream = await blobs.open(blob.sha256)
    for await (const _chunk of stream) break // the reader goes away after the first chunk
    await sleep(300)

    expect(await cachedDigests()).toEqual([])
    expect(await readdir(join(dir, 'cache', '_uploads')).catch(() => [])).toEqual([])
  })

  async function cachedDigests(): Promise<string[]> {
    const root = join(dir, 'cache', 'blobs', 'sha256')
    const digests: string[] = []
    for (const prefix of await readdir(root).catch(() => [] as string[])) digests.push(...(await readdir(join(root, prefix))))
    return digests.sort()
  }
})

function sha256Of(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex')
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
