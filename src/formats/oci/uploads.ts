import type { Readable } from 'node:stream'
import { type Repository, TroveError, type UploadService, type UploadSession } from '../../core/index.js'
import { OciError } from './errors.js'
import type { LocalRegistry } from './registry.js'

export type { UploadSession } from '../../core/index.js'

/** An inclusive byte range from `Content-Range` (`<start>-<end>`). */
export interface ChunkRange {
  readonly start: number
  readonly end: number
}

export interface UploadOptions {
  readonly maxPerUser: number
}

/**
 * Blob uploads of the distribution specification (v1.1, "Pushing a blob in chunks") over the
 * core's resumable uploads (core/uploads/upload-service.ts): a session is a core upload session
 * whose subject is the image, its chunks are appended to one temporary object in the blob store
 * with the hash state kept in the metadata store, so the next chunk may go to any node, and the
 * closing `PUT` checks the digest and records the blob in the image's uploads folder without
 * reading it again. This module only speaks the protocol: its ranges, headers and error codes.
 */
export class UploadSessions {
  constructor(
    private readonly uploads: UploadService,
    private readonly registry: LocalRegistry,
    private readonly options: UploadOptions,
  ) {}

  /** Opens a session. `TOOMANYREQUESTS` when the user already holds the most open sessions allowed. */
  async start(repository: Repository, image: string, user: string): Promise<UploadSession> {
    return this.uploads.start(repository, image, user, { maxOpenPerUser: this.options.maxPerUser }).catch((err: unknown) => {
      throw translated(err, undefined)
    })
  }

  /** The session, if it belongs to this image. `BLOB_UPLOAD_UNKNOWN` otherwise (also once completed or cancelled). */
  async get(id: string, repoKey: string, image: string): Promise<UploadSession> {
    const session = await this.uploads.get(id)
    if (!session || session.repoKey !== repoKey || session.subject !== image) throw unknownUpload(id)
    return session
  }

  /**
   * Appends a chunk. It must start where the session ends (`416` otherwise) and, with a range,
   * carry exactly the range's bytes (`SIZE_INVALID`). The chunk is durable once this resolves; a
   * chunk cut off mid-stream is discarded and the session stays where it was.
   */
  async append(repository: Repository, session: UploadSession, body: Readable, range: ChunkRange | undefined, declaredSize: number | undefined): Promise<UploadSession> {
    return this.uploads.append(repository, session, body, chunkOf(range, declaredSize)).catch((err: unknown) => {
      throw translated(err, session, range)
    })
  }

  /**
   * Completes the session with the blob of digest `hex` (after `finalChunk`, if any): on success
   * the blob is in the image's uploads folder and the session is gone; on a mismatch
   * (`DIGEST_INVALID`) nothing is stored and the session stays as it was before the final chunk.
   */
  async complete(
    repository: Repository,
    session: UploadSession,
    hex: string,
    finalChunk: Readable | undefined,
    range: ChunkRange | undefined,
    declaredSize: number | undefined,
    user: string,
  ): Promise<void> {
    await this.uploads
      .complete(repository, session, hex, finalChunk, chunkOf(range, declaredSize), (blob) => this.registry.addBlob(repository, session.subject, blob, user, session.id))
      .catch((err: unknown) => {
        throw translated(err, session, range)
      })
  }

  /** Cancels a session: its bytes are removed and stop counting against the quota. */
  async cancel(repository: Repository, session: UploadSession): Promise<void> {
    await this.uploads.cancel(repository, session)
  }
}

/** Parses `Content-Range` of an upload chunk: `<start>-<end>`, tolerating a `bytes ` prefix and a `/<total>` suffix. */
export function parseChunkRange(header: string | undefined): ChunkRange | undefined {
  if (header === undefined || header.trim() === '') return undefined
  const match = /^\s*(?:bytes[ =])?\s*(\d+)-(\d+)(?:\/(?:\d+|\*))?\s*$/i.exec(header)
  if (!match) throw new OciError('BLOB_UPLOAD_INVALID', `invalid Content-Range '${header}': expected <start>-<end>`)
  const start = Number(match[1])
  const end = Number(match[2])
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
    throw new OciError('BLOB_UPLOAD_INVALID', `invalid Content-Range '${header}': the end is before the start`)
  }
  return { start, end }
}

/** `Range: 0-<last byte>`, as upload responses report progress (`0-0` before the first byte, as the reference registry does). */
export function progressRange(size: number): string {
  return `0-${Math.max(0, size - 1)}`
}

function chunkOf(range: ChunkRange | undefined, declaredSize: number | undefined) {
  return { start: range?.start, size: range ? range.end - range.start + 1 : undefined, declaredSize }
}

function unknownUpload(id: string): OciError {
  return new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is not in progress for this image`, { detail: { uuid: id } })
}

/** The core's upload errors in the protocol's terms. */
function translated(err: unknown, session: UploadSession | undefined, range?: ChunkRange): unknown {
  if (!(err instanceof TroveError)) return err
  switch (err.code) {
    case 'TOO_MANY_REQUESTS':
      return new OciError('TOOMANYREQUESTS', err.message)
    case 'NOT_FOUND':
      return session ? unknownUpload(session.id) : err
    case 'RANGE_NOT_SATISFIABLE': {
      const size = Number(err.details?.size ?? session?.size ?? 0)
      return new OciError('BLOB_UPLOAD_INVALID', err.message, {
        status: 416,
        detail: { uploaded: size },
        headers: { range: progressRange(size), ...(session ? { 'docker-upload-uuid': session.id } : {}) },
      })
    }
    case 'SIZE_INVALID':
      if (!range) return err
      return new OciError('SIZE_INVALID', `Content-Range ${range.start}-${range.end} announces ${range.end - range.start + 1} bytes but the chunk differs (${err.message})`, {
        detail: err.details,
      })
    case 'DIGEST_INVALID':
      return new OciError('DIGEST_INVALID', err.message, {
        detail: err.details?.expected ? { expected: `sha256:${String(err.details.expected)}`, actual: `sha256:${String(err.details.actual)}` } : err.details,
      })
    default:
      return err
  }
}
