import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { S3StorageDriver } from '../../src/storage/s3/s3-storage-driver.js'
import { TEST_CREDENTIALS, motoOrSkip } from '../helpers/s3.js'
import { describeAppendableObjects } from './appendable-suite.js'
import { describeStorageDriver } from './storage-driver-suite.js'

const moto = await motoOrSkip('the S3 storage driver contract suite')
afterAll(() => moto?.stop())

if (moto) {
  describeStorageDriver('s3', async () => {
    const bucket = await moto.createBucket()
    const driver = new S3StorageDriver({
      bucket,
      prefix: 'store',
      endpoint: moto.endpoint,
      forcePathStyle: true,
      credentials: TEST_CREDENTIALS,
      partSizeBytes: 5 * 1024 * 1024,
      maxConcurrentParts: 2,
    })
    return { driver, cleanup: async () => (await driver.close(), await moto.deleteBucket(bucket)) }
  })
  describeAppendableObjects('s3', async () => {
    const bucket = await moto.createBucket()
    const open = () =>
      new S3StorageDriver({
        bucket,
        prefix: 'store',
        endpoint: moto.endpoint,
        forcePathStyle: true,
        credentials: TEST_CREDENTIALS,
        partSizeBytes: 5 * 1024 * 1024,
        maxConcurrentParts: 2,
      })
    const driver = open()
    const others: S3StorageDriver[] = []
    return {
      driver,
      reopen: () => {
        const other = open()
        others.push(other)
        return other
      },
      cleanup: async () => {
        for (const d of [driver, ...others]) await d.close()
        await moto.deleteBucket(bucket)
      },
    }
  })
} else {
  describe.skip('StorageDriver contract: s3 (moto_server is not installed)', () => it('runs on moto', () => {}))
}

