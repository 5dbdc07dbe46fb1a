import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FilesystemStorageDriver } from '../../src/storage/filesystem/filesystem-storage-driver.js'
import { describeStorageDriver } from './storage-driver-suite.js'

describeStorageDriver('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'trove-fs-driver-'))
  return { driver: new FilesystemStorageDriver(root), cleanup: () => rm(root, { recursive: true, force: true }) }
})

describe('FilesystemStorageDriver on disk', () => {
  let base: string
  let root: string
  let driver: FilesystemStorageDriver

  beforeEach(async () => {
    // The store is a subfolder, so escapes from it would land in `base` where the test can see them.
    base = await mkdtemp(join(tmpdir(), 'trove-fs-layout-'))
    root = join(base, 'store')
    driver = new FilesystemStorageDriver(root)
  })

  afterEach(async () => {
    await rm(base, { recursive: true, force: true })
  })

  it('stores a committed object as the file root/<key> and empties _uploads', async () => {
    const content = Buffer.from('layout check')
    const writer = await driver.createWriter()
    await pipeline(Readable.from([content]), writer.stream)

    await writer.commit('blobs/sha256/ab/abcdef')

    expect(await readFile(join(root, 'blobs', 'sha256', 'ab', 'abcdef'))).toEqual(content)
    expect(await readdir(join(root, '_uploads'))).toEqual([])
  })

  it('keeps uncommitted bytes in _uploads only, unlisted, until abort removes them', async () => {
    const writer = await driver.createWriter()
    await writeChunk(writer.stream, Buffer.from('in flight'))

    const temporaries = await readdir(join(root, '_uploads'))
    expect(temporaries).toHaveLength(1)
    expect(await readFile(join(root, '_uploads', temporaries[0]!), 'utf8')).toBe('in flight')
    expect(await collect(driver.list('_uploads'))).toEqual([])
    expect(await collect(driver.list('_'))).toEqual([])
    expect(await collect(driver.list(''))).toEqual([])

    await writer.abort()

    expect(await readdir(join(root, '_uploads'))).toEqual([])
  })

  it('sweepTemporary deletes the abandoned file from _uploads', async () => {
    const writer = await driver.createWriter()
    await writeChunk(writer.stream, Buffer.from('abandoned'))

    expect(await driver.sweepTemporary(0)).toBe(1)

    expect(await readdir(join(root, '_uploads'))).toEqual([])
    await writer.abort()
  })

  it('sweepTemporary(0) removes a temporary written in the same millisecond', async () => {
    // File times have sub-millisecond precision; Date.now() does not. Repeat so that some rounds land
    // in the millisecond the file was written in.
    for (let round = 0; round < 25; round++) {
      const writer = await driver.createWriter()
      await writeChunk(writer.stream, Buffer.from(`round ${round}`))

      expect(await driver.sweepTemporary(0), `round ${round}`).toBe(1)
      await writer.abort()
    }
    expect(await readdir(join(root, '_uploads'))).toEqual([])
  })

  it('never writes outside the root for an escaping key', async () => {
    const writer = await driver.createWriter()
    await pipeline(Readable.from([Buffer.from('escape attempt')]), writer.stream)

    await expect(writer.commit('../escaped')).rejects.toThrow(/invalid storage key/)
    await writer.abort()

    expect((await readdir(base)).sort()).toEqual(['store'])
    expect(await readdir(join(root, '_uploads'))).toEqual([])
  })

  it.each([
    ['ends with a separator', () => root + sep],
    ['is relative to the working directory', () => `.${sep}${relative(process.cwd(), root)}`],
    ['is not normalised', () => join(root, 'sub', '..') + sep + '.'],
  ])('lists and reads keys correctly when the root %s', async (_label, rootSpelling) => {
    const spelled = rootSpelling()
    const other = new FilesystemStorageDriver(spelled)
    const writer = await other.createWriter()
    await pipeline(Readable.from([Buffer.from('spelled')]), writer.stream)
    await writer.commit('blobs/sha256/cd/cdef')

    expect(await collect(other.list(''))).toEqual(['blobs/sha256/cd/cdef'])
    expect(await collect(other.list('blobs/sha256/'))).toEqual(['blobs/sha256/cd/cdef'])
    expect(await collect(driver.list('blobs/'))).toEqual(['blobs/sha256/cd/cdef'])
    expect((await stat(join(root, 'blobs', 'sha256', 'cd', 'cdef'))).size).toBe(7)
  })
})

function writeChunk(stream: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (err) => (err ? reject(err) : resolve()))
  })
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const key of keys) out.push(key)
  return out
}
