import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'

export interface Checksums {
  readonly sha256: string
  readonly sha1: string
  readonly md5: string
}

/** Checksums a client declared; any subset. Hex, lower case. */
export interface ExpectedChecksums {
  readonly sha256?: string | undefined
  readonly sha1?: string | undefined
  readonly md5?: string | undefined
  readonly size?: number | undefined
}

export const CHECKSUM_PATTERNS: Readonly<Record<keyof Checksums, RegExp>> = {
  sha256: /^[a-f0-9]{64}$/,
  sha1: /^[a-f0-9]{40}$/,
  md5: /^[a-f0-9]{32}$/,
}

/**
 * A pass-through stream that hashes (sha256, sha1, md5) and counts the bytes flowing through it,
 * so an upload is verified while it streams, never after buffering it.
 */
export class HashingStream extends Transform {
  private readonly hashes: { sha256: Hash; sha1: Hash; md5: Hash } = {
    sha256: createHash('sha256'),
    sha1: createHash('sha1'),
    md5: createHash('md5'),
  }
  private byteCount = 0
  private result: Checksums | undefined

  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.byteCount += chunk.length
    if (this.byteCount > this.maxBytes) {
      callback(new SizeLimitError(this.maxBytes))
      return
    }
    this.hashes.sha256.update(chunk)
    this.hashes.sha1.update(chunk)
    this.hashes.md5.update(chunk)
    callback(null, chunk)
  }

  get size(): number {
    return this.byteCount
  }

  /** Only valid once the stream has ended. */
  digest(): Checksums {
    this.result ??= {
      sha256: this.hashes.sha256.digest('hex'),
      sha1: this.hashes.sha1.digest('hex'),
      md5: this.hashes.md5.digest('hex'),
    }
    return this.result
  }
}

export class SizeLimitError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`)
    this.name = 'SizeLimitError'
  }
}
