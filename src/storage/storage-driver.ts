import type { Readable, Writable } from 'node:stream'

/**
 * Writes an opened object (or range) to a destination and resolves once every byte has been
 * flushed to it; rejects if the destination closes or fails first. Never ends the destination.
 */
export type Sender = ((destination: Writable) => Promise<void>) & {
  /**
   * Set: the body is not to be sent by Trove but by the reverse proxy in front, told so by this
   * response header (`X-Accel-Redirect`, `X-Sendfile`); the proxy serves the whole file and the
   * client's `Range` itself. The function still sends the bytes, for a caller that cannot offload.
   */
  readonly offload?: { readonly header: string; readonly value: string } | undefined
}

/**
 * A flat key → bytes store. Keys are `/`-separated relative paths made of `[A-Za-z0-9._-]`
 * segments (the blob store chooses them; clients never do). Drivers own I/O and nothing else:
 * no hashing, no metadata, no policy.
 */
export interface StorageDriver {
  /** Short name for logs and metrics, e.g. `filesystem`. */
  readonly name: string

  /**
   * Starts writing a new object at a private temporary location named `id` (a single key segment,
   * unique per writer; random when omitted), so that whoever finds it later (see
   * {@link listTemporary}) can tell from the name whose it is. Nothing is visible under any key
   * until {@link StorageWriter.commit}. Throws for an invalid `id`, and {@link StorageFullError}
   * when the store has no room left.
   */
  createWriter(id?: string, options?: WriterOptions): Promise<StorageWriter>

  /**
   * Opens `key` for reading. `range` is inclusive on both ends, as in HTTP (`bytes=start-end`).
   * Throws {@link PathNotFoundError} when the key does not exist. The stream is not buffered
   * whole: bytes flow as they are read.
   */
  read(key: string, range?: ByteRange): Promise<Readable>

  /**
   * Optional fast path for downloads: opens `key` (throwing {@link PathNotFoundError} before any
   * byte is promised) and returns a {@link Sender} that writes it through a few reused buffers
   * instead of a new Buffer per chunk, which under many concurrent downloads keeps the garbage
   * collector out of the way. Drivers without it are read with {@link read}.
   */
  openSender?(key: string, range?: ByteRange): Promise<Sender>

  /**
   * Size and modification time, or `undefined` when the key does not exist. The modification time
   * is when the object was created: committing the same key again need not change it.
   */
  stat(key: string): Promise<StorageStat | undefined>

  /** Removes `key`. Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>

  /** Every key that starts with `prefix`, in no particular order. Temporary objects are not listed. */
  list(prefix: string): AsyncIterable<string>

  /**
   * The temporary data of writers neither committed nor aborted yet: running ones and ones
   * abandoned by a crash. A writer may not show until it has stored some bytes (an object store
   * buffers a part first). Each id is yielded once per listing. Callers decide what is abandoned.
   */
  listTemporary(): AsyncIterable<TemporaryObject>

  /**
   * Removes the temporary data of writer `id` (an object store: its multipart upload too).
   * Idempotent. A writer still running on it fails at its next write or at commit.
   */
  deleteTemporary(id: string): Promise<void>

  /**
   * Appends `source` to the appendable temporary object `id` (created by the first append), whose
   * first `offset` bytes were appended before and are described by `state` (`undefined` for a new
   * one). Resolves, once every byte is durable, with the state to pass to the next call: the
   * caller keeps it (in the metadata store), so that the next append or the commit may run in
   * another process, after a restart. Bytes a failed append left beyond `offset` are ignored by
   * the next call. The data is listed by {@link listTemporary} and removed by
   * {@link deleteTemporary} like a writer's. Throws {@link StorageFullError} when the store is full.
   */
  append(id: string, state: AppendState | undefined, offset: number, source: Readable): Promise<AppendState>

  /**
   * Optional: reads back the first `size` bytes appended to appendable object `id` (for a caller
   * that must hash them again). Drivers whose appended bytes cannot be read before the commit (an
   * object store's multipart upload) leave it out.
   */
  readAppended?(id: string, state: AppendState | undefined, size: number): Promise<Readable>

  /**
   * Makes the first `size` bytes of appendable object `id` visible at `key`, atomically, as
   * {@link StorageWriter.commit} does (an existing `key` is kept), and removes the temporary data.
   */
  commitAppended(id: string, state: AppendState | undefined, size: number, key: string): Promise<void>

