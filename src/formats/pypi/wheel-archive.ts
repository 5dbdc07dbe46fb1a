import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import yauzl from 'yauzl'
import { type BlobStore, readLimited, TroveError } from '../../core/index.js'
import { BlobZipReader } from './blob-zip-reader.js'
import { normalizeName } from './names.js'
import { RECORD_ALGORITHMS, compareRecord, isRecordExempt, isSameDigest, parseRecord } from './wheel-record.js'

/** A wheel's METADATA larger than this is refused (PyPI's largest are well under 1 MiB). */
const MAX_METADATA_BYTES = 4 * 1024 * 1024
/** Central directory entries read at most. */
const MAX_ENTRIES = 200_000
/** A RECORD larger than this is refused (a line per file: 200,000 long lines fit). */
const MAX_RECORD_BYTES = 64 * 1024 * 1024
/**
 * The files of a wheel may add up to this many times the wheel's size at most (and to
 * {@link MIN_UNPACKED_LIMIT} whatever the size): checking RECORD decompresses every file, and a
 * zip bomb must not keep the server busy. Real wheels compress a few times; the scanner's
 * default ratio is the same.
 */
const MAX_COMPRESSION_RATIO = 100
const MIN_UNPACKED_LIMIT = 64 * 1024 * 1024

/**
 * The core metadata (`<name>-<version>.dist-info/METADATA`) of a wheel in the blob store, as
 * bytes (served as `<file>.metadata`, PEP 658). Refuses (BAD_REQUEST, PyPI-like message) a file
 * that is not a zip, or has no single METADATA for `project`, or one too large.
 */
export function readWheelMetadata(blobs: BlobStore, sha256: string, size: number, project: string): Promise<Buffer> {
  return withWheel(blobs, { sha256, size }, project, (wheel) => wheel.metadata())
}

/** Checks the RECORD of a wheel in the blob store (see {@link WheelArchive.verifyRecord}); `filename` is named in refusals. */
export function verifyWheelRecord(blobs: BlobStore, blob: StoredWheel, project: string, filename: string): Promise<void> {
  return withWheel(blobs, blob, project, (wheel) => wheel.verifyRecord(filename))
}

interface StoredWheel {
  readonly sha256: string
  readonly size: number
}

async function withWheel<T>(blobs: BlobStore, blob: StoredWheel, project: string, use: (wheel: WheelArchive) => Promise<T>): Promise<T> {
  const wheel = await WheelArchive.open(blobs, blob, project)
  try {
    return await use(wheel)
  } finally {
    wheel.close()
  }
}

/**
 * A wheel in the blob store, opened for the checks of an upload: its core metadata and its
 * RECORD. Reads go through ranged reads of the blob (see {@link BlobZipReader}); nothing is
 * copied or held whole. Every refusal is a BAD_REQUEST with a message in PyPI's words.
 */
class WheelArchive {
  private constructor(
    private readonly zip: yauzl.ZipFile,
    private readonly entries: readonly yauzl.Entry[],
    private readonly metadataEntry: yauzl.Entry,
    /** `<name>-<version>.dist-info`, as the wheel spells it. */
    private readonly distInfo: string,
    private readonly size: number,
  ) {}

  /**
   * Opens the wheel and reads its central directory. Refuses a file that is not a zip, has more
   * than {@link MAX_ENTRIES} entries, or has no single `<name>-<version>.dist-info/METADATA` for
   * `project`. Close what it returns.
   */
  static async open(blobs: BlobStore, blob: StoredWheel, project: string): Promise<WheelArchive> {
    const reader = new BlobZipReader(blobs, blob.sha256, blob.size)
    let zip: yauzl.ZipFile
    try {
      zip = await yauzl.fromRandomAccessReaderPromise(reader, blob.size, { lazyEntries: true, autoClose: false })
    } catch (err) {
      reader.close(() => {})
      throw notAZip(err)
    }
    try {
      const entries = await listEntries(zip)
      const wanted = normalizeName(project)
      const found = entries.filter((entry) => {
        const match = /^([^/]+)-[^/-]+\.dist-info\/METADATA$/.exec(entry.fileName)
        return match !== null && normalizeName(match[1]!) === wanted
      })
      if (found.length !== 1) {
        throw invalid(
          found.length === 0
            ? `Invalid distribution file: the wheel has no '<name>-<version>.dist-info/METADATA' for '${project}'.`
            : 'Invalid distribution file: the wheel has more than one .dist-info/METADATA.',
        )
      }
      const metadataEntry = found[0]!
      const distInfo = metadataEntry.fileName.slice(0, -'/METADATA'.length)
      return new WheelArchive(zip, entries, metadataEntry, distInfo, blob.size)
    } catch (err) {
      zip.close()
      throw err
    }
  }

  /** The core metadata, as bytes (served as `<file>.metadata`, PEP 658); at most {@link MAX_METADATA_BYTES}. */
  async metadata(): Promise<Buffer> {
    return this.readSmall(this.metadataEntry, MAX_METADATA_BYTES, "the wheel's METADATA")
  }

