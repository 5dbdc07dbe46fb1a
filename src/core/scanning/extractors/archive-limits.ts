import { createWriteStream } from 'node:fs'
import { posix } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import * as zlib from 'node:zlib'
import { readLimited } from '../../streams.js'
import { ScanFailure, type ExtractionLimits } from '../components.js'

/** Jars inside jars inside jars... deeper than this ends the scan (a nested-zip bomb). */
export const MAX_NESTING_DEPTH = 4
/** A small identity file (`etc/os-release`) read at most. */
export const MAX_SMALL_FILE_BYTES = 64 * 1024
/** One file spooled to the scratch folder (a jar, an RPM database) at most. */
export const MAX_SPOOLED_BYTES = 512 * 1024 * 1024

/**
 * An archive entry's path, normalised (no `./`, no trailing `/`). An entry that would leave the
 * archive's root (`..`, an absolute or drive path) fails the scan: nothing is ever written under
 * such a name, but an archive that holds one is hostile or broken, and its report says so.
 */
export function safeEntryPath(raw: string): string {
  const path = raw.replace(/\\/g, '/')
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw new ScanFailure(`entry '${raw}' has an absolute path`)
  if (path.split('/').includes('..')) throw new ScanFailure(`entry '${raw}' leaves the archive ('..')`)
  const normalized = posix.normalize(path).replace(/^(\.\/)+/, '').replace(/\/+$/, '')
  return normalized === '.' ? '' : normalized
}

/** Counts entries and unpacked bytes of one archive against the limits. */
export class UnpackBudget {
  private entries = 0
  private unpacked = 0

  constructor(
    private readonly limits: ExtractionLimits,
    /** Said in the reasons: `the archive`, `layer 3`. */
    private readonly what = 'the archive',
  ) {}

  entry(): void {
    if (++this.entries > this.limits.maxEntries) throw new ScanFailure(`more than ${this.limits.maxEntries} entries in ${this.what}`)
  }

  /** Adds unpacked bytes; `compressed` is what was read so far, for the ratio (checked past the first MiB). */
  bytes(count: number, compressed: number): void {
    this.unpacked += count
    if (this.unpacked > this.limits.maxUnpackedBytes) throw new ScanFailure(`${this.what} expands past ${this.limits.maxUnpackedBytes} bytes`)
    if (compressed > 0 && this.unpacked > 1024 * 1024 && this.unpacked / compressed > this.limits.maxCompressionRatio) {
      throw new ScanFailure(`${this.what} expands more than ${this.limits.maxCompressionRatio} times (a compression bomb?)`)
    }
  }

  get unpackedBytes(): number {
    return this.unpacked
  }
}

/** Reads a stream whole, refusing past `max` bytes (for small metadata files only). */
export function readCapped(source: AsyncIterable<Buffer | string>, max: number, what: string): Promise<Buffer> {
  return readLimited(source, max, () => new ScanFailure(`${what} is larger than ${max} bytes`))
}

/** Streams `source` to `file`, refusing past `max` bytes (the partial file is left for the scratch folder's removal). */
export async function spoolCapped(source: Readable, file: string, max: number, what: string): Promise<number> {
  let size = 0
  await pipeline(
    source,
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length
        if (size > max) callback(new ScanFailure(`${what} is larger than ${max} bytes`))
        else callback(null, chunk)
      },
    }),
    createWriteStream(file),
  )
  return size
}

type Compression = 'gzip' | 'zstd' | 'none'

/**
 * The uncompressed bytes of a tar stream that may be gzip- or zstd-compressed or plain (container
 * layers come in all three), told apart by their magic bytes rather than by a media type a client
 * chose. Calls `onCompressed` with every compressed chunk's size, for the ratio check.
 */
export async function* decompressed(source: Readable, onCompressed: (bytes: number) => void): AsyncGenerator<Buffer> {
  const iterator = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  let first = await iterator.next()
  while (!first.done && first.value.length < 4) {
    // Tiny first chunks: gather four bytes to read the magic number.
    const next = await iterator.next()
    if (next.done) break
    first = { done: false, value: Buffer.concat([first.value, next.value]) }
  }
  if (first.done) return
  const head = first.value
  const compression: Compression =
    head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : head.readUInt32LE(0) === 0xfd2fb528 ? 'zstd' : 'none'
  const raw = (async function* () {
    onCompressed(head.length)
    yield head
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      onCompressed(next.value.length)
      yield next.value
    }
  })()
  if (compression === 'none') {
    yield* raw
    return
  }
  let decoder: Transform
  if (compression === 'gzip') decoder = zlib.createGunzip()
  else {
    const createZstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress
    if (!createZstd) {
      source.destroy()
      throw new ScanFailure('zstd-compressed layers need Node.js 22.15 or later to be scanned')
    }
    decoder = createZstd()
  }
  const input = Readable.from(raw)
  input.on('error', (err) => decoder.destroy(err))
  try {
    for await (const chunk of input.pipe(decoder) as AsyncIterable<Buffer>) yield chunk
  } catch (err) {
    if (err instanceof ScanFailure) throw err
    throw new ScanFailure(`not a readable ${compression} stream: ${(err as Error).message}`)
  } finally {
    input.destroy()
    decoder.destroy()
  }
}
