import { createHash, getHashes, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { TroveError } from '../errors.js'

/**
 * Passes bytes through but keeps the last chunk back until {@link open} is called, so a reader
 * never receives a complete body whose verification failed: on failure the stream is destroyed
 * with the last chunk unsent.
 */
export class HoldLastChunk extends Transform {
  private held: Buffer | undefined
  private isOpen = false
  private finish: TransformCallback | undefined

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.held) this.push(this.held)
    this.held = chunk
    callback()
  }

  override _flush(callback: TransformCallback): void {
    if (this.isOpen) {
      this.release(callback)
    } else {
      this.finish = callback
    }
  }

  open(): void {
    this.isOpen = true
    if (this.finish) this.release(this.finish)
  }

  private release(callback: TransformCallback): void {
    if (this.held) this.push(this.held)
    this.held = undefined
    callback()
  }
}

/**
 * Hashes what passes with further algorithms and, at the end, fails with DIGEST_INVALID unless
 * every digest matches; the last chunk is held back until then, so a reader never gets a complete
 * body that failed verification.
 */
export class DigestCheck extends Transform {
  private readonly hashes: { readonly algorithm: string; readonly expected: string; readonly hash: Hash }[]
  private held: Buffer | undefined

  constructor(expected: Readonly<Record<string, string>>) {
    super()
    this.hashes = Object.entries(expected).map(([algorithm, hex]) => ({ algorithm, expected: hex.toLowerCase(), hash: createHash(algorithm) }))
  }

  /** Throws DIGEST_INVALID for an algorithm node:crypto lacks or a digest that is not hex. */
  static validate(expected: Readonly<Record<string, string>> | undefined): void {
    if (!expected) return
    const supported = new Set(getHashes())
    for (const [algorithm, hex] of Object.entries(expected)) {
      if (!supported.has(algorithm) || !/^[a-f0-9]+$/i.test(hex)) throw new TroveError('DIGEST_INVALID', `cannot verify a ${algorithm} digest '${hex}'`)
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const { hash } of this.hashes) hash.update(chunk)
    if (this.held) this.push(this.held)
    this.held = chunk
    callback()
  }

  override _flush(callback: TransformCallback): void {
    for (const { algorithm, expected, hash } of this.hashes) {
      const actual = hash.digest('hex')
      if (actual !== expected) {
        callback(new TroveError('DIGEST_INVALID', `${algorithm} mismatch: expected ${expected}, got ${actual}`, { algorithm, expected, actual }))
        return
      }
    }
    if (this.held) this.push(this.held)
    this.held = undefined
    callback()
  }
}
