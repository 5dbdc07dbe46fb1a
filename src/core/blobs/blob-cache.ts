import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Logger } from 'pino'
import { FilesystemStorageDriver } from '../../storage/filesystem/filesystem-storage-driver.js'
import { PathNotFoundError, type ByteRange, type Sender, type StorageWriter } from '../../storage/storage-driver.js'
import { blobKey as keyOf } from './blob-store.js'

/** What a cache file looked like when its digest was last checked: any write since changes one of these. */
interface Fingerprint {
  readonly size: number
  readonly ino: number
  readonly mtimeMs: number
  readonly ctimeMs: number
}

interface Entry {
  readonly size: number
  /** Set once this process has hashed the file; cleared (re-checked) when the file changes. */
  verified?: Fingerprint | undefined
}

/**
 * A per-node disk cache of blobs read from a remote blob store (S3), like Artifactory's cache-fs:
 * a whole-blob read that misses is written through to the cache as it streams to its reader, and
 * enters it only if its bytes hash to the blob's digest; least recently used blobs are evicted past
 * `maxBytes`. A cached file is hashed again before this process first serves it, and whenever it
 * changed since (size, inode, modification or change time), so a corrupt or missing file is
 * fetched from the store again, never served. The folder may be emptied or deleted at any time.
 */
export class BlobReadCache {
  private readonly files: FilesystemStorageDriver
  /** Least recently used first (a Map keeps insertion order; a hit moves its entry to the end). */
  private readonly entries = new Map<string, Entry>()
  private totalBytes = 0
  /** Digests being written through now: one fill per blob at a time. */
  private readonly filling = new Set<string>()

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly logger: Logger,
  ) {
    this.files = new FilesystemStorageDriver(dir)
  }

  /** Indexes what an earlier run left (unverified: each is hashed before its first use) and drops unfinished fills. */
  async load(): Promise<void> {
    for await (const temporary of this.files.listTemporary()) await this.files.deleteTemporary(temporary.id)
    const found: { sha256: string; size: number; usedAt: number }[] = []
    for await (const key of this.files.list('blobs/sha256/')) {
      const stats = await stat(this.pathOf(key)).catch(() => undefined)
      if (stats) found.push({ sha256: key.slice(key.lastIndexOf('/') + 1), size: stats.size, usedAt: Math.max(stats.atimeMs, stats.mtimeMs) })
    }
    for (const file of found.sort((a, b) => a.usedAt - b.usedAt)) {
      if (this.entries.has(file.sha256)) continue
      this.entries.set(file.sha256, { size: file.size })
      this.totalBytes += file.size
    }
    await this.evict()
    this.logger.info({ dir: this.dir, blobs: this.entries.size, bytes: this.totalBytes }, 'blob read cache loaded')
  }

  /** A sender of the cached blob (or range), once its file is known good; undefined on a miss. */
  openSender(sha256: string, range?: ByteRange): Promise<Sender | undefined> {
    return this.whenUsable(sha256, (key) => this.files.openSender(key, range))
  }

  /** The cached blob (or range) as a stream, once its file is known good; undefined on a miss. */
  open(sha256: string, range?: ByteRange): Promise<Readable | undefined> {
    return this.whenUsable(sha256, (key) => this.files.read(key, range))
  }

  /**
   * Passes `source` (the whole blob, read from the store) through, writing it to the cache on the
   * way; it enters the cache only if it ends whole and hashes to `sha256`. Caching problems are
   * logged, never the reader's: the bytes flow on regardless.
   */
  fill(sha256: string, source: Readable): Readable {
    if (this.filling.has(sha256)) return source
    this.filling.add(sha256)
    const fill = new CacheFill(this.files.createWriter(), (writer, digest, size) => this.admit(sha256, writer, digest, size))
    // pipeline(): a reader that goes away stops the download from the store too.
    pipeline(source, fill)
      .catch(() => {})
      .finally(() => this.filling.delete(sha256))
    return fill
  }

  private async admit(sha256: string, writer: StorageWriter, digest: string, size: number): Promise<void> {
    if (digest !== sha256 || size > this.maxBytes) {
      if (digest !== sha256) this.logger.warn({ sha256, digest }, 'the blob store sent bytes that do not match the digest; not cached')
      await writer.abort()
      return
    }
    await writer.commit(keyOf(sha256))
    const path = this.pathOf(keyOf(sha256))
    const stats = await stat(path)
    this.remove(sha256)
    this.entries.set(sha256, { size, verified: fingerprintOf(stats) })
    this.totalBytes += size
    await this.evict()
  }

  /** Whether the cache has the blob in a file whose digest matches (hashing it first if this process has not, or it changed). */
  private async isUsable(sha256: string): Promise<boolean> {
    const entry = this.entries.get(sha256)
    if (!entry) return false
    const path = this.pathOf(keyOf(sha256))
    const stats = await stat(path).catch(() => undefined)
    if (!stats) {
      this.remove(sha256)
      return false
    }
    const fingerprint = fingerprintOf(stats)
    if (!entry.verified || !sameFingerprint(entry.verified, fingerprint)) {
      if ((await hashFile(path)) !== sha256) {
        this.logger.warn({ sha256, path }, 'a cached blob does not match its digest; removed, fetched from the store again')
        await this.files.delete(keyOf(sha256))
        this.remove(sha256)
        return false
      }
      entry.verified = fingerprint
    }
    // Most recently used: to the end of the queue.
    this.entries.delete(sha256)
    this.entries.set(sha256, entry)
    return true
  }

  /** Opens the cached file with `opener` if it is usable; a file gone between the check and the opening is a miss too. */
  private async whenUsable<T>(sha256: string, opener: (key: string) => Promise<T>): Promise<T | undefined> {
    if (!(await this.isUsable(sha256))) return undefined
    try {
      return await opener(keyOf(sha256))
    } catch (err) {
      if (!(err instanceof PathNotFoundError)) throw err
      this.remove(sha256)
      return undefined
    }
  }

  private remove(sha256: string): void {
    const entry = this.entries.get(sha256)
    if (!entry) return
    this.entries.delete(sha256)
    this.totalBytes -= entry.size
  }

  private async evict(): Promise<void> {
    for (const [sha256] of this.entries) {
      if (this.totalBytes <= this.maxBytes) return
      this.remove(sha256)
      await this.files.delete(keyOf(sha256))
    }
  }

  private pathOf(key: string): string {
    return join(this.dir, ...key.split('/'))
  }
}

