import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Kysely, Transaction } from 'kysely'
import type { BlobInfo, BlobStore, Repository, RepositoryService } from '../../core/index.js'
import type { OciTables as Database, OciUploadChunkTable, OciUploadTable } from './tables.js'
import { OciError } from './errors.js'
import { chunkPath } from './layout.js'
import type { LocalRegistry } from './registry.js'

/** A resumable blob upload (distribution-spec v1.1, "Pushing a blob in chunks"). */
export interface UploadSession {
  readonly id: string
  readonly repoKey: string
  readonly image: string
  /** Bytes received so far; the next chunk starts here. */
  readonly size: number
  readonly createdBy: string
  readonly createdAt: number
  readonly updatedAt: number
}

/** An inclusive byte range from `Content-Range` (`<start>-<end>`). */
export interface ChunkRange {
  readonly start: number
  readonly end: number
}

export interface UploadOptions {
  readonly maxPerUser: number
}

/**
 * Upload sessions whose state lives in the shared stores, so that an upload survives a restart
 * and its next chunk may go to any node. The session row (offset, owner) is in the metadata store;
 * each chunk is stored as a blob of its own (hashed while it streams) and kept by an asset in the
 * image's uploads folder, so garbage collection leaves it alone and the repository's size counts
 * it. The usual push, one chunk then the closing `PUT`, thus writes its bytes once: the chunk is
 * the blob, and closing only checks its digest. Several chunks are streamed, in order, through the
 * blob store, which verifies the whole; nothing is held in memory.
 */
