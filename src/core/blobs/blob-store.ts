import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { TroveError } from '../errors.js'
import { CHECKSUM_PATTERNS, HashingStream, SizeLimitError, type Checksums, type ExpectedChecksums } from '../digest.js'
import { PathNotFoundError, StorageFullError, type AppendState, type ByteRange, type Sender, type StorageDriver } from '../../storage/storage-driver.js'
import type { BlobReadCache } from './blob-cache.js'
import type { BlobRecords } from './blob-records.js'
import { writerId } from './temporary-sweeper.js'

export interface BlobInfo extends Checksums {
  readonly size: number
}

export interface PutOptions {
  readonly expected?: ExpectedChecksums | undefined
  /** Refuse (PAYLOAD_TOO_LARGE) a body longer than this. */
  readonly maxBytes?: number | undefined
  readonly signal?: AbortSignal | undefined
}

export interface BlobStoreOptions {
  /** This process's instance id; its writers are named after it (see {@link writerId}). */
  readonly owner?: string | undefined
  /** Where each write is recorded, before the blob becomes visible (garbage collection's grace period counts from it). */
  readonly records?: BlobRecords | undefined
  /** Set: downloads are redirected to the store's own URLs, valid this long (drivers that have them). */
  readonly redirectExpirySecs?: number | undefined
  /** Set: reads are served from, and written through to, this node's disk cache. */
  readonly cache?: BlobReadCache | undefined
  /** Set: downloads are handed to the reverse proxy (a driver with local files, no cache); see {@link Sender.offload}. */
  readonly offload?: { readonly header: 'x-accel-redirect' | 'x-sendfile'; readonly location: string } | undefined
}

export interface DownloadUrlRequest {
  /** The `Content-Type` the store should answer with. */
  readonly contentType?: string | undefined
  /** Offered as the file's name. */
  readonly filename?: string | undefined
}

/**
 * Content-addressed blobs over a {@link StorageDriver}: each blob is stored once, under its
 * sha256, and only after every byte has been written, synced and verified.
 */
export class BlobStore {
  /** Ids of this process's writers still running: their temporary data is not abandoned. */
  private readonly writing = new Set<string>()

  constructor(
    readonly driver: StorageDriver,
    private readonly options: BlobStoreOptions = {},
  ) {}

  /** Whether writer `id` of this process is still running. */
  isWriting(id: string): boolean {
    return this.writing.has(id)
  }

  /**
   * Streams `source` to storage while hashing it. Commits only when the stream ended normally and
   * every checksum in `expected` matches; otherwise discards the temporary data and throws
   * (`DIGEST_INVALID`, `SIZE_INVALID`, `PAYLOAD_TOO_LARGE`, `INSUFFICIENT_STORAGE` when the store
   * is full, or the stream's own error).
   * Storing bytes that already exist is a cheap no-op (deduplication).
   */
  async put(source: Readable, options: PutOptions = {}): Promise<BlobInfo> {
    const { expected, maxBytes, signal } = options
    if (expected) validateExpected(expected)
    // Registered before its temporary data exists, so that no sweep ever takes it for abandoned.
    const id = this.options.owner === undefined ? undefined : writerId(this.options.owner)
    if (id !== undefined) this.writing.add(id)
    try {
      // A declared digest names the key in advance: a driver may write there directly (S3: no copy).
      const writer = await this.driver.createWriter(id, expected?.sha256 === undefined ? undefined : { key: blobKey(expected.sha256) })
      const hashing = new HashingStream(maxBytes)
      try {
        await pipeline(source, hashing, writer.stream, signal ? { signal } : {})
        const checksums = hashing.digest()
        const info: BlobInfo = { ...checksums, size: hashing.size }
        if (expected) verify(info, expected)
        // Recorded first: garbage collection must see the fresh write before the commit can find
        // the content already stored and keep that object as it is.
        await this.options.records?.written(info)
        await writer.commit(this.keyOf(info.sha256))
        return info
      } catch (err) {
        // The original failure is what the caller must see, even if the clean-up fails too.
        await writer.abort().catch(() => {})
        if (err instanceof SizeLimitError) {
          throw new TroveError('PAYLOAD_TOO_LARGE', `body is larger than the limit of ${err.limit} bytes`)
        }
        throw err
      }
    } catch (err) {
      throw translated(err)
    } finally {
      if (id !== undefined) this.writing.delete(id)
    }
  }

  /**
   * Appends to the appendable temporary object `id` (see {@link StorageDriver.append}): for
   * uploads in several requests, whose hashing the caller does and whose state it keeps.
   */
  async append(id: string, state: AppendState | undefined, offset: number, source: Readable): Promise<AppendState> {
    try {
      return await this.driver.append(id, state, offset, source)
    } catch (err) {
      throw translated(err)
    }
  }

  /**
   * Makes the first `blob.size` bytes of appendable object `id`, which the caller has hashed and
   * verified as `blob`, the stored blob: recorded first (as {@link put} does), then committed.
   */
  async commitAppended(id: string, state: AppendState | undefined, blob: BlobInfo): Promise<void> {
    await this.options.records?.written(blob)
    try {
      await this.driver.commitAppended(id, state, blob.size, this.keyOf(blob.sha256))
    } catch (err) {
      throw translated(err)
    }
  }

