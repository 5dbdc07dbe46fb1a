import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3'
import { Writable } from 'node:stream'
import { assertNotTemporary, assertStorageKey, type StorageWriter } from '../storage-driver.js'
import { abortMultipartUpload, objectExists } from './s3-client.js'
import type { S3Copier } from './s3-copier.js'

/** S3's limit on the parts of one multipart upload. */
const MAX_PARTS = 10_000
/** Up to this many bytes, an object's first bytes are kept as the chunks that came. */
const LIST_LIMIT = 1024 * 1024

/** Where one writer's bytes go and how they are cut. */
export interface S3WriterTarget {
  readonly client: S3Client
  readonly bucket: string
  /** The temporary object's key (already prefixed). */
  readonly tempKey: string
  /**
   * Set: the object key the writer will be committed to (see `WriterOptions.key`). The bytes then
   * go there directly, as a multipart upload completed (or a single PUT sent) only by
   * {@link S3Writer.commit}: no copy, and nothing visible before the commit.
   */
  readonly directKey?: string | undefined
  /** The object key of a storage key (adds the store's prefix). */
  objectKey(key: string): string
  readonly partSizeBytes: number
  readonly maxConcurrentParts: number
  readonly buffers: PartBufferPool
  readonly copier: S3Copier
}

/**
 * Reuses part buffers across writers: a 1 GiB upload cut into 8 MiB parts would otherwise allocate
 * 128 of them, and freeing those is left to V8's full collections, which RSS shows.
 */
export class PartBufferPool {
  private readonly free: Buffer[] = []

  constructor(
    readonly partSize: number,
    private readonly maxKept: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.partSize)
  }

  give(buffer: Buffer): void {
    if (this.free.length < this.maxKept) this.free.push(buffer)
  }
}

type State = 'writing' | 'committed' | 'aborted'

/**
 * Streams one object to a temporary key with bounded memory: bytes gather into a part of
 * `partSizeBytes`; a full part is uploaded while the next fills, and once `maxConcurrentParts`
 * parts are in flight the stream stops accepting bytes (backpressure) until one is done. So a
 * writer holds at most (maxConcurrentParts + 1) parts, whatever the object's size. An object that
 * fits one part is stored with a single PUT instead. Nothing is visible at a real key until
 * {@link commit} copies it there; {@link abort} removes every trace (parts, upload, object).
 *
 * When the key is known in advance (`directKey`), the parts are uploaded under it instead, and a
 * marker beside the temporary key names the upload so that a sweep aborts it after a crash (see
 * S3Copier.mark); {@link commit} completes it (or sends the single PUT) only then, after the
 * caller verified the bytes: the bytes move once, and a failed or aborted write leaves nothing.
 */
export class S3Writer implements StorageWriter {
  readonly stream: Writable
  /** Before the first part is full: the chunks so far (small objects never take a part buffer). */
  private chunks: Buffer[] = []
  private chunkBytes = 0
  private part: Buffer | undefined
  private partFilled = 0
  private isMultipart = false
  private uploadId: Promise<string> | undefined
  private readonly inFlight = new Set<Promise<void>>()
  private readonly parts: CompletedPart[] = []
  private nextPartNumber = 1
  private bytesWritten = 0
  /** Bytes of the parts the store acknowledged. */
  private partBytes = 0
  /** Whether an object may exist at the temporary key (a PUT or a completion was sent). */
  private mayHaveObject = false
  /** The first part that failed; every later write and the completion fail with it. */
  private failure: unknown
  private state: State = 'writing'
  private aborting: Promise<void> | undefined

