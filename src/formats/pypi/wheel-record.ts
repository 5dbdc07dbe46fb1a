/**
 * A wheel's `RECORD` (PEP 376, PEP 427; the binary distribution format specification): one CSV
 * row per file of the wheel, `path,algorithm=urlsafe-base64-digest,size`. Installers must check
 * every file against it, so a wheel whose RECORD is missing or does not describe its files is
 * refused at upload rather than found out by every client.
 */

/** One row of a RECORD. */
export interface RecordRow {
  readonly path: string
  /** `sha256=…` split at its first `=`; absent when the field is empty. */
  readonly hash?: { readonly algorithm: string; readonly digest: string }
  /** Absent when the field is empty. */
  readonly size?: number
  /** 1-based, for messages. */
  readonly line: number
}

/**
 * The digests RECORD may use, by hashlib name → node:crypto name. The specification asks for
 * sha256 or stronger and names md5 and sha1 as not permitted; these are the ones of Python's
 * `hashlib.algorithms_guaranteed` that are at least as strong (blake2 at its default size; the
 * shake functions have no fixed size, and installers cannot check them).
 */
export const RECORD_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['sha256', 'sha256'],
  ['sha384', 'sha384'],
  ['sha512', 'sha512'],
  ['sha3_256', 'sha3-256'],
  ['sha3_384', 'sha3-384'],
  ['sha3_512', 'sha3-512'],
  ['blake2b', 'blake2b512'],
  ['blake2s', 'blake2s256'],
])

/** Whether a wheel file is exempt from RECORD: RECORD itself and its signatures (PEP 427). */
export function isRecordExempt(path: string, distInfo: string): boolean {
  return path === `${distInfo}/RECORD` || path === `${distInfo}/RECORD.jws` || path === `${distInfo}/RECORD.p7s`
}

/**
 * Parses RECORD as Python's `csv.reader` does (the "excel" dialect installers use): commas,
 * double quotes around a field that holds a comma, a quote or a line break, `""` for a quote.
 * Returns the rows and what is wrong with the text (each row needs exactly three fields; blank
 * lines are skipped). Backslashes in paths become slashes, as the zip reader treats names.
 */
export function parseRecord(text: string): { rows: RecordRow[]; issues: string[] } {
  const rows: RecordRow[] = []
  const issues: string[] = []
  let line = 1
  let rowLine = 1
  let fields: string[] = []
  let field = ''
  let isQuoted = false
  let isFieldStarted = false
  const endField = () => {
    fields.push(field)
    field = ''
    isFieldStarted = false
  }
  const endRow = () => {
    if (isFieldStarted || fields.length > 0) {
      endField()
      const row = rowOf(fields, rowLine)
      if (typeof row === 'string') issues.push(row)
      else rows.push(row)
    }
    fields = []
    rowLine = line
  }
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (isQuoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (char === '"') {
        isQuoted = false
      } else {
        if (char === '\n') line++
        field += char
      }
    } else if (char === '"' && !isFieldStarted) {
      isQuoted = true
      isFieldStarted = true
    } else if (char === ',') {
      endField()
    } else if (char === '\r' || char === '\n') {
      if (char === '\r' && text[i + 1] === '\n') i++
      line++
      endRow()
    } else {
      field += char
      isFieldStarted = true
    }
  }
  endRow()
  return { rows, issues }
}

function rowOf(fields: readonly string[], line: number): RecordRow | string {
  if (fields.length !== 3) return `line ${line} of RECORD has ${fields.length} fields, not 3`
  const [rawPath = '', hash = '', size = ''] = fields
  const path = rawPath.replace(/\\/g, '/')
  if (path === '') return `line ${line} of RECORD has no path`
  const row: { path: string; line: number; hash?: RecordRow['hash']; size?: number } = { path, line }
  if (hash !== '') {
    const equals = hash.indexOf('=')
    if (equals <= 0) return `line ${line} of RECORD: '${hash}' is not algorithm=digest`
    row.hash = { algorithm: hash.slice(0, equals), digest: hash.slice(equals + 1) }
  }
  if (size !== '') {
    if (!/^\d+$/.test(size) || !Number.isSafeInteger(Number(size))) return `line ${line} of RECORD: the size '${size}' is not a number of bytes`
    row.size = Number(size)
  }
  return row
}

/** What the checks need of an archive entry. */
export interface ArchiveFile {
  readonly path: string
  /** Uncompressed, as the zip's central directory declares it. */
  readonly size: number
}

/**
 * Compares RECORD with the wheel's files without reading them: every file (but RECORD and its
 * signatures) listed exactly once, with a permitted hash and the size the archive declares;
 * nothing listed that the archive lacks. Returns what is wrong, in archive order.
 */
export function compareRecord(rows: readonly RecordRow[], files: readonly ArchiveFile[], distInfo: string): string[] {
  const issues: string[] = []
  const listed = new Map<string, RecordRow>()
  for (const row of rows) {
    if (listed.has(row.path)) issues.push(`RECORD lists '${row.path}' twice`)
    else listed.set(row.path, row)
  }
  const present = new Set<string>()
  for (const file of files) {
    if (present.has(file.path)) {
      // An installer would write one of them, and which one depends on the tool.
      issues.push(`the wheel holds '${file.path}' twice`)
      continue
    }
    present.add(file.path)
    if (isRecordExempt(file.path, distInfo)) continue
    const row = listed.get(file.path)
    if (!row) {
      issues.push(`'${file.path}' is not listed in RECORD`)
      continue
    }
    if (!row.hash || row.size === undefined) {
      issues.push(`RECORD has no ${row.hash ? 'size' : 'hash'} for '${file.path}'`)
      continue
    }
    if (!RECORD_ALGORITHMS.has(row.hash.algorithm)) {
      issues.push(`RECORD has a ${row.hash.algorithm} hash for '${file.path}': use sha256 or a stronger algorithm`)
      continue
    }
    if (row.size !== file.size) issues.push(`RECORD says '${file.path}' has ${row.size} bytes, the wheel holds ${file.size}`)
  }
  for (const row of listed.values()) {
    if (!present.has(row.path) && !isRecordExempt(row.path, distInfo)) issues.push(`RECORD lists '${row.path}', which is not in the wheel`)
  }
  return issues
}

/** A RECORD digest as hashlib spells it: urlsafe base64 without padding (padding is tolerated). */
export function isSameDigest(recorded: string, actual: Buffer): boolean {
  return recorded.replace(/=+$/, '') === actual.toString('base64url')
}
