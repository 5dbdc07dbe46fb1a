import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import yazl from 'yazl'
import { buildWheel, type DistOptions } from '../../../test/helpers/python.js'
import { BlobStore } from '../../core/blobs/blob-store.js'
import type { ByteRange } from '../../storage/storage-driver.js'
import { FilesystemStorageDriver } from '../../storage/filesystem/filesystem-storage-driver.js'
import { readWheelMetadata, verifyWheelRecord } from './wheel-archive.js'

/** The real blob store, counting how often a blob is opened (each is a storage request, an S3 GET). */
class CountingBlobStore extends BlobStore {
  opens = 0

  override open(sha256: string, range?: ByteRange): Promise<Readable> {
    this.opens++
    return super.open(sha256, range)
  }
}

describe('readWheelMetadata and verifyWheelRecord (a wheel in the blob store)', () => {
  let root: string
  let blobs: CountingBlobStore

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trove-wheel-'))
    blobs = new CountingBlobStore(new FilesystemStorageDriver(root))
  })

  afterAll(async () => {
    await rm(root, { recursive: true, force: true })
  })

  const store = (bytes: Buffer) => blobs.put(Readable.from([bytes]))
  /** Checks the RECORD of a wheel built with `options` (demo 1.0 by default). */
  const verify = async (options: Partial<DistOptions>) => {
    const dist = await buildWheel({ name: 'demo', version: '1.0', ...options })
    return verifyWheelRecord(blobs, await store(dist.bytes), 'demo', dist.filename)
  }
  const sha256 = (bytes: string | Buffer, encoding: 'hex' | 'base64url' = 'base64url') => createHash('sha256').update(bytes).digest(encoding)

  it('reads METADATA and accepts a wheel whose RECORD describes every file', async () => {
    const dist = await buildWheel({ name: 'demo', version: '1.0', files: { 'demo/data/a,b.txt': 'commas are quoted in RECORD\n' }, padding: 300_000 })
    const blob = await store(dist.bytes)
    expect((await readWheelMetadata(blobs, blob.sha256, blob.size, 'demo')).toString()).toBe(dist.metadata)
    await expect(verifyWheelRecord(blobs, blob, 'demo', dist.filename)).resolves.toBeUndefined()
  })

  it('refuses a wheel without RECORD in PyPI words, naming the file it needs', async () => {
    await expect(verify({ editRecord: () => undefined })).rejects.toThrow(
      "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required RECORD file: demo-1.0.dist-info/RECORD",
    )
    // A RECORD elsewhere (another dist-info) is not the one the wheel needs.
    await expect(
      verify({ editRecord: () => undefined, files: { 'other-1.0.dist-info/RECORD': 'x,,\n' } }),
    ).rejects.toThrow(/does not contain the required RECORD file: demo-1\.0\.dist-info\/RECORD/)
  })

  it.each([
    ['a file RECORD does not list', (rows: string[]) => rows.filter((r) => !r.startsWith('demo/__init__.py')), /'demo\/__init__\.py' is not listed in RECORD/],
    ['a listed file the wheel lacks', (rows: string[]) => [...rows, `demo/gone.py,sha256=${sha256('x')},1`], /RECORD lists 'demo\/gone\.py', which is not in the wheel/],
    ['a wrong size', (rows: string[]) => rows.map((r) => (r.startsWith('demo/__init__.py') ? r.replace(/,(\d+)$/, (_m, n) => `,${Number(n) + 1}`) : r)), /RECORD says 'demo\/__init__\.py' has \d+ bytes, the wheel holds \d+/],
    ['a wrong hash', (rows: string[]) => rows.map((r) => (r.startsWith('demo/__init__.py') ? r.replace(/sha256=[^,]+/, `sha256=${sha256('other')}`) : r)), /the sha256 hash of 'demo\/__init__\.py' does not match RECORD/],
    ['an md5 hash', (rows: string[]) => rows.map((r) => (r.startsWith('demo/__init__.py') ? r.replace(/sha256=[^,]+/, 'md5=abc') : r)), /RECORD has a md5 hash for 'demo\/__init__\.py': use sha256 or a stronger algorithm/],
    ['no hashes at all', (rows: string[]) => rows.map((r) => r.replace(/,sha256=[^,]+,\d+$/, ',,')), /RECORD has no hash for 'demo\/__init__\.py'; RECORD has no hash for 'demo\/data\.bin'; RECORD has no hash for 'demo-1\.0\.dist-info\/METADATA' \(and 1 more\)\.$/],
    ['a malformed line', (rows: string[]) => [...rows, 'demo/x.py'], /line 6 of RECORD has 1 fields, not 3/],
  ])('refuses %s, saying which file', async (_label, editRecord, message) => {
    const refusal = verify({ editRecord, padding: 10 })
    await expect(refusal).rejects.toThrow(/^Wheel 'demo-1\.0-py3-none-any\.whl' has an invalid RECORD file: /)
    await expect(refusal).rejects.toThrow(message)
  })

  it('accepts other strong hashes, a padded digest and signature files outside RECORD', async () => {
    const files = { 'demo/extra.txt': 'extra\n', 'demo-1.0.dist-info/RECORD.jws': '{}' }
    const digest = (algorithm: string, text: string) => createHash(algorithm).update(text).digest('base64url')
    const editRecord = (rows: string[]) =>
      rows
        .filter((r) => !r.startsWith('demo-1.0.dist-info/RECORD.jws'))
        .map((r) => (r.startsWith('demo/extra.txt') ? `demo/extra.txt,blake2b=${digest('blake2b512', 'extra\n')},6` : r))
        .map((r) => (r.startsWith('demo/__init__.py') ? r.replace(/sha256=([^,]+)/, 'sha256=$1=') : r))
    await expect(verify({ files, editRecord })).resolves.toBeUndefined()
  })

  it('refuses a zip bomb from its directory, before decompressing anything', async () => {
    // 80 MiB of zeros deflate to some 80 KiB: a thousand times more. RECORD only needs the right
    // size and a sha256 for the check to come this far; its digest is never compared.
    const size = 80 * 1024 * 1024
    const zeros = Readable.from((function* () { for (let i = 0; i < size / 65536; i++) yield Buffer.alloc(65536) })())
    const metadata = 'Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n'
    const zip = new yazl.ZipFile()
    zip.addReadStream(zeros, 'demo/zeros.bin', { size })
    zip.addBuffer(Buffer.from(metadata), 'demo-1.0.dist-info/METADATA')
    const record = `demo/zeros.bin,sha256=${sha256('not read')},${size}\ndemo-1.0.dist-info/METADATA,sha256=${sha256(metadata)},${metadata.length}\n`
    zip.addBuffer(Buffer.from(record), 'demo-1.0.dist-info/RECORD')
    zip.end()
    const chunks: Buffer[] = []
    for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk)
    const bytes = Buffer.concat(chunks)
    expect(bytes.length).toBeLessThan(size / 100)
    await expect(verifyWheelRecord(blobs, await store(bytes), 'demo', 'demo-1.0-py3-none-any.whl')).rejects.toThrow(
      `the wheel's files add up to ${size + metadata.length + record.length} bytes, more than 100 times its size (a zip bomb?)`,
    )
  })

  it('reads the whole wheel in a few reads of the blob, not one per file', async () => {
    const files = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`demo/module_${i}.py`, `VALUE = ${i}\n`.repeat(i % 50)]))
    const dist = await buildWheel({ name: 'demo', version: '1.0', files })
    const blob = await store(dist.bytes)
    blobs.opens = 0
    await readWheelMetadata(blobs, blob.sha256, blob.size, 'demo')
    await verifyWheelRecord(blobs, blob, 'demo', dist.filename)
    // Each: the end of the file, the central directory; then METADATA; or RECORD and the files in order.
    expect(blobs.opens).toBeLessThanOrEqual(7)
  })

  it('keeps the refusals of a wheel that is not a zip or has no METADATA for the project', async () => {
    const notZip = await store(Buffer.from('not a zip at all'))
    await expect(readWheelMetadata(blobs, notZip.sha256, notZip.size, 'demo')).rejects.toThrow(/^Invalid distribution file: the wheel is not a valid zip archive/)
    const other = await buildWheel({ name: 'other', version: '1.0' })
    const otherBlob = await store(other.bytes)
    await expect(verifyWheelRecord(blobs, otherBlob, 'demo', other.filename)).rejects.toThrow(
      "Invalid distribution file: the wheel has no '<name>-<version>.dist-info/METADATA' for 'demo'.",
    )
  })
})
