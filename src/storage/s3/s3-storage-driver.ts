import { randomUUID } from 'node:crypto'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import {
  PathNotFoundError,
  TEMPORARY_PREFIX,
  assertNotTemporary,
  assertStorageKey,
  assertTemporaryId,
  type AppendState,
  type ByteRange,
  type DownloadUrlOptions,
  type StorageDriver,
  type StorageStat,
  type StorageWriter,
  type TemporaryObject,
  type WriterOptions,
} from '../storage-driver.js'
import { abortMultipartUpload, createS3Client, isMissingKey, type S3ConnectionOptions } from './s3-client.js'
import { S3Copier, SINGLE_COPY_LIMIT } from './s3-copier.js'
import { S3Appender } from './s3-appender.js'
import { PartBufferPool, S3Writer } from './s3-writer.js'

export interface S3StorageOptions extends S3ConnectionOptions {
  readonly bucket: string
  /** Keys are stored under `<prefix>/`; empty for the bucket's root. */
  readonly prefix: string
  /** Size of the parts uploads are cut into (S3: at least 5 MiB); memory per upload is about (maxConcurrentParts + 1) parts. */
  readonly partSizeBytes: number
  /** Parts of one upload sent at once. */
  readonly maxConcurrentParts: number
  /** Objects above this are copied part by part (S3's CopyObject limit); only tests lower it. */
  readonly singleCopyLimitBytes?: number
  /** Keys per listing page (S3: at most 1,000, the default); only tests lower it. */
  readonly listPageSize?: number
}

/** A readiness probe must answer quickly, even while the SDK would still be retrying. */
const HEALTH_TIMEOUT_MS = 5_000

/**
 * Stores each key as an object in one bucket, under an optional prefix. Writes go to
 * `<prefix>/_uploads/<id>` (see {@link S3Writer}) and are made visible by a server-side copy to
 * the real key once complete; reads stream with `Range`. Every request goes through the SDK's
 * retry strategy (throttling, 5xx, reset connections, with backoff); a download that breaks after
 * its first byte is not resumed but fails, and never ends short: see {@link read}.
 */
export class S3StorageDriver implements StorageDriver {
  readonly name = 's3'
  readonly client: S3Client
  private readonly bucket: string
  private readonly root: string
  private readonly buffers: PartBufferPool
  private readonly copier: S3Copier
  private readonly appender: S3Appender

  constructor(private readonly options: S3StorageOptions) {
    this.client = createS3Client(options)
    this.bucket = options.bucket
    this.root = options.prefix === '' ? '' : `${options.prefix}/`
    // Enough for one upload at full speed; concurrent uploads allocate more, and let it go when done.
    this.buffers = new PartBufferPool(options.partSizeBytes, options.maxConcurrentParts + 1)
    this.copier = new S3Copier(this.client, this.bucket, options.maxConcurrentParts, options.singleCopyLimitBytes ?? SINGLE_COPY_LIMIT)
    this.appender = new S3Appender({ client: this.client, bucket: this.bucket, partSizeBytes: options.partSizeBytes, copier: this.copier })
  }

  /** `s3://bucket/prefix`, for logs and the storage summary. */
  get location(): string {
    return `s3://${this.bucket}/${this.options.prefix}`
  }

  async createWriter(id: string = randomUUID(), options: WriterOptions = {}): Promise<StorageWriter> {
    assertTemporaryId(id)
    return new S3Writer({
      client: this.client,
      bucket: this.bucket,
      tempKey: this.temporaryKey(id),
      directKey: options.key === undefined ? undefined : this.objectKey(options.key),
      objectKey: (key) => this.objectKey(key),
      partSizeBytes: this.options.partSizeBytes,
      maxConcurrentParts: this.options.maxConcurrentParts,
      buffers: this.buffers,
      copier: this.copier,
    })
  }

  /** Parts of one multipart upload, its id kept in the caller's state; see {@link S3Appender} for chunks under 5 MiB. */
  async append(id: string, state: AppendState | undefined, offset: number, source: Readable): Promise<AppendState> {
    assertTemporaryId(id)
    return this.appender.append(this.temporaryKey(id), state, offset, source)
  }

