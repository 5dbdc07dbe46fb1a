import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FilesystemStorageDriver } from '../../src/storage/filesystem/filesystem-storage-driver.js'
import { describeAppendableObjects } from './appendable-suite.js'
import { describeStorageDriver } from './storage-driver-suite.js'

describeStorageDriver('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'trove-fs-driver-'))
  return { driver: new FilesystemStorageDriver(root), cleanup: () => rm(root, { recursive: true, force: true }) }
})

describeAppendableObjects('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'trove-fs-append-'))
  return { driver: new FilesystemStorageDriver(root), reopen: () => new FilesystemStorageDriver(root), cleanup: () => rm(root, { recursive: true, force: true }) }
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

  it('names the temporary file after the writer id; deleteTemporary removes it', async () => {
    const writer = await driver.createWriter('abc123.def')
    await writeChunk(writer.stream, Buffer.from('abandoned'))

    expect(await readdir(join(root, '_uploads'))).toEqual(['abc123.def'])
    await driver.deleteTemporary('abc123.def')

    expect(await readdir(join(root, '_uploads'))).toEqual([])
    await writer.abort()
  })

  it('lists a temporary file left by an earlier version (a bare uuid) with its modification time', async () => {
    await mkdir(join(root, '_uploads'), { recursive: true })
    const old = join(root, '_uploads', '0b8e5f36-8f0c-4a55-9d2c-3f1f5f3c1e11')
    await writeFile(old, 'left by a crash')
    const then = new Date(Date.now() - 2 * 3600 * 1000)
    await utimes(old, then, then)

    const listed = await collect(driver.listTemporary())

    expect(listed).toEqual([{ id: '0b8e5f36-8f0c-4a55-9d2c-3f1f5f3c1e11', modifiedAt: expect.any(Date) as Date }])
    expect(Math.abs(listed[0]!.modifiedAt.getTime() - then.getTime())).toBeLessThan(1000)
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

async function collect<T>(keys: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const key of keys) out.push(key)
  return out
}
