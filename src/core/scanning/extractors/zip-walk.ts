import type { Readable } from 'node:stream'
import yauzl from 'yauzl'
import { ScanFailure, type ExtractionLimits } from '../components.js'
import { UnpackBudget, safeEntryPath } from './archive-limits.js'

/** Opens one entry's (decompressed, size-checked) bytes. */
export type OpenEntry = () => Promise<Readable>

/**
 * Walks a zip file (a wheel, a jar) through its central directory: `onEntry` gets each regular
 * entry's safe path (`..` and absolute paths fail the walk) and can open it. Before anything is
 * read, each entry's declared sizes count against the limits: the total, and the ratio of one
 * entry (a zip bomb is refused from its directory alone); yauzl checks the bytes read match the
 * declared size. Symbolic links (Unix mode in the external attributes) are skipped, never read.
 */
export async function walkZip(
  file: string,
  limits: ExtractionLimits,
  what: string,
  onEntry: (path: string, open: OpenEntry, size: number) => Promise<void>,
): Promise<void> {
  let zip: yauzl.ZipFile
  try {
    zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (err, z) => (err ? reject(err) : resolve(z))),
    )
  } catch (err) {
    throw new ScanFailure(`${what} is not a readable zip archive: ${(err as Error).message}`)
  }
  const budget = new UnpackBudget(limits, what)
  let compressed = 0
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (err: Error) => reject(err instanceof ScanFailure ? err : new ScanFailure(`${what} is not a readable zip archive: ${err.message}`)))
      zip.on('end', () => resolve())
      zip.on('entry', (entry: yauzl.Entry) => {
        const step = async () => {
          budget.entry()
          const raw = (entry.fileName as unknown as Buffer).toString('utf8')
          const path = safeEntryPath(raw)
          compressed += entry.compressedSize
          budget.bytes(entry.uncompressedSize, compressed)
          if (entry.uncompressedSize > 1024 * 1024 && entry.uncompressedSize / Math.max(entry.compressedSize, 1) > limits.maxCompressionRatio) {
            throw new ScanFailure(`${raw} in ${what} expands more than ${limits.maxCompressionRatio} times (a zip bomb?)`)
          }
          const mode = (entry.externalFileAttributes >>> 16) & 0o170000
          if (raw.endsWith('/') || mode === 0o120000 || path === '') return
          const open: OpenEntry = () =>
            new Promise<Readable>((res, rej) =>
              zip.openReadStream(entry, (err, stream) => (err ? rej(new ScanFailure(`${raw} in ${what} cannot be read: ${err.message}`)) : res(stream))),
            )
          await onEntry(path, open, entry.uncompressedSize)
        }
        step().then(
          () => zip.readEntry(),
          (err: unknown) => reject(err instanceof ScanFailure ? err : new ScanFailure(`${what}: ${(err as Error).message}`)),
        )
      })
      zip.readEntry()
    })
  } finally {
    zip.close()
  }
}
