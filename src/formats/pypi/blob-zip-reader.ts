import { Readable } from 'node:stream'
import yauzl from 'yauzl'
import type { BlobStore } from '../../core/index.js'

/** A forward gap up to this is read through rather than answered by a new read of the blob. */
const MAX_SKIP_BYTES = 1024 * 1024

/**
 * Reads a zip stored in the blob store for yauzl: a zip's directory is at its end and its entries
 * anywhere, so yauzl asks for ranges; the wheel is never held in memory nor copied. yauzl asks for
 * many small ranges in order (a central directory record, then its name; a local header, then the
 * data after it), so one read of the blob serves every range that follows the previous one: one
 * read walks the central directory, one reads every file in order, instead of a request to the
 * storage (an S3 GET) per range.
 */
export class BlobZipReader extends yauzl.RandomAccessReader {
  private cursor: BlobCursor | undefined

  constructor(
    private readonly blobs: BlobStore,
    private readonly sha256: string,
    private readonly size: number,
  ) {
    super()
  }

  override _readStreamForRange(start: number, end: number): Readable {
    let cursor = this.cursor
    if (!cursor || cursor.isBusy || cursor.position > start || start - cursor.position > MAX_SKIP_BYTES) {
      // yauzl's end is exclusive, the blob store's inclusive; the read goes on to the blob's end.
      cursor = new BlobCursor(() => this.blobs.open(this.sha256, { start, end: this.size - 1 }), start)
      // A range asked while another is being read gets a read of its own (yauzl does not do that
      // today); the shared cursor stays with the one in progress.
      if (this.cursor?.isBusy) cursor.isShared = false
      else {
        this.cursor?.close()
        this.cursor = cursor
      }
    }
    const claim = cursor.claim()
    const stream = Readable.from(cursor.range(start, end, claim), { objectMode: false })
    // After an error or a destroy (even before the first read): the generator is done by then.
    stream.once('close', () => cursor.release(claim))
    return stream
  }

  override close(callback: (err: Error | null) => void): void {
    this.cursor?.close()
    this.cursor = undefined
    setImmediate(() => callback(null))
  }
}

/** One open read of a blob from some offset, handed out range by range. */
class BlobCursor {
  /** Offset of the next byte not handed out. */
  position: number
  isShared = true
  /** The range being handed out, if any (counted, so that a late release cannot end a later claim). */
  private claimed = 0
  private isClaimed = false
  private stream: Readable | undefined
  private chunks: AsyncIterator<Buffer> | undefined
  /** Bytes read from the blob, not handed out yet (they start at {@link position}). */
  private pending: Buffer | undefined

  constructor(
    private readonly open: () => Promise<Readable>,
    start: number,
  ) {
    this.position = start
  }

  get isBusy(): boolean {
    return this.isClaimed
  }

  /** Reserves the cursor for one range; {@link release} with what this returns. */
  claim(): number {
    this.isClaimed = true
    return ++this.claimed
  }

  /** The bytes `[start, end)` for `claim`; `start` must not be before {@link position}. */
  async *range(start: number, end: number, claim: number): AsyncGenerator<Buffer> {
    if (!this.chunks) {
      this.stream = await this.open()
      this.chunks = (this.stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
    }
    while (this.position < end) {
      let chunk = this.pending
      this.pending = undefined
      if (!chunk) {
        const next = await this.chunks.next()
        if (next.done) throw new Error(`the blob ended at byte ${this.position}, before ${end}`)
        chunk = next.value
      }
      const from = Math.max(0, start - this.position)
      if (from >= chunk.length) {
        this.position += chunk.length
        continue
      }
      const to = Math.min(chunk.length, end - this.position)
      if (to < chunk.length) this.pending = chunk.subarray(to)
      this.position += to
      yield chunk.subarray(from, to)
    }
    // Before the stream ends: yauzl asks for the next range as soon as it has this one.
    this.release(claim)
  }

  /** The range `claim` is over: the cursor may serve the next one (or, not shared, is closed). */
  release(claim: number): void {
    if (claim !== this.claimed || !this.isClaimed) return
    this.isClaimed = false
    if (!this.isShared) this.close()
  }

  close(): void {
    this.stream?.destroy()
    this.stream = undefined
    this.chunks = undefined
    this.pending = undefined
  }
}
