import { createHash } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FilesystemStorageDriver } from '../../storage/filesystem/filesystem-storage-driver.js'
import { TroveError, type ErrorCode } from '../errors.js'
import type { ExpectedChecksums } from '../digest.js'
import { BlobStore, type BlobInfo } from './blob-store.js'

const CONTENT = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(1000))
const OTHER = Buffer.from('some other bytes')

describe('BlobStore over the filesystem driver', () => {
  let root: string
  let store: BlobStore

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'trove-blobs-'))
    store = new BlobStore(new FilesystemStorageDriver(root))
  })

  afterEach(async () => {
    await rm(root, { recursive: true, force: true })
  })

  describe('put', () => {
    it('returns the sha256, sha1, md5 and size node:crypto computes', async () => {
      const info = await store.put(sourceOf(CONTENT, 1000))

      expect(info).toEqual(digestsOf(CONTENT))
    })

    it('stores the blob at blobs/sha256/<first two hex>/<hex>', async () => {
      const info = await store.put(sourceOf(CONTENT))

      const key = `blobs/sha256/${info.sha256.slice(0, 2)}/${info.sha256}`
      expect(store.keyOf(info.sha256)).toBe(key)
      expect(await readFile(join(root, ...key.split('/')))).toEqual(CONTENT)
      expect(await listAll(store)).toEqual([key])
      expect(await store.exists(info.sha256)).toBe(true)
      expect(await uploads(root)).toEqual([])
    })

    it('commits when every expected checksum matches', async () => {
      const expected = digestsOf(CONTENT)

      const info = await store.put(sourceOf(CONTENT, 333), { expected })

      expect(info).toEqual(expected)
      expect(await store.exists(expected.sha256)).toBe(true)
    })

    it('commits when a subset of checksums is expected', async () => {
      const { sha1 } = digestsOf(CONTENT)

      const info = await store.put(sourceOf(CONTENT), { expected: { sha1 } })

      expect(await store.exists(info.sha256)).toBe(true)
    })

    const wrong = digestsOf(OTHER)
    it.each<[string, ExpectedChecksums, ErrorCode]>([
      ['sha256', { sha256: wrong.sha256 }, 'DIGEST_INVALID'],
      ['sha1', { sha1: wrong.sha1 }, 'DIGEST_INVALID'],
      ['md5', { md5: wrong.md5 }, 'DIGEST_INVALID'],
      ['size (too small)', { size: CONTENT.length - 1 }, 'SIZE_INVALID'],
      ['size (too large)', { size: CONTENT.length + 1 }, 'SIZE_INVALID'],
      // The other checksums match: one mismatch is enough.
      ['sha1 among matching ones', { ...digestsOf(CONTENT), sha1: wrong.sha1 }, 'DIGEST_INVALID'],
    ])('refuses a mismatched %s and stores nothing', async (_label, expected, code) => {
      const error = await store.put(sourceOf(CONTENT, 500), { expected }).catch((err: unknown) => err)

      expectTroveError(error, code)
      expect(await store.exists(digestsOf(CONTENT).sha256)).toBe(false)
      expect(await uploads(root)).toEqual([])
      expect(await listAll(store)).toEqual([])
    })

    it.each<[string, ExpectedChecksums, ErrorCode]>([
      ['sha256 that is not hex', { sha256: 'z'.repeat(64) }, 'DIGEST_INVALID'],
      ['sha256 of the wrong length', { sha256: 'ab'.repeat(31) }, 'DIGEST_INVALID'],
      ['sha256 in upper case', { sha256: digestsOf(CONTENT).sha256.toUpperCase() }, 'DIGEST_INVALID'],
      ['sha1 that is not hex', { sha1: 'g'.repeat(40) }, 'DIGEST_INVALID'],
      ['md5 that is not hex', { md5: 'md5:' + 'a'.repeat(28) }, 'DIGEST_INVALID'],
      ['negative size', { size: -1 }, 'SIZE_INVALID'],
      ['fractional size', { size: 1.5 }, 'SIZE_INVALID'],
    ])('refuses a malformed expected %s before reading or writing anything', async (_label, expected, code) => {
      let started = false
      const source = Readable.from(
        (function* () {
          started = true
          yield CONTENT
        })(),
      )

      const error = await store.put(source, { expected }).catch((err: unknown) => err)

      expectTroveError(error, code)
      expect(started).toBe(false)
      // Not even a temporary upload was created.
      expect(await readdir(root)).toEqual([])
      source.destroy()
    })

    it('accepts a body of exactly maxBytes', async () => {
      const info = await store.put(sourceOf(CONTENT, 4096), { maxBytes: CONTENT.length })

      expect(info.size).toBe(CONTENT.length)
      expect(await store.exists(info.sha256)).toBe(true)
    })

    it('refuses a body over maxBytes with PAYLOAD_TOO_LARGE and stores nothing', async () => {
      const error = await store.put(sourceOf(CONTENT, 4096), { maxBytes: CONTENT.length - 1 }).catch((err: unknown) => err)

      expectTroveError(error, 'PAYLOAD_TOO_LARGE')
      expect(await store.exists(digestsOf(CONTENT).sha256)).toBe(false)
      expect(await uploads(root)).toEqual([])
      expect(await listAll(store)).toEqual([])
    })

    it('rejects with the source error when the source fails midway, and removes the upload', async () => {
      async function* failing(): AsyncGenerator<Buffer> {
        yield CONTENT.subarray(0, 10_000)
        yield CONTENT.subarray(10_000, 20_000)
        throw new Error('connection reset by peer')
      }

      await expect(store.put(Readable.from(failing()))).rejects.toThrow('connection reset by peer')

      expect(await uploads(root)).toEqual([])
      expect(await listAll(store)).toEqual([])
    })

    it('rejects when the signal aborts mid-stream, and stores nothing', async () => {
      const controller = new AbortController()
      let chunksProduced = 0
      // Would produce 10 000 chunks; the signal fires after the third.
      function* endless(): Generator<Buffer> {
        for (chunksProduced = 0; chunksProduced < 10_000; ) {
          chunksProduced++
          if (chunksProduced === 3) controller.abort()
          yield Buffer.alloc(16 * 1024, chunksProduced % 256)
        }
      }

      const error = await store.put(Readable.from(endless()), { signal: controller.signal }).catch((err: unknown) => err)

      expect(error).toBeInstanceOf(Error)
      expect((error as Error).name).toBe('AbortError')
      expect(chunksProduced).toBeLessThan(10_000)
      expect(await uploads(root)).toEqual([])
      expect(await listAll(store)).toEqual([])
    })

    it('rejects at once when the signal has already aborted, and stores nothing', async () => {
      const controller = new AbortController()
      controller.abort()

      await expect(store.put(sourceOf(CONTENT), { signal: controller.signal })).rejects.toThrow()

      expect(await uploads(root)).toEqual([])
      expect(await listAll(store)).toEqual([])
    })

    it('stores the same bytes once however often they are put', async () => {
      const first = await store.put(sourceOf(CONTENT, 100))
      const second = await store.put(sourceOf(CONTENT, 7777))
      const third = await store.put(sourceOf(CONTENT), { expected: digestsOf(CONTENT) })

      expect(second).toEqual(first)
      expect(third).toEqual(first)
      expect(await listAll(store)).toEqual([store.keyOf(first.sha256)])
      expect(await readdir(join(root, 'blobs', 'sha256', first.sha256.slice(0, 2)))).toEqual([first.sha256])
      expect(await uploads(root)).toEqual([])
    })

    it('stores an empty blob', async () => {
      const info = await store.put(Readable.from([]))

      expect(info).toEqual(digestsOf(Buffer.alloc(0)))
      expect(await readAll(await store.open(info.sha256))).toEqual(Buffer.alloc(0))
    })
  })

  describe('open', () => {
    it('reads a whole blob and inclusive byte ranges of it', async () => {
      const { sha256 } = await store.put(sourceOf(CONTENT))

      expect(await readAll(await store.open(sha256))).toEqual(CONTENT)
      expect(await readAll(await store.open(sha256, { start: 0, end: 0 }))).toEqual(CONTENT.subarray(0, 1))
      expect(await readAll(await store.open(sha256, { start: 4, end: 8 }))).toEqual(Buffer.from('quick'))
      const last = CONTENT.length - 1
      expect(await readAll(await store.open(sha256, { start: last, end: last }))).toEqual(Buffer.from('\n'))
    })

    it('throws BLOB_UNKNOWN for a digest that is not stored', async () => {
      const unknown = digestsOf(OTHER).sha256

      expectTroveError(await store.open(unknown).catch((err: unknown) => err), 'BLOB_UNKNOWN')
      expectTroveError(await store.open(unknown, { start: 0, end: 1 }).catch((err: unknown) => err), 'BLOB_UNKNOWN')
      expect(await store.exists(unknown)).toBe(false)
    })

    it('throws DIGEST_INVALID for something that is not a sha256', async () => {
      expectTroveError(await store.open('../../etc/passwd').catch((err: unknown) => err), 'DIGEST_INVALID')
    })
  })

  it('delete removes a blob, and open then reports it unknown', async () => {
    const { sha256 } = await store.put(sourceOf(CONTENT))

    await store.delete(sha256)

    expect(await store.exists(sha256)).toBe(false)
    expectTroveError(await store.open(sha256).catch((err: unknown) => err), 'BLOB_UNKNOWN')
    expect(await listAll(store)).toEqual([])
  })
})

function sourceOf(content: Buffer, chunkSize = content.length): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < content.length; offset += chunkSize) yield content.subarray(offset, offset + chunkSize)
    })(),
  )
}

function digestsOf(content: Buffer): BlobInfo {
  return {
    sha256: createHash('sha256').update(content).digest('hex'),
    sha1: createHash('sha1').update(content).digest('hex'),
    md5: createHash('md5').update(content).digest('hex'),
    size: content.length,
  }
}

function expectTroveError(error: unknown, code: ErrorCode): void {
  expect(error).toBeInstanceOf(TroveError)
  expect((error as TroveError).code).toBe(code)
}

/** The driver's temporary uploads folder; missing counts as empty. */
async function uploads(root: string): Promise<string[]> {
  return readdir(join(root, '_uploads')).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
}

async function listAll(store: BlobStore): Promise<string[]> {
  const keys: string[] = []
  for await (const key of store.driver.list('')) keys.push(key)
  return keys.sort()
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