  /**
   * Checks `<dist-info>/RECORD` (the wheel specification; PyPI refuses a wheel without one, pip
   * cannot install it): it must exist and list every file of the wheel but itself and its
   * signatures, each once, with a sha256 (or stronger) hash and its size, and nothing the wheel
   * lacks; then every file is decompressed, in archive order, and its hash compared. Throws at
   * the first file whose bytes do not match. `filename` is the wheel's, for the messages.
   */
  async verifyRecord(filename: string): Promise<void> {
    const recordPath = `${this.distInfo}/RECORD`
    const recordEntry = this.entries.find((entry) => entry.fileName === recordPath)
    if (!recordEntry) throw invalid(`Wheel '${filename}' does not contain the required RECORD file: ${recordPath}`)
    let text: string
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await this.readSmall(recordEntry, MAX_RECORD_BYTES, 'RECORD'))
    } catch (err) {
      if (err instanceof TroveError) throw err
      throw invalidRecord(filename, ['RECORD is not UTF-8 text'])
    }
    const { rows, issues } = parseRecord(text)
    const files = this.entries.filter((entry) => !isDirectory(entry))
    issues.push(...compareRecord(rows, files.map((entry) => ({ path: entry.fileName, size: entry.uncompressedSize })), this.distInfo))
    if (issues.length > 0) throw invalidRecord(filename, issues)

    const unpacked = files.reduce((sum, entry) => sum + entry.uncompressedSize, 0)
    if (unpacked > Math.max(this.size * MAX_COMPRESSION_RATIO, MIN_UNPACKED_LIMIT)) {
      throw invalid(`Invalid distribution file: the wheel's files add up to ${unpacked} bytes, more than ${MAX_COMPRESSION_RATIO} times its size (a zip bomb?).`)
    }
    const byPath = new Map(rows.map((row) => [row.path, row]))
    // In the order of the bytes, so that one read of the blob serves them all.
    const ordered = files.filter((entry) => !isRecordExempt(entry.fileName, this.distInfo)).sort((a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader)
    for (const entry of ordered) {
      const { algorithm, digest } = byPath.get(entry.fileName)!.hash!
      if (!isSameDigest(digest, await this.digestOf(entry, RECORD_ALGORITHMS.get(algorithm)!))) {
        throw invalidRecord(filename, [`the ${algorithm} hash of '${entry.fileName}' does not match RECORD`])
      }
    }
  }

  close(): void {
    this.zip.close()
  }

  /** Opens an entry's decompressed bytes; yauzl checks they are as many as declared. */
  private async openEntry(entry: yauzl.Entry): Promise<Readable> {
    try {
      return await this.zip.openReadStreamPromise(entry)
    } catch (err) {
      throw unreadable(entry, err)
    }
  }

  private async digestOf(entry: yauzl.Entry, algorithm: string): Promise<Buffer> {
    const hash = createHash(algorithm)
    try {
      for await (const chunk of await this.openEntry(entry)) hash.update(chunk as Buffer)
    } catch (err) {
      throw err instanceof TroveError ? err : unreadable(entry, err)
    }
    return hash.digest()
  }

  private async readSmall(entry: yauzl.Entry, limit: number, what: string): Promise<Buffer> {
    const tooLarge = () => invalid(`Invalid distribution file: ${what} is larger than ${limit} bytes.`)
    if (entry.uncompressedSize > limit) throw tooLarge()
    try {
      // yauzl checks the declared size too; the limit bounds memory whatever the entry claims.
      return await readLimited(await this.openEntry(entry), limit, tooLarge)
    } catch (err) {
      throw err instanceof TroveError ? err : unreadable(entry, err)
    }
  }
}

/** Every central directory entry, in order; refuses a directory that is not a zip's or too long. */
function listEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  const entries: yauzl.Entry[] = []
  return new Promise((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entries.length >= MAX_ENTRIES) return reject(invalid(`Invalid distribution file: the wheel has more than ${MAX_ENTRIES} entries.`))
      entries.push(entry)
      zip.readEntry()
    })
    zip.once('end', () => resolve(entries))
    zip.once('error', (err: Error) => reject(notAZip(err)))
    zip.readEntry()
  })
}

function invalidRecord(filename: string, issues: readonly string[]): TroveError {
  const shown = issues.slice(0, 3).join('; ')
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : ''
  return invalid(`Wheel '${filename}' has an invalid RECORD file: ${shown}${more}.`)
}

function isDirectory(entry: yauzl.Entry): boolean {
  return entry.fileName.endsWith('/')
}

/** Where a problem is reported to the uploader (twine prints it). */
function invalid(message: string): TroveError {
  return new TroveError('BAD_REQUEST', message)
}

function notAZip(err: unknown): TroveError {
  return invalid(`Invalid distribution file: the wheel is not a valid zip archive (${(err as Error).message}).`)
}

function unreadable(entry: yauzl.Entry, err: unknown): TroveError {
  return invalid(`Invalid distribution file: the wheel's '${entry.fileName}' cannot be read (${(err as Error).message}).`)
}