/**
 * Hashes and writes each chunk to the cache writer as it passes (waiting for the writer to drain:
 * a slow disk slows the download rather than filling memory). If the writer fails, the bytes still
 * flow; once the source ended, the write is admitted in the background (the reader does not wait
 * for an fsync). Destroyed early (the reader went away), the write is aborted.
 */
class CacheFill extends Transform {
  private readonly hash = createHash('sha256')
  private size = 0
  private writer: StorageWriter | undefined
  private isDone = false

  constructor(
    private readonly created: Promise<StorageWriter>,
    private readonly onEnd: (writer: StorageWriter, digest: string, size: number) => Promise<void>,
  ) {
    super()
    created.then(
      (writer) => (this.writer = writer),
      () => {},
    )
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk)
    this.size += chunk.length
    this.created.then(
      (writer) => {
        if (writer.stream.destroyed || writer.stream.write(chunk)) return callback(null, chunk)
        writer.stream.once('drain', () => callback(null, chunk))
      },
      () => callback(null, chunk),
    )
  }

  override _flush(callback: TransformCallback): void {
    this.isDone = true
    const digest = this.hash.digest('hex')
    callback()
    void (async () => {
      const writer = await this.created
      await new Promise<void>((resolve, reject) => {
        writer.stream.once('error', reject)
        writer.stream.end(() => resolve())
      })
      await this.onEnd(writer, digest, this.size)
    })().catch(async () => {
      await this.writer?.abort().catch(() => {})
    })
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.isDone) void this.created.then((writer) => writer.abort()).catch(() => {})
    callback(err)
  }
}

function fingerprintOf(stats: { size: number; ino: number; mtimeMs: number; ctimeMs: number }): Fingerprint {
  return { size: stats.size, ino: stats.ino, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs }
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.size === b.size && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