describe.skipIf(!moto)('S3StorageDriver in the bucket', () => {
  const MiB = 1024 * 1024
  let bucket: string
  let driver: S3StorageDriver

  beforeEach(async () => {
    bucket = await moto!.createBucket()
    // Objects above 6 MiB are copied part by part here, as above 5 GiB in production.
    driver = new S3StorageDriver({ ...connection(bucket), singleCopyLimitBytes: 6 * MiB })
  })
  afterEach(async () => {
    await driver.close()
    await moto!.deleteBucket(bucket)
  })

  it('keeps objects under the prefix and writers under <prefix>/_uploads/<id> until commit', async () => {
    const writer = await driver.createWriter('owner.one')
    await pipeline(Readable.from([Buffer.from('small object')]), writer.stream)
    expect(await rawKeys(bucket)).toEqual(['store/_uploads/owner.one'])

    await writer.commit('blobs/sha256/ab/abcd')

    expect(await rawKeys(bucket)).toEqual(['store/blobs/sha256/ab/abcd'])
    expect(await collect(driver.list('blobs/'))).toEqual(['blobs/sha256/ab/abcd'])
  })

  it('copies an object above the single-copy limit part by part, byte for byte', async () => {
    const content = randomBytes(13 * MiB + 5)
    const writer = await driver.createWriter()
    await pipeline(Readable.from(chunksOf(content, 64 * 1024)), writer.stream)

    await writer.commit('objects/big')

    expect(sha256(await readAll(await driver.read('objects/big')))).toBe(sha256(content))
    expect(await rawKeys(bucket)).toEqual(['store/objects/big'])
    expect(await multipartUploads(bucket)).toEqual([])
  })

  it('a multipart copy cut off by a crash is listed with its writer and aborted by deleteTemporary', async () => {
    // What a crash in the middle of copying leaves: the complete temporary object, the unfinished
    // copy at the real key (invisible to listings of objects) and the marker pointing at it.
    await moto!.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'store/_uploads/owner.crashed', Body: 'x' }))
    const copy = await moto!.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'store/objects/big' }))
    await moto!.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'store/_uploads/owner.crashed/copy',
        Body: JSON.stringify({ key: 'store/objects/big', uploadId: copy.UploadId }),
      }),
    )

    expect((await collect(driver.listTemporary())).map((t) => t.id)).toEqual(['owner.crashed'])
    await driver.deleteTemporary('owner.crashed')

    expect(await multipartUploads(bucket)).toEqual([])
    expect(await rawKeys(bucket)).toEqual([])
    expect(await collect(driver.listTemporary())).toEqual([])
  })

  it('writes an object whose key is known in advance straight to it, visible only at commit', async () => {
    const content = randomBytes(13 * MiB + 5)
    const writer = await driver.createWriter('owner.direct', { key: 'objects/direct' })
    await pipeline(Readable.from(chunksOf(content, 64 * 1024)), writer.stream)

    // Every part is stored, under the final key, but no object is: only the marker of the upload.
    expect(await rawKeys(bucket)).toEqual(['store/_uploads/owner.direct/copy'])
    expect(await multipartUploads(bucket)).toEqual(['store/objects/direct'])
    expect(await driver.stat('objects/direct')).toBeUndefined()
    await writer.commit('objects/direct')

    expect(sha256(await readAll(await driver.read('objects/direct')))).toBe(sha256(content))
    expect(await rawKeys(bucket)).toEqual(['store/objects/direct'])
    expect(await multipartUploads(bucket)).toEqual([])

    const small = await driver.createWriter('owner.small', { key: 'objects/small' })
    await pipeline(Readable.from([Buffer.from('small object')]), small.stream)
    expect(await rawKeys(bucket)).toEqual(['store/objects/direct'])
    await small.commit('objects/small')
    expect((await readAll(await driver.read('objects/small'))).toString()).toBe('small object')
  })

  it('a direct write aborted, or committed to another key than announced, leaves nothing', async () => {
    const content = randomBytes(11 * MiB)
    const aborted = await driver.createWriter('owner.aborted', { key: 'objects/aborted' })
    await pipeline(Readable.from(chunksOf(content, 64 * 1024)), aborted.stream)
    await aborted.abort()
    expect(await rawKeys(bucket)).toEqual([])
    expect(await multipartUploads(bucket)).toEqual([])

    const elsewhere = await driver.createWriter('owner.elsewhere', { key: 'objects/announced' })
    await pipeline(Readable.from(chunksOf(content, 64 * 1024)), elsewhere.stream)
    await expect(elsewhere.commit('objects/other')).rejects.toThrow(/objects\/announced/)
    await elsewhere.abort()
    expect(await rawKeys(bucket)).toEqual([])
    expect(await multipartUploads(bucket)).toEqual([])
  })

  it('a direct write keeps an object already at its key, and leaves no upload behind', async () => {
    const content = randomBytes(11 * MiB)
    const first = await driver.createWriter()
    await pipeline(Readable.from(chunksOf(content, 64 * 1024)), first.stream)
    await first.commit('objects/kept')
    const before = await driver.stat('objects/kept')

    const again = await driver.createWriter('owner.again', { key: 'objects/kept' })
    await pipeline(Readable.from(chunksOf(content, 64 * 1024)), again.stream)
    await again.commit('objects/kept')

    expect(await driver.stat('objects/kept')).toEqual(before)
    expect(await rawKeys(bucket)).toEqual(['store/objects/kept'])
    expect(await multipartUploads(bucket)).toEqual([])
  })

  it('a direct write cut off by a crash is listed with its writer and aborted by deleteTemporary', async () => {
    const writer = await driver.createWriter('owner.crashed', { key: 'objects/crashed' })
    await pipeline(Readable.from(chunksOf(randomBytes(11 * MiB), 64 * 1024)), writer.stream)
    // The process dies here: another one finds the writer's data and removes it.
    const other = new S3StorageDriver(connection(bucket))
    expect((await collect(other.listTemporary())).map((t) => t.id)).toEqual(['owner.crashed'])
    await other.deleteTemporary('owner.crashed')

    expect(await multipartUploads(bucket)).toEqual([])
    expect(await rawKeys(bucket)).toEqual([])
    await expect(writer.commit('objects/crashed')).rejects.toThrow()
    expect(await driver.stat('objects/crashed')).toBeUndefined()
    await other.close()
  })

  it('lists objects page by page, and every unfinished upload', async () => {
    const paged = new S3StorageDriver({ ...connection(bucket), listPageSize: 2 })
    const keys = ['blobs/a1', 'blobs/a2', 'blobs/a3', 'blobs/a4', 'blobs/a5']
    for (const key of keys) {
      const writer = await paged.createWriter()
      await pipeline(Readable.from([Buffer.from(key)]), writer.stream)
      await writer.commit(key)
    }
    // Three uploads never completed (moto answers them in one page whatever the page size; S3 pages them).
    const ids = ['owner.u1', 'owner.u2', 'owner.u3']
    for (const id of ids) {
      const upload = await moto!.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `store/_uploads/${id}` }))
      expect(upload.UploadId).toBeDefined()
    }

    expect((await collect(paged.list('blobs/'))).sort()).toEqual(keys)
    expect((await collect(paged.listTemporary())).map((t) => t.id).sort()).toEqual(ids)
    for (const id of ids) await paged.deleteTemporary(id)
    expect(await multipartUploads(bucket)).toEqual([])
    await paged.close()
  })

  it('reports a bucket that does not exist as unhealthy, naming the problem', async () => {
    const missing = new S3StorageDriver(connection('no-such-bucket-here'))
    await expect(missing.checkHealth()).rejects.toThrow(/bucket/i)
    await missing.close()
  })

  function connection(name: string) {
    return {
      bucket: name,
      prefix: 'store',
      endpoint: moto!.endpoint,
      forcePathStyle: true,
      credentials: TEST_CREDENTIALS,
      partSizeBytes: 5 * MiB,
      maxConcurrentParts: 2,
    }
  }

  async function rawKeys(name: string): Promise<string[]> {
    const page = await moto!.client.send(new ListObjectsV2Command({ Bucket: name }))
    return (page.Contents ?? []).map((o) => o.Key!).sort()
  }

  async function multipartUploads(name: string): Promise<string[]> {
    const page = await moto!.client.send(new ListMultipartUploadsCommand({ Bucket: name }))
    return (page.Uploads ?? []).map((u) => u.Key!)
  }
})

function* chunksOf(content: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < content.length; offset += size) yield content.subarray(offset, offset + size)
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex')
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}
