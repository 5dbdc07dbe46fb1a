import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import type { Readable } from 'node:stream'
import type { AppendState } from '../storage-driver.js'
import { objectExists } from './s3-client.js'
import type { S3Copier } from './s3-copier.js'

/** S3's smallest part, except the last one of an upload. */
export const MIN_PART_BYTES = 5 * 1024 * 1024
/** S3's limit on the parts of one multipart upload. */
const MAX_PARTS = 10_000

/** A part of the multipart upload, as the completion must name it. */
interface AppendedPart {
  readonly number: number
  readonly etag: string
  readonly crc32?: string | undefined
  readonly size: number
}

/** Bytes that were too few for a part: an object of their own, `<temporary key>/piece-<offset>`. */
interface Piece {
  readonly offset: number
  readonly size: number
}

/** What the caller keeps between appends (as JSON): the upload's id, its parts, and the pieces waiting to become a part. */
interface S3AppendState {
  readonly uploadId?: string | undefined
  readonly parts: readonly AppendedPart[]
  readonly pieces: readonly Piece[]
}

export interface S3AppenderTarget {
  readonly client: S3Client
  readonly bucket: string
  readonly partSizeBytes: number
  readonly copier: S3Copier
}

/**
 * Appendable objects on S3 (see `StorageDriver.append`): the bytes go into one multipart upload
 * at the temporary key, whose id and parts the caller keeps, so an append or the completion can
 * run on any node. S3 wants every part but the last to hold at least 5 MiB; appends deliver
 * whatever the client sent, so:
 * - an append that, with the pieces waiting, brings fewer than 5 MiB is stored as one more small
 *   object (a *piece*) beside the upload, and no byte of it is read back yet;
 * - an append that reaches 5 MiB reads the waiting pieces back once, in order, and sends them with
 *   its own bytes as parts of `partSizeBytes`; a remainder of 5 MiB or more is a part too, a
 *   smaller one is a new piece;
 * - at completion the waiting pieces are the last part (or, when no part was ever sent, the whole
 *   object is written in one PUT from them: it is smaller than 5 MiB).
 * So bytes of large chunks are written once; bytes of chunks under 5 MiB are written as a piece,
 * then read once and written as part of a part. Consumed pieces stay until the completion (or the
 * sweep) removes every object under the temporary key. Memory: one part while it is sent.
 */
export class S3Appender {
  constructor(private readonly target: S3AppenderTarget) {}