export class UploadSessions {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly blobs: BlobStore,
    private readonly repositories: RepositoryService,
    private readonly registry: LocalRegistry,
    private readonly options: UploadOptions,
  ) {}

  /** Opens a session. `TOOMANYREQUESTS` when the user already holds the most open sessions allowed. */
  async start(repoKey: string, image: string, user: string): Promise<UploadSession> {
    const open = await this.db
      .selectFrom('oci_uploads')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('created_by', '=', user)
      .executeTakeFirstOrThrow()
    if (Number(open.count) >= this.options.maxPerUser) {
      throw new OciError('TOOMANYREQUESTS', `'${user}' has ${Number(open.count)} unfinished uploads; finish or cancel some first`)
    }
    const now = Date.now()
    const row: OciUploadTable = { id: randomUUID(), repo_key: repoKey, image, size: 0, created_by: user, created_at: now, updated_at: now }
    await this.db.insertInto('oci_uploads').values(row).execute()
    return toSession(row)
  }

  /** The session, if it belongs to this image. `BLOB_UPLOAD_UNKNOWN` otherwise (also once completed or cancelled). */
  async get(id: string, repoKey: string, image: string): Promise<UploadSession> {
    const row = await this.db.selectFrom('oci_uploads').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row || row.repo_key !== repoKey || row.image !== image) {
      throw new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is not in progress for this image`, { detail: { uuid: id } })
    }
    return toSession(row)
  }

  /**
   * Appends a chunk. It must start where the session ends (`416` otherwise) and, with a range,
   * carry exactly the range's bytes (`SIZE_INVALID`). The chunk is durable once this resolves; a
   * chunk cut off mid-stream is discarded and the session stays where it was.
   */
  async append(repository: Repository, session: UploadSession, body: Readable, range: ChunkRange | undefined, user: string): Promise<UploadSession> {
    if (range && range.start !== session.size) throw outOfOrder(session, range)
    const expected = range ? { size: range.end - range.start + 1 } : undefined
    const blob = await this.blobs.put(body, { expected }).catch((err: unknown) => {
      throw sizeError(err, range) ?? err
    })
    if (blob.size === 0) return this.touch(session)
    const path = chunkPath(session.image, session.id, session.size)
    const now = Date.now()
    await this.registry.addChunk(repository, path, blob, user, async (trx) => {
      // Only the writer that still sees the offset it started from wins; a racing chunk loses here, and its asset with it.
      const updated = await trx
        .updateTable('oci_uploads')
        .set({ size: session.size + blob.size, updated_at: now })
        .where('id', '=', session.id)
        .where('size', '=', session.size)
        .executeTakeFirst()
      if (Number(updated.numUpdatedRows) !== 1) throw await this.raced(trx, session)
      await trx
        .insertInto('oci_upload_chunks')
        .values({ upload_id: session.id, start_offset: session.size, size: blob.size, sha256: blob.sha256, path })
        .execute()
    })
    return { ...session, size: session.size + blob.size, updatedAt: now }
  }

  /**
   * Completes the session with the blob of digest `hex`: its only chunk if that is the blob (no
   * bytes move), else its chunks and then `finalChunk` streamed through the blob store, which
   * verifies the digest. On success the blob is in the image's uploads folder and the session and
   * its chunks are gone; on a mismatch (`DIGEST_INVALID`) nothing is stored and the session stays.
   */
  async complete(
    repository: Repository,
    session: UploadSession,
    hex: string,
    finalChunk: Readable | undefined,
    range: ChunkRange | undefined,
    user: string,
  ): Promise<void> {
    if (range && range.start !== session.size) throw outOfOrder(session, range)
    const chunks = await this.chunksOf(session.id)
    let offset = 0
    for (const chunk of chunks) {
      if (chunk.start_offset !== offset) throw new Error(`upload ${session.id} has a gap at byte ${offset}`)
      offset += chunk.size
    }
    let blob: BlobInfo | { readonly sha256: string }
    if (chunks.length === 1 && !finalChunk) {
      // The chunk was hashed as it arrived: it is the blob, or the client's digest is wrong.
      if (chunks[0]!.sha256 !== hex) {
        throw new OciError('DIGEST_INVALID', `sha256 checksum mismatch: the client declared sha256:${hex} but the content is sha256:${chunks[0]!.sha256}`, {
          detail: { expected: `sha256:${hex}`, actual: `sha256:${chunks[0]!.sha256}` },
        })
      }
      blob = { sha256: hex }
    } else {
      const blobs = this.blobs
      const finalSize = range ? range.end - range.start + 1 : undefined
      async function* bytes(): AsyncGenerator<Buffer> {
        for (const chunk of chunks) yield* (await blobs.open(chunk.sha256)) as AsyncIterable<Buffer>
        if (finalChunk) yield* finalChunk as AsyncIterable<Buffer>
      }
      const size = finalSize === undefined ? undefined : offset + finalSize
      blob = await this.blobs.put(chunks.length === 0 && finalChunk ? finalChunk : Readable.from(bytes()), { expected: { sha256: hex, size } }).catch((err: unknown) => {
        throw sizeError(err, range) ?? err
      })
    }
    await this.registry.addBlob(repository, session.image, blob, user, {
      removeFiles: chunks.map((c) => c.path),
      alongside: (trx) => this.deleteRow(trx, session.id),
    })
  }

  /** Cancels a session: its row and its chunks' assets go (the chunks' blobs are left to garbage collection). */
  async cancel(repository: Repository, session: UploadSession, user: string): Promise<void> {
    const chunks = await this.chunksOf(session.id)
    await this.registry.removeFiles(repository, chunks.map((c) => c.path), user, (trx) => this.deleteRow(trx, session.id))
  }

  /** Cancels the sessions untouched for `olderThanMs` (abandoned uploads); returns how many. */
  async sweep(olderThanMs: number): Promise<{ sessions: number }> {
    const stale = await this.db.selectFrom('oci_uploads').selectAll().where('updated_at', '<', Date.now() - olderThanMs).execute()
    for (const row of stale) {
      const repository = await this.repositories.get(row.repo_key)
      if (repository) await this.cancel(repository, toSession(row), 'system')
      else await this.db.deleteFrom('oci_uploads').where('id', '=', row.id).execute()
    }
    return { sessions: stale.length }
  }

  private chunksOf(id: string): Promise<OciUploadChunkTable[]> {
    return this.db.selectFrom('oci_upload_chunks').selectAll().where('upload_id', '=', id).orderBy('start_offset').execute()
  }

  private async deleteRow(trx: Transaction<Database>, id: string): Promise<void> {
    // Chunk rows go with it (foreign key cascade), explicitly so on every engine.
    await trx.deleteFrom('oci_upload_chunks').where('upload_id', '=', id).execute()
    await trx.deleteFrom('oci_uploads').where('id', '=', id).execute()
  }

  private async touch(session: UploadSession): Promise<UploadSession> {
    const now = Date.now()
    await this.db.updateTable('oci_uploads').set({ updated_at: now }).where('id', '=', session.id).execute()
    return { ...session, updatedAt: now }
  }

  /** Why a chunk lost its race: the session is gone, or another chunk moved its offset. */
  private async raced(trx: Transaction<Database>, session: UploadSession): Promise<OciError> {
    const row = await trx.selectFrom('oci_uploads').selectAll().where('id', '=', session.id).executeTakeFirst()
    if (!row) return new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${session.id} was completed or cancelled meanwhile`)
    return outOfOrder(toSession(row), { start: session.size, end: session.size })
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

function outOfOrder(session: UploadSession, range: ChunkRange): OciError {
  return new OciError('BLOB_UPLOAD_INVALID', `the chunk starts at byte ${range.start} but upload ${session.id} has ${session.size} bytes`, {
    status: 416,
    detail: { uploaded: session.size },
    headers: { range: progressRange(session.size), 'docker-upload-uuid': session.id },
  })
}

/** A size mismatch of the blob store, told in terms of the chunk's Content-Range. */
function sizeError(err: unknown, range: ChunkRange | undefined): OciError | undefined {
  if (!range || (err as { code?: unknown }).code !== 'SIZE_INVALID') return undefined
  const actual = (err as { details?: { actual?: number; expected?: number } }).details
  return new OciError('SIZE_INVALID', `Content-Range ${range.start}-${range.end} announces ${range.end - range.start + 1} bytes but the chunk differs (${(err as Error).message})`, {
    detail: actual,
  })
}

function toSession(row: OciUploadTable): UploadSession {
  return {
    id: row.id,
    repoKey: row.repo_key,
    image: row.image,
    size: Number(row.size),
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
