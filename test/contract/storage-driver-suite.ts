import { createHash } from 'node:crypto'
import { PassThrough, Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PathNotFoundError, type StorageDriver, type StorageWriter, type TemporaryObject } from '../../src/storage/storage-driver.js'

export interface StorageDriverFixture {
  readonly driver: StorageDriver
  cleanup(): Promise<void>
}

export interface StorageDriverSuiteOptions {
  /** Contract tests this driver cannot pass, each with the reason why (an empty reason is refused). */
  readonly skip?: readonly { readonly test: string; readonly reason: string }[]
}

const MiB = 1024 * 1024
/**
 * Enough bytes for any driver to have started storing a writer's data: object stores buffer a
 * part first, and the S3 driver's tests use 5 MiB parts (S3's smallest).
 */
const PART_WORTH = 6 * MiB

/**
 * The contract every {@link StorageDriver} must meet. Each backend's test file calls this once with a
 * factory that returns a fresh, empty store; every test gets its own store and cleans it up.
 */
export function describeStorageDriver(
  name: string,
  create: () => Promise<StorageDriverFixture>,
  options: StorageDriverSuiteOptions = {},
): void {
  const skips = new Map<string, string>()
  for (const { test, reason } of options.skip ?? []) {
    if (reason.trim() === '') throw new Error(`describeStorageDriver(${name}): skipping "${test}" needs a reason`)
    skips.set(test, reason)
  }

  describe(`StorageDriver contract: ${name}`, () => {
    let driver!: StorageDriver
    let cleanup: (() => Promise<void>) | undefined

    beforeEach(async () => {
      const fixture = await create()
      driver = fixture.driver
      cleanup = () => fixture.cleanup()
    })

    afterEach(async () => {
      await cleanup?.()
      cleanup = undefined
    })

    const titles = new Set<string>()
    function contract(title: string, fn: () => Promise<void>, timeoutMs?: number): void {
      if (titles.has(title)) throw new Error(`duplicate contract test title: ${title}`)
      titles.add(title)
      const reason = skips.get(title)
      if (reason !== undefined) it.skip(`${title} (skipped: ${reason})`, fn)
      else it(title, fn, timeoutMs)
    }

    contract('writes, commits and reads back a small object byte for byte', async () => {
      const content = Buffer.from('hello, trove\n\u0000\u00ff binary too', 'latin1')

      await writeObject(driver, 'objects/hello.txt', [content])

      expect(await readAll(await driver.read('objects/hello.txt'))).toEqual(content)
      expect(await leftoverTemporaries(driver)).toBe(0)
    })

    contract('stores an empty object', async () => {
      await writeObject(driver, 'objects/empty', [])

      expect((await driver.stat('objects/empty'))?.size).toBe(0)
      expect(await readAll(await driver.read('objects/empty'))).toEqual(Buffer.alloc(0))
    })

    contract(
      'streams a multi-MiB object in and out without changing a byte',
      async () => {
        // Not a multiple of any chunk size, so that partial last chunks are exercised on both sides.
        const size = 5 * MiB + 12_345
        const expected = await sha256OfChunks(pseudoRandomChunks(size, 42))

        await writeObject(driver, 'objects/large.bin', pseudoRandomChunks(size, 42))

        expect((await driver.stat('objects/large.bin'))?.size).toBe(size)
        const actual = await digestStream(await driver.read('objects/large.bin'))
        expect(actual.size).toBe(size)
        expect(actual.sha256).toBe(expected)
        // The read is streamed, not handed over as one buffer.
        expect(actual.largestChunk).toBeLessThan(size)
      },
      60_000,
    )

    contract('nothing is visible before commit', async () => {
      const writer = await driver.createWriter()
      await pipeline(Readable.from([Buffer.from('pending')]), writer.stream)

      // 1. The bytes are fully written but not committed: no key shows them.
      await expectAbsent(driver, 'objects/pending')
      expect(await collect(driver.list(''))).toEqual([])

      // 2. Commit publishes them.
      await writer.commit('objects/pending')
      expect(await readAll(await driver.read('objects/pending'))).toEqual(Buffer.from('pending'))
      expect(await collect(driver.list(''))).toEqual(['objects/pending'])
    })

    contract('nothing is visible after abort, and the writer cannot commit afterwards', async () => {
      const writer = await driver.createWriter()
      await pipeline(Readable.from([Buffer.from('discarded')]), writer.stream)

      await writer.abort()

      await expectAbsent(driver, 'objects/discarded')
      expect(await collect(driver.list(''))).toEqual([])
      expect(await leftoverTemporaries(driver)).toBe(0)
      await expect(writer.commit('objects/discarded')).rejects.toThrow()
      await expectAbsent(driver, 'objects/discarded')
    })

    contract('abort is idempotent', async () => {
      const writer = await driver.createWriter()
      await writeChunk(writer.stream, Buffer.from('partial'))

      await writer.abort()
      await writer.abort()
      await writer.abort()

      expect(await collect(driver.list(''))).toEqual([])
      expect(await leftoverTemporaries(driver)).toBe(0)
    })

    contract('committing to an existing key keeps the existing content and succeeds', async () => {
      await writeObject(driver, 'objects/dedup', [Buffer.from('first')])

      // Content-addressed keys make both bodies equal in practice; different bodies show which one is kept.
      await writeObject(driver, 'objects/dedup', [Buffer.from('second, longer')])

      expect(await readAll(await driver.read('objects/dedup'))).toEqual(Buffer.from('first'))
      expect((await driver.stat('objects/dedup'))?.size).toBe(5)
      expect(await collect(driver.list(''))).toEqual(['objects/dedup'])
      expect(await leftoverTemporaries(driver)).toBe(0)
    })

    contract('reads inclusive byte ranges', async () => {
      // Larger than a typical read chunk (64 KiB), so a range can straddle chunk boundaries.
      const content = Buffer.concat([...pseudoRandomChunks(200 * 1024 + 7, 7)])
      const last = content.length - 1
      await writeObject(driver, 'objects/ranged', [content])

      const cases: [label: string, start: number, end: number][] = [
        ['first byte', 0, 0],
        ['last byte', last, last],
        ['middle', 1000, 1999],
        ['a chunk boundary', 64 * 1024 - 10, 64 * 1024 + 10],
        ['from an offset to the end', 150_000, last],
        ['the whole object', 0, last],
      ]
      for (const [label, start, end] of cases) {
        const bytes = await readAll(await driver.read('objects/ranged', { start, end }))
        expect(bytes.length, label).toBe(end - start + 1)
        expect(bytes.equals(content.subarray(start, end + 1)), label).toBe(true)
      }
    })

    contract('a sender, when the driver has one, writes exactly the range asked for, and what reads give', async () => {
      if (!driver.openSender) return // optional fast path: read() serves drivers without it
      const content = Buffer.concat([...pseudoRandomChunks(700 * 1024 + 3, 11)])
      const last = content.length - 1
      await writeObject(driver, 'objects/sent', [content])
      for (const [start, end] of [[0, last], [0, 0], [64 * 1024 - 1, 64 * 1024 * 5 + 1], [last - 9, last]] as const) {
        const chunks: Buffer[] = []
        // Each chunk is copied: the sender reuses its buffers once the write callback has run.
        const sink = new PassThrough()
        sink.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)))
        const send = await driver.openSender('objects/sent', { start, end })
        await send(sink)
        expect(sink.writableEnded, 'a sender never ends its destination').toBe(false)
        expect(Buffer.concat(chunks).equals(content.subarray(start, end + 1))).toBe(true)
      }
      await expect(driver.openSender('objects/missing')).rejects.toBeInstanceOf(PathNotFoundError)
    })

    contract('a sender stops with an error when its destination closes early', async () => {
      if (!driver.openSender) return
      // Larger than several of a sender's reads (they may be 1 MiB), each written slowly.
      await writeObject(driver, 'objects/cut', [...pseudoRandomChunks(8 * MiB, 5)])
      const sink = new Writable({
        highWaterMark: 1,
        write(_chunk, _encoding, callback) {
          setTimeout(callback, 20)
        },
      })
      const send = await driver.openSender('objects/cut')
      setTimeout(() => sink.destroy(), 20)
      await expect(send(sink)).rejects.toThrow()
    })

    contract('a range read of a missing key throws PathNotFoundError', async () => {
      await expect(driver.read('objects/missing', { start: 0, end: 9 })).rejects.toBeInstanceOf(PathNotFoundError)
    })

    contract('stat reports size and modification time; undefined for a missing key', async () => {
      const before = Date.now()
      await writeObject(driver, 'objects/stat', [Buffer.alloc(1234, 1), Buffer.alloc(766, 2)])

      const stat = await driver.stat('objects/stat')
      expect(stat?.size).toBe(2000)
      expect(stat?.modifiedAt).toBeInstanceOf(Date)
      // Generous bounds: object stores may round to the second.
      expect(stat!.modifiedAt.getTime()).toBeGreaterThan(before - 60_000)
      expect(stat!.modifiedAt.getTime()).toBeLessThan(Date.now() + 60_000)
      expect(await driver.stat('objects/other')).toBeUndefined()
    })

    contract('a key that is only a prefix of other keys does not exist', async () => {
      await writeObject(driver, 'tree/branch/leaf', [Buffer.from('leaf')])

      for (const prefix of ['tree', 'tree/branch']) {
        expect(await driver.stat(prefix), prefix).toBeUndefined()
        await expect(driver.read(prefix), prefix).rejects.toBeInstanceOf(PathNotFoundError)
        await driver.delete(prefix)
      }

      expect(await readAll(await driver.read('tree/branch/leaf'))).toEqual(Buffer.from('leaf'))
    })

    contract('delete removes the object and is idempotent', async () => {
      await writeObject(driver, 'objects/a', [Buffer.from('a')])
      await writeObject(driver, 'objects/b', [Buffer.from('b')])

      await driver.delete('objects/a')

      await expectAbsent(driver, 'objects/a')
      await driver.delete('objects/a')
      await driver.delete('objects/never-existed')
      await driver.delete('nowhere/at/all')
      expect(await readAll(await driver.read('objects/b'))).toEqual(Buffer.from('b'))
      expect(await collect(driver.list(''))).toEqual(['objects/b'])
    })

    contract('list yields the keys under a prefix and never temporary objects', async () => {
      const keys = [
        'blobs/sha256/ab/ab01',
        'blobs/sha256/ab/ab02',
        'blobs/sha256/ac/ac01',
        'blobs/sha256/bc/bc01',
        'blobsx/other',
        'top-level',
      ]
      for (const key of keys) await writeObject(driver, key, [Buffer.from(key)])
      // An open, uncommitted writer with bytes in it: its temporary object must not be listed.
      const pending = await driver.createWriter()
      await writeChunk(pending.stream, Buffer.from('pending'))

      expect(await sortedList(driver, '')).toEqual([...keys].sort())
      expect(await sortedList(driver, 'blobs/')).toEqual(keys.slice(0, 4))
      expect(await sortedList(driver, 'blobs')).toEqual(keys.slice(0, 5))
      expect(await sortedList(driver, 'blobs/sha256/a')).toEqual(keys.slice(0, 3))
      expect(await sortedList(driver, 'blobs/sha256/ab/')).toEqual(keys.slice(0, 2))
      expect(await sortedList(driver, 'blobs/sha256/ab/ab01')).toEqual(['blobs/sha256/ab/ab01'])
      expect(await sortedList(driver, 'top')).toEqual(['top-level'])
      expect(await sortedList(driver, 'nothing/here/')).toEqual([])
      expect(await sortedList(driver, 'z')).toEqual([])

      await pending.abort()
    })

    contract(
      'an abandoned writer is listed as temporary under its id until deleteTemporary removes it',
      async () => {
        await writeObject(driver, 'objects/committed', [Buffer.from('committed')])
        // 1. A writer that stored a part's worth of bytes and was then neither committed nor aborted.
        const abandoned = await driver.createWriter('owner-1.abandoned')
        for (const chunk of pseudoRandomChunks(PART_WORTH, 3)) await writeChunk(abandoned.stream, chunk)

        // 2. Listed under its id (an object store may take a moment to start the upload), once.
        const listed = await eventuallyListed(driver, 'owner-1.abandoned')
        expect(listed.modifiedAt).toBeInstanceOf(Date)

        // 3. Deleting it removes it, and it alone; deleting again is fine.
        await driver.deleteTemporary('owner-1.abandoned')
        await driver.deleteTemporary('owner-1.abandoned')
        expect((await collect(driver.listTemporary())).map((t) => t.id)).not.toContain('owner-1.abandoned')
        expect(await readAll(await driver.read('objects/committed'))).toEqual(Buffer.from('committed'))
        expect(await collect(driver.list(''))).toEqual(['objects/committed'])
        await abandoned.abort()
        expect(await leftoverTemporaries(driver)).toBe(0)
      },
      60_000,
    )

    contract(
      'a writer whose temporary data was deleted under it cannot commit, and nothing becomes visible',
      async () => {
        const writer = await driver.createWriter('owner-2.swept')
        const chunks = [...pseudoRandomChunks(PART_WORTH + 1000, 4)]
        for (const chunk of chunks.slice(0, -1)) await writeChunk(writer.stream, chunk)
        await eventuallyListed(driver, 'owner-2.swept')

        await driver.deleteTemporary('owner-2.swept')

        await expect(
          (async () => {
            await pipeline(Readable.from(chunks.slice(-1)), writer.stream)
            await writer.commit('objects/swept')
          })(),
        ).rejects.toThrow()
        await writer.abort()
        await expectAbsent(driver, 'objects/swept')
        expect(await leftoverTemporaries(driver)).toBe(0)
      },
      60_000,
    )

    for (const id of ['../x', 'a/b', '', '.', '..', 'a b', 'x'.repeat(129)]) {
      contract(`refuses the invalid temporary id ${JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}…` : id)}`, async () => {
        await expect(driver.createWriter(id)).rejects.toThrow(/invalid temporary id/)
        await expect(driver.deleteTemporary(id)).rejects.toThrow(/invalid temporary id/)
        expect(await leftoverTemporaries(driver)).toBe(0)
      })
    }

    const invalidKeys = ['../x', 'a/../b', 'a//b', '/abs', 'a\\b', '', '.', 'a/', 'a b', 'a/./b']
    for (const key of invalidKeys) {
      contract(`refuses the invalid key ${JSON.stringify(key)}`, async () => {
        await writeObject(driver, 'objects/valid', [Buffer.from('valid')])
        const invalid = /invalid storage key/

        await expect(driver.read(key)).rejects.toThrow(invalid)
        await expect(driver.read(key, { start: 0, end: 0 })).rejects.toThrow(invalid)
        await expect(driver.stat(key)).rejects.toThrow(invalid)
        await expect(driver.delete(key)).rejects.toThrow(invalid)

        const writer = await driver.createWriter()
        await pipeline(Readable.from([Buffer.from('payload')]), writer.stream)
        await expect(writer.commit(key)).rejects.toThrow(invalid)
        await writer.abort()

        expect(await collect(driver.list(''))).toEqual(['objects/valid'])
        expect(await leftoverTemporaries(driver)).toBe(0)
      })
    }

    contract('concurrent writers to the same key both succeed and the content is intact', async () => {
      const size = 2 * MiB + 3
      const expected = await sha256OfChunks(pseudoRandomChunks(size, 9))
      const writers = await Promise.all([driver.createWriter(), driver.createWriter(), driver.createWriter()])

      // Write and commit all of them at once, interleaving their chunks.
      await Promise.all(
        writers.map(async (writer) => {
          await pipeline(Readable.from(pseudoRandomChunks(size, 9)), writer.stream)
          await writer.commit('objects/contended')
        }),
      )

      const actual = await digestStream(await driver.read('objects/contended'))
      expect(actual).toMatchObject({ size, sha256: expected })
      expect(await collect(driver.list(''))).toEqual(['objects/contended'])
      expect(await leftoverTemporaries(driver)).toBe(0)
    })

    contract('a writer whose source fails mid-stream can be aborted and leaves nothing', async () => {
      const writer = await driver.createWriter()
      async function* failing(): AsyncGenerator<Buffer> {
        yield Buffer.alloc(64 * 1024, 1)
        yield Buffer.alloc(64 * 1024, 2)
        throw new Error('client went away')
      }

      await expect(pipeline(Readable.from(failing()), writer.stream)).rejects.toThrow('client went away')
      await writer.abort()
      await writer.abort()

      expect(await collect(driver.list(''))).toEqual([])
      expect(await leftoverTemporaries(driver)).toBe(0)
    })

    contract('checkHealth resolves and leaves nothing behind', async () => {
      await expect(driver.checkHealth()).resolves.toBeUndefined()
      expect(await collect(driver.list(''))).toEqual([])
      expect(await leftoverTemporaries(driver)).toBe(0)
    })

    for (const test of skips.keys()) {
      if (!titles.has(test)) throw new Error(`describeStorageDriver(${name}): cannot skip unknown test "${test}"`)
    }
  })
}

async function writeObject(
  driver: StorageDriver,
  key: string,
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
): Promise<void> {
  const writer: StorageWriter = await driver.createWriter()
  try {
    await pipeline(Readable.from(chunks), writer.stream)
  } catch (err) {
    await writer.abort()
    throw err
  }
  await writer.commit(key)
}

function writeChunk(stream: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (err) => (err ? reject(err) : resolve()))
  })
}

async function expectAbsent(driver: StorageDriver, key: string): Promise<void> {
  expect(await driver.stat(key)).toBeUndefined()
  await expect(driver.read(key)).rejects.toBeInstanceOf(PathNotFoundError)
  expect(await collect(driver.list(key))).toEqual([])
}

/** How many temporary objects are still there; removes them so that the next check starts clean. */
async function leftoverTemporaries(driver: StorageDriver): Promise<number> {
  const leftovers = await collect(driver.listTemporary())
  for (const temporary of leftovers) await driver.deleteTemporary(temporary.id)
  return leftovers.length
}

/** Bounded wait until writer `id` shows among the temporaries, listed exactly once. */
async function eventuallyListed(driver: StorageDriver, id: string): Promise<TemporaryObject> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const matches = (await collect(driver.listTemporary())).filter((t) => t.id === id)
    if (matches.length > 0) {
      expect(matches).toHaveLength(1)
      return matches[0]!
    }
    if (Date.now() > deadline) throw new Error(`temporary ${id} was not listed within 10 s`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function collect<T>(keys: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const key of keys) out.push(key)
  return out
}

async function sortedList(driver: StorageDriver, prefix: string): Promise<string[]> {
  return (await collect(driver.list(prefix))).sort()
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function digestStream(stream: Readable): Promise<{ sha256: string; size: number; largestChunk: number }> {
  const hash = createHash('sha256')
  let size = 0
  let largestChunk = 0
  for await (const chunk of stream) {
    const bytes = chunk as Buffer
    hash.update(bytes)
    size += bytes.length
    largestChunk = Math.max(largestChunk, bytes.length)
  }
  return { sha256: hash.digest('hex'), size, largestChunk }
}

async function sha256OfChunks(chunks: Iterable<Buffer>): Promise<string> {
  return (await digestStream(Readable.from(chunks))).sha256
}

/** Deterministic pseudo-random bytes (xorshift32), generated chunk by chunk so large payloads are never held whole. */
function* pseudoRandomChunks(totalBytes: number, seed: number, chunkSize = 64 * 1024): Generator<Buffer> {
  let state = seed >>> 0 || 1
  for (let offset = 0; offset < totalBytes; offset += chunkSize) {
    const length = Math.min(chunkSize, totalBytes - offset)
    const words = new Uint32Array(Math.ceil(length / 4))
    for (let i = 0; i < words.length; i++) {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      words[i] = state >>> 0
    }
    yield Buffer.from(words.buffer, 0, length)
  }
}
