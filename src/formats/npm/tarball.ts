import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import { Transform, type TransformCallback } from 'node:stream'
import { Parser, type ReadEntry } from 'tar'
import { parseJson, TroveError } from '../../core/index.js'
import type { JsonObject, TarballFiles } from './manifest.js'

/** What Trove learns from a tarball while it streams to the blob store. */
export interface TarballFacts extends TarballFiles {
  /** The package.json at the package root, parsed. */
  readonly packageJson: JsonObject
  readonly fileCount: number
  /** Sum of the sizes of the files inside. */
  readonly unpackedSize: number
  /** Of the compressed tarball: hex sha1 (npm's `shasum`) and base64 sha512 (`integrity`). */
  readonly sha1: string
  readonly sha512: string
  readonly size: number
}

export interface TarballInspectorOptions {
  readonly maxUnpackedBytes: number
  /**
   * Runs once every byte has been seen and before the stream ends: throwing refuses the tarball,
   * and since the blob store commits only a stream that ended normally, nothing is stored.
   */
  readonly verify: (facts: TarballFacts) => Promise<void>
}

const MAX_PACKAGE_JSON_BYTES = 4 * 1024 * 1024
/** Paths kept to answer `directories.bin` and root-file questions; more files than this is refused. */
const MAX_FILES = 200_000
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile'])
/**
 * How many times its compressed size a tarball may expand to (node-tar's own default, stated here
 * so that it is a decision): past it the tarball is refused as a compression bomb.
 */
const MAX_DECOMPRESSION_RATIO = 1000

/**
 * A pass-through for a package tarball on its way to the blob store. It hashes the bytes (sha1,
 * sha512), feeds them to a tar parser (node-tar, the one the npm CLI extracts with, so both see
 * the same entries) to read the root package.json, and holds the end of the stream until
 * {@link TarballInspectorOptions.verify} accepts what it found.
 */
export class TarballInspector extends Transform {
  private readonly sha1 = createHash('sha1')
  private readonly sha512 = createHash('sha512')
  private readonly parser: Parser
  private readonly parsed: Promise<void>
  private readonly paths = new Set<string>()
  private size = 0
  private head = Buffer.alloc(0)
  private fileCount = 0
  private unpackedSize = 0
  private packageJsonChunks: Buffer[] | undefined
  private packageJsonBytes = 0
  private packageJsonCount = 0
  private failure: TroveError | undefined
  private release: (() => void) | undefined

