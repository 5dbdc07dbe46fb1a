import { PassThrough, type Readable } from 'node:stream'
import yauzl from 'yauzl'
import type { BlobStore } from '../../core/blobs/blob-store.js'
import { TroveError } from '../../core/errors.js'
import { normalizeName } from './names.js'

/** A wheel's METADATA larger than this is refused (PyPI's largest are well under 1 MiB). */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024
/** Central directory entries read at most while looking for METADATA. */
const MAX_ENTRIES = 200_000

/**
 * Reads a zip stored in the blob store through ranged reads: a zip's directory is at its end and
 * its entries anywhere, so yauzl needs random access; the wheel is never held in memory nor copied.
 */
class BlobRangeReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly blobs: BlobStore,
    private readonly sha256: string,
  ) {
    super()
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const out = new PassThrough()
    if (end <= start) {
      out.end()
      return out
    }
    // yauzl's end is exclusive, the blob store's inclusive.
    this.blobs.open(this.sha256, { start, end: end - 1 }).then(
      (stream) => {
        stream.on('error', (err) => out.destroy(err))
        stream.pipe(out)
      },
      (err: unknown) => out.destroy(err as Error),
    )
    return out
  }
}

/**
 * The core metadata (`<name>-<version>.dist-info/METADATA`) of a wheel in the blob store, as
 * bytes (served as `<file>.metadata`, PEP 658). Refuses (BAD_REQUEST, PyPI-like message) a file
 * that is not a zip, or has no single METADATA, or one too large.
 */
export async function readWheelMetadata(blobs: BlobStore, sha256: string, size: number, project: string): Promise<Buffer> {
  let zip: yauzl.ZipFile
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(new BlobRangeReader(blobs, sha256), size, { lazyEntries: true, autoClose: false })
  } catch (err) {
    throw new TroveError('BAD_REQUEST', `Invalid distribution file: the wheel is not a valid zip archive (${(err as Error).message}).`)
  }
  try {
    const wanted = normalizeName(project)
    const found: yauzl.Entry[] = []
    let count = 0
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        if (++count > MAX_ENTRIES) return reject(new TroveError('BAD_REQUEST', `Invalid distribution file: the wheel has more than ${MAX_ENTRIES} entries.`))
        const match = /^([^/]+)-[^/-]+\.dist-info\/METADATA$/.exec(entry.fileName)
        if (match && normalizeName(match[1]!) === wanted) found.push(entry)
        zip.readEntry()
      })
      zip.once('end', () => resolve())
      zip.once('error', (err: Error) => reject(new TroveError('BAD_REQUEST', `Invalid distribution file: the wheel is not a valid zip archive (${err.message}).`)))
      zip.readEntry()
    })
    if (found.length !== 1) {
      throw new TroveError(
        'BAD_REQUEST',
        found.length === 0
          ? `Invalid distribution file: the wheel has no '<name>-<version>.dist-info/METADATA' for '${project}'.`
          : 'Invalid distribution file: the wheel has more than one .dist-info/METADATA.',
      )
    }
    const entry = found[0]!
    if (entry.uncompressedSize > MAX_METADATA_BYTES) {
      throw new TroveError('BAD_REQUEST', `Invalid distribution file: the wheel's METADATA is larger than ${MAX_METADATA_BYTES} bytes.`)
    }
    const stream = await zip.openReadStreamPromise(entry)
    const chunks: Buffer[] = []
    let total = 0
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length
      // yauzl checks the declared size too; this bounds memory whatever the entry claims.
      if (total > MAX_METADATA_BYTES) throw new TroveError('BAD_REQUEST', `Invalid distribution file: the wheel's METADATA is larger than ${MAX_METADATA_BYTES} bytes.`)
      chunks.push(chunk)
    }
    return Buffer.concat(chunks)
  } catch (err) {
    if (err instanceof TroveError) throw err
    throw new TroveError('BAD_REQUEST', `Invalid distribution file: the wheel could not be read (${(err as Error).message}).`)
  } finally {
    zip.close()
  }
}

/**
 * The header fields of core metadata (RFC 822 style, PEP 566): name → values, lower-case names.
 * Reads up to the first blank line (the description body follows it); continuation lines join.
 */
export function parseCoreMetadata(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>()
  let last: { name: string; index: number } | undefined
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break
    if (/^[ \t]/.test(line) && last) {
      const values = fields.get(last.name)!
      values[last.index] = `${values[last.index]}\n${line.trim()}`
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const values = fields.get(name) ?? []
    values.push(line.slice(colon + 1).trim())
    fields.set(name, values)
    last = { name, index: values.length - 1 }
  }
  return fields
}
