import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { Database, UploadSessionTable } from '../../metadata/schema.js'
import type { StorageQuota, QuotaRepository } from '../auth/quota.js'
import type { BlobInfo, BlobStore } from '../blobs/blob-store.js'
import { SESSION_DATA_PREFIX, ownerOf } from '../blobs/temporary-sweeper.js'
import { CHECKSUM_PATTERNS } from '../digest.js'
import { TroveError } from '../errors.js'
import type { Liveness } from '../system/instances.js'
import { NativeHash, UploadHash, finishedChecksums, type ChunkHash } from './upload-hash.js'

/** A resumable upload in progress. */
export interface UploadSession {
  readonly id: string
  readonly repoKey: string
  /** What the protocol uploads into (a container image's name). */
  readonly subject: string
  /** Bytes received and durable so far; the next chunk starts here. */
  readonly size: number
  readonly createdBy: string
  readonly createdAt: number
  readonly updatedAt: number
}

/** What a request tells of its chunk. */
export interface ChunkInfo {
  /** Where the chunk says it starts (`Content-Range`); must be the session's size. */
  readonly start?: number | undefined
  /** How many bytes the chunk must hold (`Content-Range`); else SIZE_INVALID and nothing is kept. */
  readonly size?: number | undefined
  /** The request's `Content-Length`, if any: refused at once when the quota has no room for it. */
  readonly declaredSize?: number | undefined
}

export interface UploadServiceDeps {
  readonly db: Kysely<Database>
  readonly blobs: BlobStore
  readonly quota?: StorageQuota | undefined
  /** This process's id (see InstanceRegistry): claims on a session are named after it. */
  readonly instanceId: string
  /** Which processes are alive: a claim of a gone one is void. */
  liveness(): Promise<Liveness>
  /** The repository of a session, for the quota of sessions swept without a request. */
  repository(key: string): Promise<QuotaRepository | undefined>
}

/** The temporary object of a session's bytes is named `upload-<session id>`: the temporary sweep asks {@link UploadService.openTemporaries} about it. */
const TEMPORARY_PREFIX = SESSION_DATA_PREFIX

/**
 * Resumable (chunked) uploads for every protocol that has them. A session's state lives in the
 * shared stores, so that each chunk may go to any node, also after a restart: its row in the
 * metadata store holds the bytes received, the saved hash state (SHA-256, SHA-1, MD5) and the blob
 * store's state of one appendable object (a temporary file, or an S3 multipart upload) to which
 * each chunk is appended as it streams. Completing hashes only the last chunk, checks the digest
 * and makes the object the blob: no byte is read again or rewritten (on S3 a server-side copy
 * gives it its key, as for every upload; see S3Appender for chunks under 5 MiB). Chunks are never
 * assets. A session's bytes count against its repository's project quota while it is open; a
 * chunk the quota has no room for is refused and not kept.
 *
 * One chunk at a time: a chunk claims the session (a row update only the first wins), so a racing
 * chunk, here or on another node, is out of order (`RANGE_NOT_SATISFIABLE`). A claim of a process
 * that has died is taken over.
 */
export class UploadService {
  constructor(private readonly deps: UploadServiceDeps) {}

  /** Opens a session. `TOO_MANY_REQUESTS` when `user` already holds `maxOpenPerUser` open sessions. */
  async start(repository: QuotaRepository, subject: string, user: string, options: { maxOpenPerUser?: number } = {}): Promise<UploadSession> {
    const { db } = this.deps
    if (options.maxOpenPerUser !== undefined) {
      const open = await db
        .selectFrom('upload_sessions')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('created_by', '=', user)
        .executeTakeFirstOrThrow()
      if (Number(open.count) >= options.maxOpenPerUser) {
        throw new TroveError('TOO_MANY_REQUESTS', `'${user}' has ${Number(open.count)} unfinished uploads; finish or cancel some first`)
      }
    }
    const now = Date.now()
    const row: UploadSessionTable = {
      id: randomUUID(),
      repo_key: repository.key,
      subject,
      size: 0,
      hash_state: '',
      storage_state: null,
      writer: null,
      created_by: user,
      created_at: now,
      updated_at: now,
    }
    // The row exists before any byte is stored: the temporary sweep never takes the data for abandoned.
    await db.insertInto('upload_sessions').values(row).execute()
    return toSession(row)
  }