  /** Throws when the store cannot be read and written (used by the readiness probe). */
  checkHealth(): Promise<void>

  /**
   * Optional: a URL from which a client fetches `key` straight from the store, valid for
   * `expiresInSecs` (a presigned URL). Whoever holds it may use it until then, so it is handed out
   * only after the download was authorized. The key's existence is not checked.
   */
  downloadUrl?(key: string, options: DownloadUrlOptions): Promise<string>

  /** Optional: the file that holds `key`, for a driver whose objects are local files (a proxy may send them). */
  localPath?(key: string): string

  /** Optional: releases connections and buffers; the driver is not used afterwards. */
  close?(): Promise<void>
}

/**
 * What a driver needs to resume an appendable object (see {@link StorageDriver.append}), as JSON
 * text its caller stores: nothing for a file (its length is the state), the multipart upload's
 * id and parts for an object store.
 */
export type AppendState = string

export interface DownloadUrlOptions {
  readonly expiresInSecs: number
  /** The `Content-Type` the store should answer with. */
  readonly contentType?: string | undefined
  /** Offered to the client as the file's name (`Content-Disposition`). */
  readonly filename?: string | undefined
}

export interface WriterOptions {
  /**
   * The key the writer will be committed to, when the caller knows it in advance (a blob whose
   * digest the client declared). A driver may then write the bytes there directly, provided
   * nothing is visible at the key before {@link StorageWriter.commit} (an object store: a
   * multipart upload, completed only at commit), and must then refuse a commit to another key.
   * Only a hint: drivers may ignore it.
   */
  readonly key?: string | undefined
}

export interface StorageWriter {
  /**
   * Where to write the bytes; call {@link commit} or {@link abort} after it has finished. Fails
   * with {@link StorageFullError} when the store runs out of room.
   */
  readonly stream: Writable

  /**
   * Makes the written bytes durable (fsync or equivalent) and visible at `key`, atomically: a
   * reader sees either no object or the whole one. Call it once the stream has finished. If `key`
   * already exists its content is kept and the temporary data is discarded (content-addressed
   * keys make both equal). Either way the temporary data is gone afterwards. Throws
   * {@link StorageFullError} when the store has no room for the object.
   */
  commit(key: string): Promise<void>

  /** Discards the temporary data. Idempotent; safe after a failed write. */
  abort(): Promise<void>
}

export interface ByteRange {
  readonly start: number
  /** Inclusive. */
  readonly end: number
}

export interface TemporaryObject {
  /** The id the writer was created with. */
  readonly id: string
  /** When its data was last written (an object store may only know when the upload began). */
  readonly modifiedAt: Date
}

export interface StorageStat {
  readonly size: number
  readonly modifiedAt: Date
}

export class PathNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`storage key not found: ${key}`)
    this.name = 'PathNotFoundError'
  }
}

/**
 * The store has no room for what a writer is writing (a full disk or filesystem quota, a bucket
 * or account over its quota). Thrown by a writer's stream, {@link StorageWriter.commit} and
 * {@link StorageDriver.createWriter}; the writer's temporary data is still removed by
 * {@link StorageWriter.abort}. `cause` is the driver's own error.
 */
export class StorageFullError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'StorageFullError'
  }
}

const KEY_PATTERN = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/

/** Drivers call this on every key they are given; the blob store never builds a bad one. */
export function assertStorageKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.split('/').some((s) => s === '.' || s === '..')) {
    throw new Error(`invalid storage key: ${JSON.stringify(key)}`)
  }
}

const TEMPORARY_ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/

/** A writer id is one key segment: drivers name the temporary data after it. */
export function assertTemporaryId(id: string): void {
  if (!TEMPORARY_ID_PATTERN.test(id) || id === '.' || id === '..') throw new Error(`invalid temporary id: ${JSON.stringify(id)}`)
}

/** Where every driver keeps writers' temporary data, under its root; no key may start with it. */
export const TEMPORARY_PREFIX = '_uploads'

/** Throws for a key in the temporary area, which only writers use. */
export function assertNotTemporary(key: string): void {
  if (key === TEMPORARY_PREFIX || key.startsWith(`${TEMPORARY_PREFIX}/`)) throw new Error(`invalid storage key: ${key} is reserved`)
}
