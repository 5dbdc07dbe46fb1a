import { createHash, type Hash } from 'node:crypto'
import { createMD5, createSHA1, createSHA256, type IHasher } from 'hash-wasm'
import type { Checksums } from '../digest.js'

interface SavedState {
  readonly sha256: string
  readonly sha1: string
  readonly md5: string
}

/** What the metadata store keeps of a session hashed by {@link NativeHash}: the checksums, but no state to go on from. */
interface FinishedState {
  readonly finished: Checksums
}

/** The hash of an upload's bytes so far, fed chunk by chunk. */
export interface ChunkHash {
  update(chunk: Buffer): void
  /** The state after the bytes so far, as text for the metadata store. */
  save(): string
  /** The checksums of every byte so far. */
  digest(): Checksums
}

/**
 * The checksums of an upload in progress (SHA-256, and the SHA-1 and MD5 the blob store records),
 * whose state is saved after each chunk and resumed for the next one, in any process: the bytes
 * already received are never read again. WebAssembly (hash-wasm), because Node's own hashes
 * cannot save their state; several times slower than {@link NativeHash}.
 */
export class UploadHash implements ChunkHash {
  private constructor(
    private readonly sha256: IHasher,
    private readonly sha1: IHasher,
    private readonly md5: IHasher,
  ) {}

  /** A hash of no bytes yet, or one resumed from {@link save}'s text (not a {@link NativeHash}'s: see {@link finishedChecksums}). */
  static async resume(saved?: string): Promise<UploadHash> {
    const [sha256, sha1, md5] = await Promise.all([createSHA256(), createSHA1(), createMD5()])
    if (saved === undefined || saved === '') {
      sha256.init()
      sha1.init()
      md5.init()
    } else {
      const state = JSON.parse(saved) as SavedState
      if (finishedChecksums(saved)) throw new Error('a finished upload hash cannot be resumed: hash its bytes again')
      sha256.load(Buffer.from(state.sha256, 'base64'))
      sha1.load(Buffer.from(state.sha1, 'base64'))
      md5.load(Buffer.from(state.md5, 'base64'))
    }
    return new UploadHash(sha256, sha1, md5)
  }

  update(chunk: Buffer): void {
    this.sha256.update(chunk)
    this.sha1.update(chunk)
    this.md5.update(chunk)
  }

  save(): string {
    const encode = (hasher: IHasher) => Buffer.from(hasher.save()).toString('base64')
    return JSON.stringify({ sha256: encode(this.sha256), sha1: encode(this.sha1), md5: encode(this.md5) } satisfies SavedState)
  }

  /** The checksums of every byte so far; the hash is finished (save before, if it must go on). */
  digest(): Checksums {
    return { sha256: this.sha256.digest('hex'), sha1: this.sha1.digest('hex'), md5: this.md5.digest('hex') }
  }
}

/**
 * Node's native hashes (OpenSSL, off the JavaScript heap, several times faster than hash-wasm),
 * for a session's first chunk when it is likely its only one (a streamed upload). Its saved text
 * holds the checksums so far but no state: a chunk that follows all the same must hash the stored
 * bytes again (see {@link finishedChecksums}).
 */
export class NativeHash implements ChunkHash {
  private readonly hashes: { sha256: Hash; sha1: Hash; md5: Hash } = { sha256: createHash('sha256'), sha1: createHash('sha1'), md5: createHash('md5') }
  private result: Checksums | undefined

  update(chunk: Buffer): void {
    this.hashes.sha256.update(chunk)
    this.hashes.sha1.update(chunk)
    this.hashes.md5.update(chunk)
  }

  save(): string {
    return JSON.stringify({ finished: this.digest() } satisfies FinishedState)
  }

  digest(): Checksums {
    this.result ??= { sha256: this.hashes.sha256.digest('hex'), sha1: this.hashes.sha1.digest('hex'), md5: this.hashes.md5.digest('hex') }
    return this.result
  }
}

/** The checksums a {@link NativeHash} saved, or `undefined` for a resumable (or empty) state. */
export function finishedChecksums(saved: string | undefined): Checksums | undefined {
  if (saved === undefined || saved === '') return undefined
  const state = JSON.parse(saved) as Partial<FinishedState>
  return state.finished
}