  /** The session, or `undefined` (never opened, completed, cancelled or expired). */
  async get(id: string): Promise<UploadSession | undefined> {
    const row = await this.deps.db.selectFrom('upload_sessions').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toSession(row)
  }

  /**
   * Appends a chunk where the session ends (`RANGE_NOT_SATISFIABLE` otherwise, with the session's
   * `size` in the details). Durable, hashed and counted against the quota once this resolves; a
   * chunk cut off, of the wrong size (`SIZE_INVALID`) or over the quota (`QUOTA_EXCEEDED`) leaves
   * the session where it was.
   */
  async append(repository: QuotaRepository, session: UploadSession, body: Readable, chunk: ChunkInfo = {}): Promise<UploadSession> {
    if (chunk.start !== undefined && chunk.start !== session.size) throw outOfOrder(session.id, session.size, chunk.start)
    await this.deps.quota?.admit(repository, chunk.size ?? chunk.declaredSize ?? 0)
    const { token, row } = await this.claim(session)
    try {
      const hash = await this.resumeHash(row, chunk)
      const appended = await this.write(row, hash, body, chunk)
      const now = Date.now()
      await this.deps.db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('upload_sessions')
          .set({ size: row.size + appended.bytes, hash_state: hash.save(), storage_state: appended.state, writer: null, updated_at: now })
          .where('id', '=', row.id)
          .where('writer', '=', token)
          .executeTakeFirst()
        if (Number(updated.numUpdatedRows) !== 1) throw unknownUpload(row.id)
        await this.deps.quota?.charge(trx, repository, async () => 0, appended.bytes)
      })
      return { ...toSession(row), size: row.size + appended.bytes, updatedAt: now }
    } finally {
      await this.release(row.id, token)
    }
  }

  /**
   * Completes a session: appends `finalChunk` if any, checks that the whole is `sha256`
   * (`DIGEST_INVALID` otherwise, and the session stays as it was before the final chunk), makes it
   * the stored blob, and calls `record` with it. `record` records what refers to the blob, with
   * the writer's `finishUploads` so that the session ends in the same transaction and its bytes
   * stop counting; if it throws, the session is discarded (the blob, unreferenced, is left to
   * garbage collection) and the error passed on.
   */
  async complete(
    repository: QuotaRepository,
    session: UploadSession,
    sha256: string,
    finalChunk: Readable | undefined,
    chunk: ChunkInfo,
    record: (blob: BlobInfo) => Promise<void>,
  ): Promise<BlobInfo> {
    if (!CHECKSUM_PATTERNS.sha256.test(sha256)) throw new TroveError('DIGEST_INVALID', `not a sha256 digest: ${sha256}`)
    if (chunk.start !== undefined && chunk.start !== session.size) throw outOfOrder(session.id, session.size, chunk.start)
    if (finalChunk) await this.deps.quota?.admit(repository, chunk.size ?? chunk.declaredSize ?? 0)
    const { token, row } = await this.claim(session)
    let blob: BlobInfo
    try {
      if (finalChunk && row.size === 0) {
        // The whole blob in one request: stored as any blob (natively hashed, verified, written
        // once, under its key at once where the store can), not as an appendable object.
        blob = await this.deps.blobs.put(finalChunk, { expected: { sha256, size: chunk.size } })
      } else {
        blob = await this.completeAppended(row, sha256, finalChunk, chunk)
      }
    } catch (err) {
      await this.release(row.id, token)
      throw err
    }
    try {
      await record(blob)
    } finally {
      // Normally gone with the record (`finishUploads`); if not, or if recording failed, it goes now.
      await this.discard(repository, row.id)
    }
    return blob
  }

  /** Appends the final chunk, if any, to the session's object, checks the whole against `sha256`, and commits it. */
  private async completeAppended(row: UploadSessionTable, sha256: string, finalChunk: Readable | undefined, chunk: ChunkInfo): Promise<BlobInfo> {
    let checksums = finalChunk ? undefined : finishedChecksums(row.hash_state)
    let appended = { bytes: 0, state: row.storage_state ?? undefined }
    if (checksums === undefined) {
      const hash = await this.resumeHash(row, chunk)
      if (finalChunk) appended = await this.write(row, hash, finalChunk, chunk)
      checksums = hash.digest()
    }
    if (checksums.sha256 !== sha256) {
      throw new TroveError('DIGEST_INVALID', `sha256 checksum mismatch: the client declared ${sha256} but the content is ${checksums.sha256}`, {
        algorithm: 'sha256',
        expected: sha256,
        actual: checksums.sha256,
      })
    }
    const blob = { ...checksums, size: row.size + appended.bytes }
    await this.deps.blobs.commitAppended(temporaryId(row.id), appended.state, blob)
    return blob
  }

  /**
   * The hash to feed the next chunk of a session. A session's first chunk without a range is a
   * streamed upload, most likely the whole blob: hashed natively when the store can read the
   * bytes back, should another chunk follow after all (it then hashes them again, once, with a
   * resumable hash). Every other chunk resumes the saved state.
   */
  private async resumeHash(row: UploadSessionTable, chunk: ChunkInfo): Promise<ChunkHash> {
    const driver = this.deps.blobs.driver
    if (row.size === 0 && chunk.start === undefined && chunk.size === undefined && driver.readAppended) return new NativeHash()
    if (finishedChecksums(row.hash_state) === undefined) return UploadHash.resume(row.hash_state)
    if (!driver.readAppended) throw new Error(`upload ${row.id} was hashed without a state, but its bytes cannot be read back`)
    const hash = await UploadHash.resume()
    const stored = await driver.readAppended(temporaryId(row.id), row.storage_state ?? undefined, row.size)
    for await (const data of stored as AsyncIterable<Buffer>) hash.update(data)
    return hash
  }

  /** Cancels a session: its row goes, its bytes stop counting, its temporary data is removed. Idempotent. */
  async cancel(repository: QuotaRepository, session: UploadSession): Promise<void> {
    await this.discard(repository, session.id)
  }

  /**
   * Cancels the sessions untouched for `olderThanMs` (abandoned uploads), except those a chunk is
   * being appended to by a live process, on any node; returns how many went.
   */
  async sweep(olderThanMs: number): Promise<{ sessions: number }> {
    const { db } = this.deps
    const stale = await db.selectFrom('upload_sessions').selectAll().where('updated_at', '<', Date.now() - olderThanMs).execute()
    if (stale.length === 0) return { sessions: 0 }
    const isAlive = await this.deps.liveness()
    let swept = 0
    for (const row of stale) {
      const owner = row.writer === null ? undefined : ownerOf(row.writer)
      if (owner !== undefined && isAlive(owner)) continue
      const repository = await this.deps.repository(row.repo_key)
      // Only as it was seen: a chunk that claimed or moved the session since keeps it.
      if (await this.discard(repository, row.id, row)) swept++
    }
    return { sessions: swept }
  }

  /** Of the temporary ids given, those of sessions still open (their data must stay); others are not sessions' and are not returned. */
  async openTemporaries(ids: readonly string[]): Promise<ReadonlySet<string>> {
    const sessionIds = ids.filter((id) => id.startsWith(TEMPORARY_PREFIX)).map((id) => id.slice(TEMPORARY_PREFIX.length))
    if (sessionIds.length === 0) return new Set()
    const open = await this.deps.db.selectFrom('upload_sessions').select('id').where('id', 'in', sessionIds).execute()
    return new Set(open.map((r) => temporaryId(r.id)))
  }

  /** Streams `body` through the hash into the session's appendable object; checks the chunk's announced size. */
  private async write(row: UploadSessionTable, hash: ChunkHash, body: Readable, chunk: ChunkInfo): Promise<{ bytes: number; state: string | undefined }> {
    let bytes = 0
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const data of body as AsyncIterable<Buffer>) {
        hash.update(data)
        bytes += data.length
        yield data
      }
    }
    const state = await this.deps.blobs.append(temporaryId(row.id), row.storage_state ?? undefined, row.size, Readable.from(hashed()))
    if (chunk.size !== undefined && bytes !== chunk.size) {
      throw new TroveError('SIZE_INVALID', `the chunk announced ${chunk.size} bytes but held ${bytes}`, { expected: chunk.size, actual: bytes })
    }
    return { bytes, state }
  }

  /** Claims the session for one chunk, if it is where `session` says and no live process holds it. */
  private async claim(session: UploadSession): Promise<{ token: string; row: UploadSessionTable }> {
    const { db } = this.deps
    const token = `${this.deps.instanceId}.${randomUUID()}`
    const take = async (previous: string | null) => {
      const updated = await db
        .updateTable('upload_sessions')
        .set({ writer: token })
        .where('id', '=', session.id)
        .where('size', '=', session.size)
        .where('writer', previous === null ? 'is' : '=', previous)
        .executeTakeFirst()
      return Number(updated.numUpdatedRows) === 1
    }
    let isTaken = await take(null)
    if (!isTaken) {
      const row = await db.selectFrom('upload_sessions').selectAll().where('id', '=', session.id).executeTakeFirst()
      if (!row) throw unknownUpload(session.id)
      if (Number(row.size) !== session.size || row.writer === null) throw outOfOrder(session.id, Number(row.size), session.size)
      const owner = ownerOf(row.writer)
      if (owner !== undefined && (await this.deps.liveness())(owner)) throw outOfOrder(session.id, Number(row.size), session.size)
      isTaken = await take(row.writer)
      if (!isTaken) throw outOfOrder(session.id, Number(row.size), session.size)
    }
    const row = await db.selectFrom('upload_sessions').selectAll().where('id', '=', session.id).executeTakeFirstOrThrow()
    return { token, row: { ...row, size: Number(row.size) } }
  }

  private async release(id: string, token: string): Promise<void> {
    await this.deps.db.updateTable('upload_sessions').set({ writer: null }).where('id', '=', id).where('writer', '=', token).execute()
  }

  /** Deletes a session's row (only if unchanged since `seen`, when given) with its quota charge, then its data. Whether it went. */
  private async discard(repository: QuotaRepository | undefined, id: string, seen?: UploadSessionTable): Promise<boolean> {
    const isGone = await this.deps.db.transaction().execute(async (trx) => {
      let remove = trx.deleteFrom('upload_sessions').where('id', '=', id)
      if (seen) remove = remove.where('updated_at', '=', seen.updated_at).where('writer', seen.writer === null ? 'is' : '=', seen.writer)
      const deleted = await remove.returning(['size']).executeTakeFirst()
      if (!deleted) return false
      if (repository) await this.deps.quota?.charge(trx, repository, async () => Number(deleted.size), 0)
      return true
    })
    if (isGone) await this.deps.blobs.driver.deleteTemporary(temporaryId(id))
    return isGone
  }
}

export function temporaryId(sessionId: string): string {
  return `${TEMPORARY_PREFIX}${sessionId}`
}

function outOfOrder(id: string, size: number, start: number): TroveError {
  return new TroveError('RANGE_NOT_SATISFIABLE', `the chunk starts at byte ${start} but upload ${id} has ${size} bytes`, { size })
}

function unknownUpload(id: string): TroveError {
  return new TroveError('NOT_FOUND', `upload ${id} is not in progress (completed, cancelled or expired)`, { uploadId: id })
}

function toSession(row: UploadSessionTable): UploadSession {
  return {
    id: row.id,
    repoKey: row.repo_key,
    subject: row.subject,
    size: Number(row.size),
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}
