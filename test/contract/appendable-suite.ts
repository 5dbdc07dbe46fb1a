import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AppendState, StorageDriver } from '../../src/storage/storage-driver.js'
import type { StorageDriverFixture } from './storage-driver-suite.js'

const MiB = 1024 * 1024

export interface AppendableFixture extends StorageDriverFixture {
  /** Another driver on the same store, as another process would open it. */
  reopen(): StorageDriver
}

/**
 * The contract of appendable objects (`StorageDriver.append` / `commitAppended`), which resumable
 * uploads build on: appends in any sizes (on S3 below and above its 5 MiB part minimum), a failed
 * append that leaves the object as it was, a fresh driver (another process) taking over from the
 * kept state, and removal by `deleteTemporary`.
 */
export function describeAppendableObjects(name: string, create: () => Promise<AppendableFixture>): void {
  describe(`appendable objects: ${name}`, () => {
    let driver!: StorageDriver
    let reopen!: () => StorageDriver
    let cleanup: (() => Promise<void>) | undefined

    beforeEach(async () => {
      const fixture = await create()
      driver = fixture.driver
      reopen = fixture.reopen
      cleanup = () => fixture.cleanup()
    })
    afterEach(async () => {
      await cleanup?.()
      cleanup = undefined
    })

    async function appendAll(target: StorageDriver, id: string, chunks: readonly Buffer[], from: { state?: AppendState; offset: number } = { offset: 0 }) {
      let { state, offset } = from
      for (const chunk of chunks) {
        state = await target.append(id, state, offset, Readable.from(split(chunk, 64 * 1024)))
        offset += chunk.length
      }
      return { state, offset }
    }

    it('appends chunks below and above 5 MiB, commits the whole byte for byte, and leaves no temporary data', async () => {
      const chunks = [randomBytes(1000), randomBytes(2 * MiB), randomBytes(3 * MiB), randomBytes(7 * MiB + 3), randomBytes(100), randomBytes(10)]
      const { state, offset } = await appendAll(driver, 'upload-one', chunks)
      expect(await temporaries(driver)).toEqual(['upload-one'])

      await driver.commitAppended('upload-one', state, offset, 'blobs/whole')

      const whole = Buffer.concat(chunks)
      expect((await driver.stat('blobs/whole'))?.size).toBe(whole.length)
      expect((await readAll(await driver.read('blobs/whole'))).equals(whole)).toBe(true)
      expect(await temporaries(driver)).toEqual([])
    }, 120_000)

    it('commits an object of small chunks only, and one of no bytes', async () => {
      const chunks = [randomBytes(10), randomBytes(20), randomBytes(30)]
      const { state, offset } = await appendAll(driver, 'upload-small', chunks)
      await driver.commitAppended('upload-small', state, offset, 'blobs/small')
      expect((await readAll(await driver.read('blobs/small'))).equals(Buffer.concat(chunks))).toBe(true)

      await driver.commitAppended('upload-empty', undefined, 0, 'blobs/empty')
      expect((await driver.stat('blobs/empty'))?.size).toBe(0)
      expect(await temporaries(driver)).toEqual([])
    })

    it('ignores what a failed append left, and another process continues from the kept state', async () => {
      const first = randomBytes(6 * MiB)
      const kept = await appendAll(driver, 'upload-broken', [first])
      // An append whose client goes away after 5.5 MiB: it fails, and its state is never kept.
      const failing = Readable.from(
        (async function* () {
          yield randomBytes(4 * MiB)
          yield randomBytes(MiB + MiB / 2)
          throw new Error('client went away')
        })(),
      )
      await expect(driver.append('upload-broken', kept.state, kept.offset, failing)).rejects.toThrow()

      const other = reopen()
      const second = randomBytes(MiB)
      const { state, offset } = await appendAll(other, 'upload-broken', [second], kept)
      await other.commitAppended('upload-broken', state, offset, 'blobs/resumed')
      expect((await readAll(await driver.read('blobs/resumed'))).equals(Buffer.concat([first, second]))).toBe(true)
      expect(await temporaries(driver)).toEqual([])
    }, 120_000)

    it('keeps an object already at the key, and deleteTemporary removes an unfinished one entirely', async () => {
      const content = randomBytes(100)
      const a = await appendAll(driver, 'upload-a', [content])
      await driver.commitAppended('upload-a', a.state, a.offset, 'blobs/same')
      const b = await appendAll(driver, 'upload-b', [content])
      await driver.commitAppended('upload-b', b.state, b.offset, 'blobs/same')
      expect((await readAll(await driver.read('blobs/same'))).equals(content)).toBe(true)

      await appendAll(driver, 'upload-gone', [randomBytes(6 * MiB), randomBytes(100)])
      expect(await temporaries(driver)).toEqual(['upload-gone'])
      await driver.deleteTemporary('upload-gone')
      expect(await temporaries(driver)).toEqual([])
    }, 120_000)
  })
}

function* split(buffer: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < buffer.length; offset += size) yield buffer.subarray(offset, offset + size)
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function temporaries(driver: StorageDriver): Promise<string[]> {
  const ids: string[] = []
  for await (const temporary of driver.listTemporary()) ids.push(temporary.id)
  return ids.sort()
}