  constructor(private readonly target: S3WriterTarget) {
    this.stream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.bytesWritten += chunk.length
        this.append(chunk).then(() => callback(), callback)
      },
      final: (callback) => {
        this.finish().then(() => callback(), callback)
      },
    })
  }

  async commit(key: string): Promise<void> {
    assertStorageKey(key)
    assertNotTemporary(key)
    if (this.state !== 'writing') throw new Error('writer already committed or aborted')
    if (!this.stream.writableFinished) throw new Error('commit before every byte was written')
    this.state = 'committed'
    const { client, bucket, tempKey, directKey } = this.target
    if (directKey !== undefined) return this.commitDirect(key, directKey)
    try {
      // The store must hold every byte written before anything becomes visible. A single PUT's
      // length (and checksum) the store checked itself; the parts of a multipart upload it only
      // assembles, so their sum is checked here.
      if (this.isMultipart) {
        const stored = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: tempKey }))
        if (stored.ContentLength !== this.bytesWritten) {
          throw new Error(`the store holds ${String(stored.ContentLength)} bytes of an upload of ${this.bytesWritten}`)
        }
      }
      await this.target.copier.copyUnlessExists(tempKey, this.target.objectKey(key), this.bytesWritten)
    } finally {
      // Committed or failed, the temporary object goes. If deleting it fails the sweep finds it
      // later: this writer is no longer live, so its temporary data counts as abandoned.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: tempKey })).catch(() => {})
    }
  }

  /** Completes the upload (or sends the single PUT) at the key it was written to, unless an object is there already. */
  private async commitDirect(key: string, directKey: string): Promise<void> {
    const { client, bucket, tempKey } = this.target
    try {
      if (this.target.objectKey(key) !== directKey) throw new Error(`the writer was written for ${directKey}, not ${key}`)
      // Content-addressed: an object there holds these bytes already, and is kept as it is.
      if (await objectExists(client, bucket, directKey)) {
        await this.discard()
        return
      }
      if (!this.isMultipart) {
        const body = this.part ? this.part.subarray(0, this.partFilled) : Buffer.concat(this.chunks, this.chunkBytes)
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: directKey, Body: body, ContentLength: body.length }))
        return
      }
      // The store assembles the parts without knowing the whole: their sum is checked before anything is visible.
      if (this.partBytes !== this.bytesWritten) throw new Error(`the store acknowledged ${this.partBytes} bytes of an upload of ${this.bytesWritten}`)
      const parts = [...this.parts].sort((a, b) => a.PartNumber! - b.PartNumber!)
      await client.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: directKey, UploadId: await this.uploadId!, MultipartUpload: { Parts: parts } }),
      )
      this.uploadId = undefined
      await this.target.copier.unmark(tempKey).catch(() => {})
    } catch (err) {
      await this.discard().catch(() => {})
      throw err
    } finally {
      this.releaseChunks()
    }
  }

  abort(): Promise<void> {
    if (this.state === 'committed') return Promise.resolve()
    this.state = 'aborted'
    this.aborting ??= this.discard()
    return this.aborting
  }

  private async discard(): Promise<void> {
    if (!this.stream.destroyed && !this.stream.writableFinished) this.stream.destroy()
    this.releaseChunks()
    await Promise.allSettled(this.inFlight)
    const { client, bucket, tempKey } = this.target
    const uploadId = await this.uploadId?.catch(() => undefined)
    if (uploadId !== undefined) {
      await abortMultipartUpload(client, bucket, this.uploadKey, uploadId)
      if (this.target.directKey !== undefined) await this.target.copier.unmark(tempKey)
    }
    if (this.mayHaveObject) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: tempKey }))
  }

  private async append(chunk: Buffer): Promise<void> {
    const { partSizeBytes } = this.target
    let offset = 0
    while (offset < chunk.length) {
      this.assertWriting()
      if (!this.part) {
        // Small objects gather in a list (no part buffer for a 1 KiB file); past LIST_LIMIT the
        // bytes move into a part buffer, so a large object's first part is not held twice.
        if (!this.isMultipart && this.chunkBytes + chunk.length - offset < Math.min(LIST_LIMIT, partSizeBytes)) {
          this.chunks.push(offset === 0 ? chunk : chunk.subarray(offset))
          this.chunkBytes += chunk.length - offset
          return
        }
        this.part = this.target.buffers.take()
        this.partFilled = 0
        for (const pending of this.chunks) {
          pending.copy(this.part, this.partFilled)
          this.partFilled += pending.length
        }
        this.chunks = []
        this.chunkBytes = 0
      }
      const length = Math.min(partSizeBytes - this.partFilled, chunk.length - offset)
      chunk.copy(this.part, this.partFilled, offset, offset + length)
      this.partFilled += length
      offset += length
      if (this.partFilled === partSizeBytes) {
        this.sendPart()
        // Backpressure: the write callback waits while the most parts allowed are in flight.
        while (this.inFlight.size >= this.target.maxConcurrentParts) await Promise.race(this.inFlight)
      }
    }
  }

  /** Starts uploading the current part; its buffer goes back to the pool once the request is over. */
  private sendPart(): void {
    const buffer = this.part!
    const size = this.partFilled
    this.part = undefined
    this.partFilled = 0
    this.isMultipart = true
    const partNumber = this.nextPartNumber++
    if (partNumber > MAX_PARTS) {
      this.target.buffers.give(buffer)
      throw new Error(`the object is larger than ${MAX_PARTS} parts of ${this.target.partSizeBytes} bytes; raise blobstore.s3.partSizeBytes`)
    }
    this.uploadId ??= this.createUpload()
    const task: Promise<void> = this.uploadPart(partNumber, buffer.subarray(0, size)).finally(() => {
      this.target.buffers.give(buffer)
      this.inFlight.delete(task)
    })
    task.catch((err: unknown) => {
      this.failure ??= err
    })
    this.inFlight.add(task)
  }

  private async createUpload(): Promise<string> {
    const { client, bucket, tempKey, directKey } = this.target
    // With the SDK's default (checksums when supported) each part carries a CRC32 the store checks;
    // the upload must then be declared with that algorithm, and completed with the parts' values.
    const isChecksummed = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED'
    const created = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: this.uploadKey, ...(isChecksummed ? { ChecksumAlgorithm: 'CRC32' } : {}) }),
    )
    if (!created.UploadId) throw new Error('the store started a multipart upload without an id')
    if (directKey !== undefined) {
      try {
        await this.target.copier.mark(tempKey, { key: directKey, uploadId: created.UploadId })
      } catch (err) {
        await abortMultipartUpload(client, bucket, directKey, created.UploadId).catch(() => {})
        throw err
      }
    }
    return created.UploadId
  }

  private async uploadPart(partNumber: number, body: Buffer): Promise<void> {
    const { client, bucket } = this.target
    const uploadId = await this.uploadId!
    const result = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: this.uploadKey, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }),
    )
    if (!result.ETag) throw new Error(`the store did not acknowledge part ${partNumber} with an ETag`)
    this.parts.push({ PartNumber: partNumber, ETag: result.ETag, ...(result.ChecksumCRC32 ? { ChecksumCRC32: result.ChecksumCRC32 } : {}) })
    this.partBytes += body.length
  }

  /** Where the multipart upload runs: the final key when it is known, else the temporary one. */
  private get uploadKey(): string {
    return this.target.directKey ?? this.target.tempKey
  }

  /** The stream ended: store a small object with one PUT, or send the last part and complete the upload. */
  private async finish(): Promise<void> {
    const { client, bucket, tempKey, directKey } = this.target
    if (directKey !== undefined) {
      // Writing straight to the final key: everything is sent, but only commit() makes it an object.
      if (this.isMultipart) {
        if (this.part) this.sendPart()
        while (this.inFlight.size > 0) await Promise.race(this.inFlight)
        this.assertWriting()
      }
      return
    }
    if (!this.isMultipart) {
      // One PUT: from the part buffer the bytes moved into, or from the chunks of a small object.
      const body = this.part ? this.part.subarray(0, this.partFilled) : Buffer.concat(this.chunks, this.chunkBytes)
      this.mayHaveObject = true
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: tempKey, Body: body, ContentLength: body.length }))
      } finally {
        this.releaseChunks()
      }
      return
    }
    if (this.part) this.sendPart()
    while (this.inFlight.size > 0) await Promise.race(this.inFlight)
    this.assertWriting()
    const parts = [...this.parts].sort((a, b) => a.PartNumber! - b.PartNumber!)
    this.mayHaveObject = true
    await client.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: tempKey, UploadId: await this.uploadId!, MultipartUpload: { Parts: parts } }),
    )
  }

  private assertWriting(): void {
    if (this.failure !== undefined) throw this.failure
    if (this.state === 'aborted') throw new Error('the upload was aborted')
  }

  private releaseChunks(): void {
    this.chunks = []
    this.chunkBytes = 0
    if (this.part) {
      this.target.buffers.give(this.part)
      this.part = undefined
    }
  }
}
