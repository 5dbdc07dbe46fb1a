import { Readable } from 'node:stream'
import { TroveError } from '../../core/index.js'

/**
 * Reads the body of `PUT /api/v1/crates/new` as it arrives: a little-endian u32 length, that many
 * bytes of JSON (the publish metadata), a u32 length, then the `.crate` itself. The JSON is read
 * whole (it is small, and bounded by `maxMetadataBytes`); the crate is handed on as a stream of
 * exactly its declared length, never held in memory.
 */
export class PublishBodyReader {
  private readonly chunks: AsyncIterator<Buffer>
  /** Bytes read from the source and not yet handed out. */
  private pending: Buffer = Buffer.alloc(0)
  private isDone = false

  constructor(source: Readable) {
    this.chunks = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  }

  /** The length prefix and JSON document. */
  async metadata(maxMetadataBytes: number): Promise<unknown> {
    const length = (await this.exactly(4, 'the length of the JSON metadata')).readUInt32LE(0)
    if (length === 0 || length > maxMetadataBytes) {
      throw new TroveError('PAYLOAD_TOO_LARGE', `the publish metadata is ${length} bytes; at most ${maxMetadataBytes} are accepted`)
    }
    const text = (await this.exactly(length, 'the JSON metadata')).toString('utf8')
    try {
      return JSON.parse(text) as unknown
    } catch {
      throw new TroveError('BAD_REQUEST', 'the publish metadata is not valid JSON')
    }
  }

  /** The crate's declared length (after {@link metadata}). */
  async crateLength(): Promise<number> {
    return (await this.exactly(4, 'the length of the crate')).readUInt32LE(0)
  }

  /** Exactly `length` bytes of the crate, as a stream; fails if the body ends early or goes on after them. */
  crate(length: number): Readable {
    const reader = this
    return Readable.from(
      (async function* () {
        let left = length
        while (left > 0) {
          const chunk = await reader.some(left, 'the crate')
          left -= chunk.length
          yield chunk
        }
        if (reader.pending.length > 0 || (await reader.next()) !== undefined) {
          throw new TroveError('BAD_REQUEST', 'the publish body goes on after the crate')
        }
      })(),
      { objectMode: false },
    )
  }

  private async next(): Promise<Buffer | undefined> {
    if (this.isDone) return undefined
    const { done, value } = await this.chunks.next()
    if (done) {
      this.isDone = true
      return undefined
    }
    return Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array)
  }

  /** Exactly `n` bytes (small: lengths and the metadata). */
  private async exactly(n: number, what: string): Promise<Buffer> {
    const parts = [this.pending]
    let have = this.pending.length
    while (have < n) {
      const chunk = await this.next()
      if (!chunk) throw truncated(what)
      parts.push(chunk)
      have += chunk.length
    }
    const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
    this.pending = all.subarray(n)
    return all.subarray(0, n)
  }

  /** Up to `max` bytes, at least one. */
  private async some(max: number, what: string): Promise<Buffer> {
    let chunk = this.pending
    if (chunk.length === 0) {
      const next = await this.next()
      if (!next) throw truncated(what)
      chunk = next
    }
    this.pending = chunk.subarray(Math.min(max, chunk.length))
    return chunk.subarray(0, Math.min(max, chunk.length))
  }
}

function truncated(what: string): TroveError {
  return new TroveError('BAD_REQUEST', `the publish body ended inside ${what}`)
}
