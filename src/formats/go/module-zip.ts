import { PassThrough, type Readable } from 'node:stream'
import yauzl from 'yauzl'
import { type BlobStore, readLimited, TroveError } from '../../core/index.js'

/** golang.org/x/mod/zip's limits: a module zip unpacks to 500 MiB at most, its go.mod and LICENSE to 16 MiB. */
export const MAX_ZIP_BYTES = 500 * 1024 * 1024
export const MAX_GO_MOD_BYTES = 16 * 1024 * 1024
const MAX_LICENSE_BYTES = 16 * 1024 * 1024
/** Entries read at most from a module zip's directory. */
const MAX_ENTRIES = 100_000

/** What a checked module zip holds that the upload needs. */
export interface CheckedZip {
  /** The module's own `go.mod` (at the zip's module root), if it has one. */
  readonly goMod: Buffer | undefined
  readonly files: number
}

/**
 * Checks a module zip stored in the blob store against the go command's rules for module zips
 * (https://go.dev/ref/mod#zip-files, golang.org/x/mod/zip `CheckZip`) before it is recorded:
 * every file is below `<module>@<version>/`, no path leaves that root or is absolute, has an empty,
 * `.` or `..` element or a backslash, no two paths differ only in case, no symbolic link, and the
 * unpacked sizes stay within the limits. Reads the zip's directory and its `go.mod` by ranges of
 * the stored blob: nothing is held whole. Refusals are BAD_REQUEST naming the file.
 */
export async function checkModuleZip(blobs: BlobStore, blob: { sha256: string; size: number }, module: string, version: string): Promise<CheckedZip> {
  const reader = new BlobRangeReader(blobs, blob.sha256)
  let zip: yauzl.ZipFile
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(reader, blob.size, { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true, strictFileNames: false })
  } catch (err) {
    throw bad(`the upload is not a zip archive: ${(err as Error).message}`)
  }
  const prefix = `${module}@${version}/`
  const seen = new Set<string>()
  let unpacked = 0
  let files = 0
  let goModEntry: yauzl.Entry | undefined
  try {
    for await (const entry of entriesOf(zip)) {
      if (++files > MAX_ENTRIES) throw bad(`the module zip has more than ${MAX_ENTRIES} files`)
      const name = entry.fileName
      if (!name.startsWith(prefix)) throw bad(`'${name}' is not below '${prefix}': every file of a module zip is`)
      const isDirectory = name.endsWith('/')
      const inModule = isDirectory ? name.slice(prefix.length, -1) : name.slice(prefix.length)
      if (inModule === '' && isDirectory) continue
      const problem = filePathProblem(inModule)
      if (problem) throw bad(`'${name}': ${problem}`)
      const mode = (entry.externalFileAttributes >>> 16) & 0o170000
      if (mode === 0o120000) throw bad(`'${name}' is a symbolic link: a module zip holds regular files only`)
      if (isDirectory) continue
      const folded = inModule.toLowerCase()
      if (seen.has(folded)) throw bad(`'${name}' is in the zip twice (paths differing only in case count as one)`)
      seen.add(folded)
      unpacked += entry.uncompressedSize
      if (unpacked > MAX_ZIP_BYTES) throw bad(`the module zip unpacks to more than ${MAX_ZIP_BYTES} bytes`)
      if (inModule === 'go.mod') {
        if (entry.uncompressedSize > MAX_GO_MOD_BYTES) throw bad(`go.mod is larger than ${MAX_GO_MOD_BYTES} bytes`)
        goModEntry = entry
      }
      if (inModule === 'LICENSE' && entry.uncompressedSize > MAX_LICENSE_BYTES) throw bad(`LICENSE is larger than ${MAX_LICENSE_BYTES} bytes`)
    }
    files = seen.size
    let goMod: Buffer | undefined
    if (goModEntry) {
      const stream = await zip.openReadStreamPromise(goModEntry)
      goMod = await readLimited(stream, MAX_GO_MOD_BYTES, () => bad(`go.mod is larger than ${MAX_GO_MOD_BYTES} bytes`))
    }
    return { goMod, files }
  } catch (err) {
    if (err instanceof TroveError) throw err
    throw bad(`the module zip cannot be read: ${(err as Error).message}`)
  } finally {
    zip.close()
  }
}

/**
 * Why a file path inside a module is refused (golang.org/x/mod/module `CheckFilePath`, the rules
 * that keep a path inside the module's folder on every system), or undefined.
 */
export function filePathProblem(path: string): string | undefined {
  if (path === '') return 'an empty file path'
  if (path.startsWith('/')) return 'an absolute path'
  if (path.includes('\\')) return 'a backslash in a path'
  if (/[\x00-\x1f\x7f]/.test(path)) return 'a control character in a path'
  for (const element of path.split('/')) {
    if (element === '') return 'an empty path element'
    if (element === '.' || element === '..') return `a '${element}' path element`
    if (/^[A-Za-z]:$/.test(element)) return 'a drive letter'
  }
  return undefined
}

/** A zip's entries one by one (lazyEntries), as they are read from its directory. */
async function* entriesOf(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
      const onEntry = (e: yauzl.Entry) => settle(() => resolve(e))
      const onEnd = () => settle(() => resolve(null))
      const onError = (err: Error) => settle(() => reject(err))
      const settle = (then: () => void) => {
        zip.off('entry', onEntry).off('end', onEnd).off('error', onError)
        then()
      }
      zip.on('entry', onEntry).on('end', onEnd).on('error', onError)
      zip.readEntry()
    })
    if (entry === null) return
    yield entry
  }
}

function bad(message: string): TroveError {
  return new TroveError('BAD_REQUEST', `invalid module zip: ${message}`)
}

/** Ranges of a stored blob for yauzl; each range is one ranged read of the blob store (module zips are small). */
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
      (err: Error) => out.destroy(err),
    )
    return out
  }
}