  async commitAppended(id: string, state: AppendState | undefined, size: number, key: string): Promise<void> {
    assertTemporaryId(id)
    await this.appender.commit(this.temporaryKey(id), state, size, this.objectKey(key))
    // Committed: the temporary data goes (if this fails, the sweep finds it without a session and removes it).
    await this.deleteTemporary(id).catch(() => {})
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const objectKey = this.objectKey(key)
    let body: Readable
    let length: number | undefined
    try {
      const got = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      )
      body = got.Body as Readable
      length = got.ContentLength
    } catch (err) {
      if (isMissingKey(err)) throw new PathNotFoundError(key)
      throw err
    }
    // A connection that ends cleanly but early must not pass for the whole object.
    const checked = new LengthCheck(length, key)
    pipeline(body, checked).catch(() => {
      // The error reaches the reader through `checked`, which pipeline() destroys with it.
    })
    return checked
  }

  async stat(key: string): Promise<StorageStat | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }))
      return { size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) }
    } catch (err) {
      if (isMissingKey(err)) return undefined
      throw err
    }
  }

  async delete(key: string): Promise<void> {
    // S3's DELETE of a missing key succeeds: idempotent as the contract asks.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }))
  }

  async *list(prefix: string): AsyncIterable<string> {
    const temporary = `${this.root}${TEMPORARY_PREFIX}/`
    for await (const object of this.listObjects(`${this.root}${prefix}`)) {
      if (!object.key.startsWith(temporary)) yield object.key.slice(this.root.length)
    }
  }

  async *listTemporary(): AsyncIterable<TemporaryObject> {
    const base = `${this.root}${TEMPORARY_PREFIX}/`
    const seen = new Set<string>()
    const isNew = (id: string | undefined): id is string => {
      if (!id || seen.has(id)) return false
      seen.add(id)
      return true
    }
    // Uploads still sending parts (the store keeps their parts until they are aborted)…
    for await (const upload of this.listUploads(base)) {
      const id = upload.key.slice(base.length).split('/')[0]
      if (isNew(id)) yield { id, modifiedAt: upload.initiated }
    }
    // …and complete temporary objects (and multipart-copy markers) not yet copied and deleted.
    for await (const object of this.listObjects(base)) {
      const id = object.key.slice(base.length).split('/')[0]
      if (isNew(id)) yield { id, modifiedAt: object.modifiedAt }
    }
  }

  async deleteTemporary(id: string): Promise<void> {
    assertTemporaryId(id)
    const key = this.temporaryKey(id)
    await this.copier.abandon(key)
    for await (const upload of this.listUploads(key)) {
      if (upload.key === key) await abortMultipartUpload(this.client, this.bucket, key, upload.uploadId)
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
    // An appendable object's pieces (and a copy marker) live below its key.
    for await (const object of this.listObjects(`${key}/`)) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: object.key }))
  }

  async checkHealth(): Promise<void> {
    // Written and removed: a bucket that can be read but not written is not ready either.
    const key = this.temporaryKey(`health-${randomUUID()}`)
    const abortSignal = AbortSignal.timeout(HEALTH_TIMEOUT_MS)
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: Buffer.alloc(0) }), { abortSignal })
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal })
  }

  async downloadUrl(key: string, options: DownloadUrlOptions): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ...(options.contentType ? { ResponseContentType: options.contentType } : {}),
      ...(options.filename ? { ResponseContentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(options.filename)}` } : {}),
    })
    return getSignedUrl(this.client, command, { expiresIn: options.expiresInSecs })
  }

  async close(): Promise<void> {
    this.client.destroy()
  }

  private objectKey(key: string): string {
    assertStorageKey(key)
    assertNotTemporary(key)
    return `${this.root}${key}`
  }

  private temporaryKey(id: string): string {
    return `${this.root}${TEMPORARY_PREFIX}/${id}`
  }

  /** Every unfinished multipart upload under `prefix` (already rooted), page by page. */
  private async *listUploads(prefix: string): AsyncIterable<{ key: string; uploadId: string; initiated: Date }> {
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    do {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
          MaxUploads: this.options.listPageSize,
        }),
      )
      for (const upload of page.Uploads ?? []) {
        if (upload.Key && upload.UploadId) yield { key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated ?? new Date(0) }
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined
    } while (keyMarker !== undefined)
  }

  /** Every object under `prefix` (already rooted), page by page. */
  private async *listObjects(prefix: string): AsyncIterable<{ key: string; modifiedAt: Date }> {
    let token: string | undefined
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: this.options.listPageSize }),
      )
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key, modifiedAt: object.LastModified ?? new Date(0) }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token !== undefined)
  }
}

/** Passes bytes through and fails at the end if fewer or more came than the response announced. */
class LengthCheck extends Transform {
  private seen = 0

  constructor(
    private readonly expected: number | undefined,
    private readonly key: string,
  ) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length
    callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    if (this.expected !== undefined && this.seen !== this.expected) {
      callback(new Error(`the store sent ${this.seen} of the ${this.expected} bytes of ${this.key}`))
    } else {
      callback()
    }
  }
}