  constructor(private readonly options: TarballInspectorOptions) {
    super()
    this.parser = new Parser({ onReadEntry: (entry) => this.onEntry(entry), maxDecompressionRatio: MAX_DECOMPRESSION_RATIO })
    // node-tar aborts by itself too (the decompression ratio above, a corrupt gzip stream): an
    // aborted parser takes no more bytes and never drains again, so every abort, ours or its own,
    // must become the failure and release a _transform waiting for 'drain', or the upload hangs.
    this.parser.on('abort', (err: Error) => this.aborted(err))
    this.parsed = new Promise<void>((resolve, reject) => {
      this.parser.on('end', () => resolve())
      this.parser.on('error', (err: Error) => reject(this.failure ?? unreadable(err)))
      this.parser.on('warn', (code: string, message: string) => {
        if (code === 'TAR_BAD_ARCHIVE') this.fail(`the attachment is not a tar archive (${message})`)
      })
    })
    this.parsed.catch(() => {}) // awaited in _flush; a failure before that is reported there or by _transform
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.failure) {
      callback(this.failure)
      return
    }
    if (this.size < 2) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, 2)]).subarray(0, 2)
      if (this.head.length === 2 && (this.head[0] !== 0x1f || this.head[1] !== 0x8b)) {
        callback(new TroveError('BAD_REQUEST', 'the attachment is not a gzip-compressed tarball (.tgz)'))
        return
      }
    }
    this.size += chunk.length
    this.sha1.update(chunk)
    this.sha512.update(chunk)
    const accepted = this.parser.write(chunk)
    if (accepted || this.failure) {
      callback(this.failure ?? null, chunk)
      return
    }
    // The parser is behind: wait for it (or for a failure, after which it never drains).
    const release = () => {
      this.parser.off('drain', release)
      this.release = undefined
      callback(this.failure ?? null, chunk)
    }
    this.release = release
    this.parser.on('drain', release)
  }

  override _flush(callback: TransformCallback): void {
    this.finish().then(
      () => callback(),
      (err: unknown) => callback(err as Error),
    )
  }

  private async finish(): Promise<void> {
    if (this.size < 2) throw new TroveError('BAD_REQUEST', 'the attachment is empty or not a gzip-compressed tarball')
    this.parser.end()
    await this.parsed
    if (this.failure) throw this.failure
    if (this.packageJsonCount === 0 || !this.packageJsonChunks) throw new TroveError('BAD_REQUEST', 'the tarball has no package.json at its root')
    const packageJson = parseJson(Buffer.concat(this.packageJsonChunks).toString('utf8'), 'the package.json inside the tarball')
    if (typeof packageJson !== 'object' || packageJson === null || Array.isArray(packageJson)) {
      throw new TroveError('BAD_REQUEST', 'the package.json inside the tarball is not a JSON object')
    }
    await this.options.verify({
      packageJson: packageJson as JsonObject,
      paths: this.paths,
      fileCount: this.fileCount,
      unpackedSize: this.unpackedSize,
      sha1: this.sha1.digest('hex'),
      sha512: this.sha512.digest('base64'),
      size: this.size,
    })
  }

  private onEntry(entry: ReadEntry): void {
    // A bare Parser (unlike tar.list) leaves entries paused: read them all, keep only package.json.
    entry.resume()
    if (this.failure) return
    const path = packagePath(entry.path)
    if (!FILE_TYPES.has(entry.type) || path === undefined) return
    this.fileCount++
    this.unpackedSize += entry.size
    if (this.unpackedSize > this.options.maxUnpackedBytes) {
      this.fail(`the files in the tarball add up to more than ${this.options.maxUnpackedBytes} bytes (npm.maxUnpackedBytes)`)
      return
    }
    if (this.fileCount > MAX_FILES) {
      this.fail(`the tarball has more than ${MAX_FILES} files`)
      return
    }
    this.paths.add(path)
    if (path !== 'package.json') return
    // npm extracts every entry in order, so a second package.json would silently replace the
    // first on install: refused, or the registry could be shown one and install another.
    this.packageJsonCount++
    if (this.packageJsonCount > 1) {
      this.fail('the tarball has more than one package.json at its root')
      return
    }
    const chunks: Buffer[] = []
    this.packageJsonChunks = chunks
    entry.on('data', (data: Buffer) => {
      this.packageJsonBytes += data.length
      if (this.packageJsonBytes > MAX_PACKAGE_JSON_BYTES) this.fail(`the package.json inside the tarball is larger than ${MAX_PACKAGE_JSON_BYTES} bytes`)
      else chunks.push(data)
    })
  }

  private fail(message: string): void {
    if (this.failure) return
    this.parser.abort(new TroveError('BAD_REQUEST', message)) // reported back through aborted()
  }

  private aborted(err: Error): void {
    this.failure ??= err instanceof TroveError ? err : unreadable(err)
    this.release?.()
  }
}

function unreadable(err: Error): TroveError {
  return new TroveError('BAD_REQUEST', `the tarball cannot be read: ${err.message}`)
}

/**
 * An entry's path inside the package, as npm extracts it: the first folder (`package/`) stripped,
 * `.` and empty segments resolved. `undefined` for the root folder itself or a path escaping it.
 */
export function packagePath(entryPath: string): string | undefined {
  const segments = entryPath.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.')
  if (segments.length < 2) return undefined
  const path = posix.normalize(segments.slice(1).join('/'))
  return path.startsWith('..') ? undefined : path
}
