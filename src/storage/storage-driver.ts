import type { Readable, Writable } from 'node:stream'

/**
 * Writes an opened object (or range) to a destination and resolves once every byte has been
 * flushed to it; rejects if the destination closes or fails first. Never ends the destination.
 */
export type Sender = (destination: Writable) => Promise<void>

/**
 * A flat key → bytes store. Keys are `/`-separated relative paths made of `[A-Za-z0-9._-]`
 * segments (the blob store chooses them; clients never do). Drivers own I/O and nothing else:
 * no hashing, no metadata, no policy.
 */
export interface StorageDriver {
  /** Short name for logs and metrics, e.g. `filesystem`. */
  readonly name: string

  /**
   * Starts writing a new object at a private temporary location. Nothing is visible under any key
   * until {@link StorageWriter.commit}. Abandoned writers are removed by {@link sweepTemporary}.
   * Throws {@link StorageFullError} when the store has no room left.
   */
  createWriter(): Promise<StorageWriter>

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

  /** Size and modification time, or `undefined` when the key does not exist. */
  stat(key: string): Promise<StorageStat | undefined>

  /** Removes `key`. Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>

  /** Every key that starts with `prefix`, in no particular order. Temporary objects are not listed. */
  list(prefix: string): AsyncIterable<string>

  /** Removes temporary objects left by writers older than `olderThanMs`; returns how many. */
  sweepTemporary(olderThanMs: number): Promise<number>

  /** Throws when the store cannot be read and written (used by the readiness probe). */
  checkHealth(): Promise<void>
}

export interface StorageWriter {
  /**
   * Where to write the bytes; call {@link commit} or {@link abort} after it has finished. Fails
   * with {@link StorageFullError} when the store runs out of room.
   */
  readonly stream: Writable

  /**
   * Makes the written bytes durable (fsync or equivalent) and visible at `key`, atomically: a
   * reader sees either no object or the whole one. If `key` already exists its content is kept,
   * its modification time is refreshed (garbage collection's grace period counts from it), and the
   * temporary data is discarded (content-addressed keys make both equal). Throws
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
