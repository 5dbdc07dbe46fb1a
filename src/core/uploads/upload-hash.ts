import { createMD5, createSHA1, createSHA256, type IHasher } from 'hash-wasm'
import type { Checksums } from '../digest.js'

interface SavedState {
  readonly sha256: string
  readonly sha1: string
  readonly md5: string
}

/**
 * The checksums of an upload in progress (SHA-256, and the SHA-1 and MD5 the blob store records),
 * whose state is saved after each chunk and resumed for the next one, in any process: the bytes
 * already received are never read again.
 */
export class UploadHash {
  private constructor(
    private readonly sha256: IHasher,
    private readonly sha1: IHasher,
    private readonly md5: IHasher,
  ) {}

  /** A hash of no bytes yet, or one resumed from {@link save}'s text. */
  static async resume(saved?: string): Promise<UploadHash> {
    const [sha256, sha1, md5] = await Promise.all([createSHA256(), createSHA1(), createMD5()])
    if (saved === undefined || saved === '') {
      sha256.init()
      sha1.init()
      md5.init()
    } else {
      const state = JSON.parse(saved) as SavedState
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

  /** The state after the bytes so far, as text for the metadata store. */
  save(): string {
    const encode = (hasher: IHasher) => Buffer.from(hasher.save()).toString('base64')
    return JSON.stringify({ sha256: encode(this.sha256), sha1: encode(this.sha1), md5: encode(this.md5) } satisfies SavedState)
  }

  /** The checksums of every byte so far; the hash is finished (save before, if it must go on). */
  digest(): Checksums {
    return { sha256: this.sha256.digest('hex'), sha1: this.sha1.digest('hex'), md5: this.md5.digest('hex') }
  }
}