  /**
   * Opens a blob (or a byte range of it). Throws `BLOB_UNKNOWN` when it does not exist. With a
   * read cache: served from it on a hit; a whole blob read on a miss is written through to it.
   */
  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const key = this.keyOf(sha256)
    const cache = this.options.cache
    const cached = await cache?.open(sha256, range)
    if (cached) return cached
    let stream: Readable
    try {
      stream = await this.driver.read(key, range)
    } catch (err) {
      if (err instanceof PathNotFoundError) throw new TroveError('BLOB_UNKNOWN', `blob sha256:${sha256} is not stored`)
      throw err
    }
    return cache && !range ? cache.fill(sha256, stream) : stream
  }

  /**
   * Opens a blob (or a range) for sending to one destination: the read cache's or the driver's
   * buffer-reusing fast path when there is one, else a read stream. Throws `BLOB_UNKNOWN` before
   * any byte is sent.
   */
  async openSender(sha256: string, range?: ByteRange, mayOffload = true): Promise<Sender> {
    const driver = this.driver
    const key = this.keyOf(sha256)
    const cached = await this.options.cache?.openSender(sha256, range)
    if (cached) return cached
    const offload = mayOffload ? this.options.offload : undefined
    if (offload && driver.localPath && !this.options.cache) {
      // Checked here, so that a missing blob is BLOB_UNKNOWN as for a streamed download, not the proxy's 404.
      if ((await driver.stat(key)) === undefined) throw new TroveError('BLOB_UNKNOWN', `blob sha256:${sha256} is not stored`)
      const value = offload.header === 'x-accel-redirect' ? `${offload.location}/${key}` : driver.localPath(key)
      const send = async (destination: Writable) => (await this.openSender(sha256, range, false))(destination)
      return Object.assign(send, { offload: { header: offload.header, value } })
    }
    if (!driver.openSender || this.options.cache) {
      const stream = await this.open(sha256, range)
      return (destination) => pipeline(stream, destination, { end: false })
    }
    try {
      return await driver.openSender(key, range)
    } catch (err) {
      if (err instanceof PathNotFoundError) throw new TroveError('BLOB_UNKNOWN', `blob sha256:${sha256} is not stored`)
      throw err
    }
  }

  /**
   * Where a client may fetch the blob straight from the store (a short-lived presigned URL), when
   * download redirects are on and the driver has such URLs; else undefined (send the bytes). The
   * caller has authorized the download. Throws `BLOB_UNKNOWN` when the blob is not stored, as a
   * streamed download would, rather than sending the client to the store's own 404.
   */
  async downloadUrl(sha256: string, request: DownloadUrlRequest = {}): Promise<string | undefined> {
    const { redirectExpirySecs } = this.options
    if (redirectExpirySecs === undefined || !this.driver.downloadUrl) return undefined
    const key = this.keyOf(sha256)
    if ((await this.driver.stat(key)) === undefined) throw new TroveError('BLOB_UNKNOWN', `blob sha256:${sha256} is not stored`)
    return this.driver.downloadUrl(key, { expiresInSecs: redirectExpirySecs, ...request })
  }

  async exists(sha256: string): Promise<boolean> {
    return (await this.driver.stat(this.keyOf(sha256))) !== undefined
  }

  /** Removes a blob. Only garbage collection calls this, once no asset refers to the blob. */
  async delete(sha256: string): Promise<void> {
    await this.driver.delete(this.keyOf(sha256))
  }

  keyOf(sha256: string): string {
    if (!CHECKSUM_PATTERNS.sha256.test(sha256)) throw new TroveError('DIGEST_INVALID', `not a sha256 digest: ${sha256}`)
    return blobKey(sha256)
  }
}

/** A driver's error in the core's terms: a full store is INSUFFICIENT_STORAGE (507), said so to the client. */
function translated(err: unknown): unknown {
  if (!(err instanceof StorageFullError)) return err
  return new TroveError('INSUFFICIENT_STORAGE', 'the blob store is full: nothing was stored; an administrator must free or add storage', undefined, { cause: err })
}

/** Where a blob is stored, by its (already validated) sha256: `blobs/sha256/<first two hex>/<hex>`. */
export function blobKey(sha256: string): string {
  return `blobs/sha256/${sha256.slice(0, 2)}/${sha256}`
}

function validateExpected(expected: ExpectedChecksums): void {
  for (const algorithm of ['sha256', 'sha1', 'md5'] as const) {
    const value = expected[algorithm]
    if (value !== undefined && !CHECKSUM_PATTERNS[algorithm].test(value)) {
      throw new TroveError('DIGEST_INVALID', `the ${algorithm} checksum given is not a valid ${algorithm} hex digest`, {
        algorithm,
        given: value,
      })
    }
  }
  if (expected.size !== undefined && (!Number.isSafeInteger(expected.size) || expected.size < 0)) {
    throw new TroveError('SIZE_INVALID', `invalid size: ${expected.size}`)
  }
}

function verify(actual: BlobInfo, expected: ExpectedChecksums): void {
  for (const algorithm of ['sha256', 'sha1', 'md5'] as const) {
    const value = expected[algorithm]
    if (value !== undefined && value !== actual[algorithm]) {
      throw new TroveError(
        'DIGEST_INVALID',
        `${algorithm} checksum mismatch: the client declared ${value} but the content is ${actual[algorithm]}`,
        { algorithm, expected: value, actual: actual[algorithm] },
      )
    }
  }
  if (expected.size !== undefined && expected.size !== actual.size) {
    throw new TroveError('SIZE_INVALID', `size mismatch: the client declared ${expected.size} bytes but sent ${actual.size}`, {
      expected: expected.size,
      actual: actual.size,
    })
  }
}