  async append(tempKey: string, stateText: AppendState | undefined, offset: number, source: Readable): Promise<AppendState> {
    const state = parseState(stateText)
    const waiting = sum(state.pieces)
    const iterator = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
    try {
      // The head of the chunk decides: does it, with the waiting pieces, make a part?
      const head: Buffer[] = []
      let headBytes = 0
      let isEnded = false
      while (waiting + headBytes < MIN_PART_BYTES) {
        const next = await iterator.next()
        if (next.done) {
          isEnded = true
          break
        }
        head.push(next.value)
        headBytes += next.value.length
      }
      if (isEnded) {
        if (headBytes === 0) return stateText ?? serialize(state)
        await this.putPiece(tempKey, offset, Buffer.concat(head, headBytes))
        return serialize({ ...state, pieces: [...state.pieces, { offset, size: headBytes }] })
      }
      const parts = new PartSender(this, tempKey, state)
      for (const piece of state.pieces) {
        for await (const chunk of await this.readPiece(tempKey, piece)) await parts.add(chunk as Buffer)
      }
      for (const chunk of head) await parts.add(chunk)
      let appended = headBytes
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        appended += next.value.length
        await parts.add(next.value)
      }
      const rest = parts.rest()
      let pieces: Piece[] = []
      if (rest.length >= MIN_PART_BYTES) {
        await parts.send(rest)
      } else if (rest.length > 0) {
        const pieceOffset = offset + appended - rest.length
        await this.putPiece(tempKey, pieceOffset, rest)
        pieces = [{ offset: pieceOffset, size: rest.length }]
      }
      return serialize({ uploadId: parts.uploadId, parts: parts.parts, pieces })
    } finally {
      await iterator.return?.()
    }
  }

  /** Assembles the first `size` bytes and copies them to `objectKey` (unless an object is there). Leaves the temporary objects to the caller. */
  async commit(tempKey: string, stateText: AppendState | undefined, size: number, objectKey: string): Promise<void> {
    const state = parseState(stateText)
    const { client, bucket } = this.target
    const stored = state.parts.reduce((total, p) => total + p.size, 0) + sum(state.pieces)
    if (stored !== size) throw new Error(`appendable object ${tempKey} holds ${stored} bytes, not the ${size} to commit`)
    if (state.uploadId === undefined) {
      // Never reached a part: fewer than 5 MiB, written in one PUT.
      if (await objectExists(client, bucket, objectKey)) return
      const body = await this.readPieces(tempKey, state.pieces)
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: body, ContentLength: body.length }))
      return
    }
    const sender = new PartSender(this, tempKey, state)
    if (state.pieces.length > 0) await sender.send(await this.readPieces(tempKey, state.pieces))
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: tempKey,
        UploadId: state.uploadId,
        MultipartUpload: {
          Parts: sender.parts.map((p) => ({ PartNumber: p.number, ETag: p.etag, ...(p.crc32 ? { ChecksumCRC32: p.crc32 } : {}) })),
        },
      }),
    )
    const assembled = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: tempKey }))
    if (assembled.ContentLength !== size) throw new Error(`the store assembled ${String(assembled.ContentLength)} bytes of an upload of ${size}`)
    await this.target.copier.copyUnlessExists(tempKey, objectKey, size)
  }

  async createUpload(tempKey: string): Promise<string> {
    const { client, bucket } = this.target
    // As the writer does: with the SDK's default checksums, each part carries a CRC32 the store checks.
    const isChecksummed = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED'
    const created = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: tempKey, ...(isChecksummed ? { ChecksumAlgorithm: 'CRC32' } : {}) }),
    )
    if (!created.UploadId) throw new Error('the store started a multipart upload without an id')
    return created.UploadId
  }

  async uploadPart(tempKey: string, uploadId: string, number: number, body: Buffer): Promise<AppendedPart> {
    if (number > MAX_PARTS) throw new Error(`the upload is larger than ${MAX_PARTS} parts; raise blobstore.s3.partSizeBytes`)
    const { client, bucket } = this.target
    const result = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: tempKey, UploadId: uploadId, PartNumber: number, Body: body, ContentLength: body.length }),
    )
    if (!result.ETag) throw new Error(`the store did not acknowledge part ${number} with an ETag`)
    return { number, etag: result.ETag, crc32: result.ChecksumCRC32, size: body.length }
  }

  get partSizeBytes(): number {
    return Math.max(MIN_PART_BYTES, this.target.partSizeBytes)
  }

  private async putPiece(tempKey: string, offset: number, body: Buffer): Promise<void> {
    const { client, bucket } = this.target
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: pieceKey(tempKey, offset), Body: body, ContentLength: body.length }))
  }

  private async readPiece(tempKey: string, piece: Piece): Promise<Readable> {
    const { client, bucket } = this.target
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: pieceKey(tempKey, piece.offset) }))
    if (got.ContentLength !== piece.size) throw new Error(`piece ${piece.offset} of ${tempKey} holds ${String(got.ContentLength)} bytes, not ${piece.size}`)
    return got.Body as Readable
  }

  /** The waiting pieces, together: fewer than 5 MiB by construction. */
  private async readPieces(tempKey: string, pieces: readonly Piece[]): Promise<Buffer> {
    const buffers: Buffer[] = []
    for (const piece of pieces) for await (const chunk of await this.readPiece(tempKey, piece)) buffers.push(chunk as Buffer)
    return Buffer.concat(buffers)
  }
}

/** Gathers bytes into parts of the appender's part size and sends each one as it fills. */
class PartSender {
  readonly parts: AppendedPart[]
  uploadId: string | undefined
  private buffers: Buffer[] = []
  private bytes = 0

  constructor(
    private readonly appender: S3Appender,
    private readonly tempKey: string,
    state: S3AppendState,
  ) {
    this.parts = [...state.parts]
    this.uploadId = state.uploadId
  }

  async add(chunk: Buffer): Promise<void> {
    this.buffers.push(chunk)
    this.bytes += chunk.length
    const partSize = this.appender.partSizeBytes
    while (this.bytes >= partSize) {
      const all = Buffer.concat(this.buffers, this.bytes)
      await this.send(all.subarray(0, partSize))
      this.buffers = all.length > partSize ? [all.subarray(partSize)] : []
      this.bytes = all.length - partSize
    }
  }

  /** The bytes not sent yet (fewer than a part). */
  rest(): Buffer {
    const rest = Buffer.concat(this.buffers, this.bytes)
    this.buffers = []
    this.bytes = 0
    return rest
  }

  async send(body: Buffer): Promise<void> {
    this.uploadId ??= await this.appender.createUpload(this.tempKey)
    this.parts.push(await this.appender.uploadPart(this.tempKey, this.uploadId, this.parts.length + 1, body))
  }
}

export function pieceKey(tempKey: string, offset: number): string {
  return `${tempKey}/piece-${offset}`
}

function sum(pieces: readonly Piece[]): number {
  return pieces.reduce((total, p) => total + p.size, 0)
}

function parseState(text: AppendState | undefined): S3AppendState {
  if (text === undefined || text === '') return { parts: [], pieces: [] }
  const parsed = JSON.parse(text) as S3AppendState
  return { uploadId: parsed.uploadId, parts: parsed.parts ?? [], pieces: parsed.pieces ?? [] }
}

function serialize(state: S3AppendState): AppendState {
  return JSON.stringify(state)
}
