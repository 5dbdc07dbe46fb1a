import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3'
import { abortMultipartUpload, isMissingKey, objectExists } from './s3-client.js'

/** CopyObject copies at most 5 GiB; larger objects are copied part by part. */
export const SINGLE_COPY_LIMIT = 5 * 1024 ** 3
const MIN_COPY_PART = 512 * 1024 ** 2
const MAX_PARTS = 10_000

/** What a multipart copy in progress leaves at `<temporary key>/copy`, so a sweep can abort it after a crash. */
export interface CopyMarker {
  readonly key: string
  readonly uploadId: string
}

/**
 * Server-side copies from a temporary key to the object's real key: the bytes never pass through
 * Trove. Above {@link SINGLE_COPY_LIMIT} (a setting only tests lower) the copy is a multipart upload
 * of ranges of the source; it is recorded in a marker object next to the source while it runs,
 * because an unfinished multipart upload at a real key is invisible to every listing but the
 * store's own, and a crash would otherwise leave its parts behind for good.
 */
export class S3Copier {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly maxConcurrentParts: number,
    private readonly singleCopyLimit = SINGLE_COPY_LIMIT,
  ) {}

  /** Copies `source` (of `size` bytes) to `target` unless an object is there already (same content: same key). */
  async copyUnlessExists(source: string, target: string, size: number): Promise<void> {
    if (await objectExists(this.client, this.bucket, target)) return
    if (size <= this.singleCopyLimit) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: target, CopySource: `${this.bucket}/${source}` }))
      return
    }
    await this.copyInParts(source, target, size)
  }

  /** Aborts the multipart copy a crashed writer left running from `source`, if any, and removes its marker. */
  async abandon(source: string): Promise<void> {
    const markerKey = copyMarkerKey(source)
    let marker: CopyMarker
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: markerKey }))
      marker = JSON.parse(await got.Body!.transformToString()) as CopyMarker
    } catch (err) {
      if (isMissingKey(err)) return
      throw err
    }
    await abortMultipartUpload(this.client, this.bucket, marker.key, marker.uploadId)
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: markerKey }))
  }

  private async copyInParts(source: string, target: string, size: number): Promise<void> {
    const partSize = Math.min(this.singleCopyLimit, Math.max(MIN_COPY_PART, Math.ceil(size / MAX_PARTS)))
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: target }))
    const uploadId = created.UploadId
    if (!uploadId) throw new Error('the store started a multipart copy without an id')
    const marker: CopyMarker = { key: target, uploadId }
    const ranges: { partNumber: number; start: number; end: number }[] = []
    for (let start = 0, partNumber = 1; start < size; start += partSize, partNumber++) {
      ranges.push({ partNumber, start, end: Math.min(start + partSize, size) - 1 })
    }
    try {
      await this.mark(source, marker)
      const parts: CompletedPart[] = []
      const worker = async () => {
        for (let range = ranges.shift(); range; range = ranges.shift()) {
          const copied = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: target,
              UploadId: uploadId,
              PartNumber: range.partNumber,
              CopySource: `${this.bucket}/${source}`,
              CopySourceRange: `bytes=${range.start}-${range.end}`,
            }),
          )
          const etag = copied.CopyPartResult?.ETag
          if (!etag) throw new Error(`the store did not acknowledge copied part ${range.partNumber}`)
          parts.push({ PartNumber: range.partNumber, ETag: etag })
        }
      }
      await Promise.all(Array.from({ length: Math.min(this.maxConcurrentParts, ranges.length) }, worker))
      parts.sort((a, b) => a.PartNumber! - b.PartNumber!)
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: target, UploadId: uploadId, MultipartUpload: { Parts: parts } }))
    } catch (err) {
      ranges.length = 0 // the other workers take no more parts
      await abortMultipartUpload(this.client, this.bucket, target, uploadId).catch(() => {})
      throw err
    } finally {
      await this.unmark(source).catch(() => {})
    }
  }

  /**
   * Records next to temporary key `source` that a multipart upload runs at a real key (a copy, or
   * a writer writing straight to its blob's key), so that {@link abandon} can abort it after a crash.
   */
  async mark(source: string, marker: CopyMarker): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: copyMarkerKey(source), Body: JSON.stringify(marker), ContentType: 'application/json' }),
    )
  }

  /** Removes the marker of {@link mark}: the upload it names is complete or aborted. */
  async unmark(source: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: copyMarkerKey(source) }))
  }
}

/** The marker of a multipart copy from temporary key `source`: listed with the temporaries, never a real key. */
export function copyMarkerKey(source: string): string {
  return `${source}/copy`
}
