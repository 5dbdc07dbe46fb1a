import Database from 'better-sqlite3'
import { ScanFailure } from '../../core/index.js'

/** A package an OS package database lists as installed, before its ecosystem (the release) is known. */
export interface OsPackage {
  readonly name: string
  readonly version: string
  /** The source package (dpkg `Source:`, apk `o:`, rpm `SOURCERPM` name) when it differs from `name`. */
  readonly source?: { readonly name: string; readonly version: string } | undefined
}

/** RFC 822-like paragraphs (dpkg status, apk installed): blank-line separated, continuation lines skipped. */
function* paragraphs(text: string): Generator<string[]> {
  let current: string[] = []
  for (const line of text.split('\n')) {
    const trimmed = line.replace(/\r$/, '')
    if (trimmed.trim() === '') {
      if (current.length > 0) yield current
      current = []
    } else if (!/^[ \t]/.test(trimmed)) current.push(trimmed)
  }
  if (current.length > 0) yield current
}

/**
 * Installed packages of a dpkg status file (`var/lib/dpkg/status`, or one file of distroless
 * images' `status.d/`): those whose `Status` ends in `installed` (or that have none). `Source: name
 * (version)` names the source package, which is what Debian and Ubuntu advisories list.
 */
export function parseDpkgStatus(text: string): OsPackage[] {
  const found: OsPackage[] = []
  for (const lines of paragraphs(text)) {
    let name: string | undefined
    let version: string | undefined
    let status: string | undefined
    let source: string | undefined
    for (const line of lines) {
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const key = line.slice(0, colon)
      const value = line.slice(colon + 1).trim()
      if (key === 'Package') name = value
      else if (key === 'Version') version = value
      else if (key === 'Status') status = value
      else if (key === 'Source') source = value
    }
    if (!name || !version) continue
    if (status !== undefined && !/\binstalled$/.test(status)) continue
    let sourcePackage: OsPackage['source']
    if (source) {
      const match = /^(\S+)(?:\s*\(([^)]+)\))?/.exec(source)
      if (match && (match[1] !== name || (match[2] !== undefined && match[2] !== version))) {
        sourcePackage = { name: match[1]!, version: match[2]?.trim() ?? version }
      }
    }
    found.push({ name, version, source: sourcePackage })
  }
  return found
}

/** Installed packages of apk's `lib/apk/db/installed`: `P:` name, `V:` version, `o:` origin (the source package). */
export function parseApkInstalled(text: string): OsPackage[] {
  const found: OsPackage[] = []
  for (const lines of paragraphs(text)) {
    let name: string | undefined
    let version: string | undefined
    let origin: string | undefined
    for (const line of lines) {
      if (line.startsWith('P:')) name = line.slice(2).trim()
      else if (line.startsWith('V:')) version = line.slice(2).trim()
      else if (line.startsWith('o:')) origin = line.slice(2).trim()
    }
    if (name && version) found.push({ name, version, source: origin && origin !== name ? { name: origin, version } : undefined })
  }
  return found
}

const RPMTAG_NAME = 1000
const RPMTAG_VERSION = 1001
const RPMTAG_RELEASE = 1002
const RPMTAG_EPOCH = 1003
const RPMTAG_SOURCERPM = 1044
const RPM_INT32 = 4
const RPM_STRING = 6

/**
 * Name, epoch, version and release of one RPM header blob as rpmdb.sqlite stores it (no lead,
 * no magic): a big-endian index count and data length, 16-byte index entries (tag, type, offset,
 * count), then the data. Every offset is checked against the blob; a malformed header is skipped.
 */
export function parseRpmHeader(blob: Buffer): OsPackage | undefined {
  if (blob.length < 8) return undefined
  const count = blob.readUInt32BE(0)
  const dataLength = blob.readUInt32BE(4)
  const dataStart = 8 + count * 16
  if (count > 100_000 || dataStart + dataLength > blob.length) return undefined
  const strings = new Map<number, string>()
  let epoch: number | undefined
  for (let i = 0; i < count; i++) {
    const at = 8 + i * 16
    const tag = blob.readUInt32BE(at)
    const type = blob.readUInt32BE(at + 4)
    const offset = blob.readUInt32BE(at + 8)
    if (offset >= dataLength) continue
    if (type === RPM_STRING && (tag === RPMTAG_NAME || tag === RPMTAG_VERSION || tag === RPMTAG_RELEASE || tag === RPMTAG_SOURCERPM)) {
      const start = dataStart + offset
      const end = blob.indexOf(0, start)
      if (end < 0 || end > dataStart + dataLength) continue
      strings.set(tag, blob.toString('utf8', start, end))
    } else if (type === RPM_INT32 && tag === RPMTAG_EPOCH && offset + 4 <= dataLength) {
      epoch = blob.readUInt32BE(dataStart + offset)
    }
  }
  const name = strings.get(RPMTAG_NAME)
  const version = strings.get(RPMTAG_VERSION)
  const release = strings.get(RPMTAG_RELEASE)
  if (!name || !version) return undefined
  const full = `${epoch ? `${epoch}:` : ''}${version}${release ? `-${release}` : ''}`
  // `openssl-3.0.7-27.el9.src.rpm` → `openssl`: name, version and release have no dash-free split, so strip the last two.
  const sourceRpm = strings.get(RPMTAG_SOURCERPM)
  const sourceName = sourceRpm?.replace(/\.src\.rpm$|\.nosrc\.rpm$/, '').replace(/-[^-]+-[^-]+$/, '')
  return { name, version: full, source: sourceName && sourceName !== name ? { name: sourceName, version: full } : undefined }
}

/** The packages of an rpmdb.sqlite file (a scratch copy: SQLite reads a file, and may write its journal next to it). */
export function readRpmSqlite(file: string, maxPackages: number): OsPackage[] {
  let db: Database.Database
  try {
    db = new Database(file, { fileMustExist: true })
  } catch (err) {
    throw new ScanFailure(`the RPM database is not a readable SQLite file: ${(err as Error).message}`)
  }
  try {
    const found: OsPackage[] = []
    for (const row of db.prepare('SELECT blob FROM Packages').iterate() as Iterable<{ blob: unknown }>) {
      if (!Buffer.isBuffer(row.blob)) continue
      const parsed = parseRpmHeader(row.blob)
      if (!parsed) continue
      if (found.length >= maxPackages) throw new ScanFailure(`the RPM database lists more than ${maxPackages} packages`)
      found.push(parsed)
    }
    return found
  } catch (err) {
    if (err instanceof ScanFailure) throw err
    throw new ScanFailure(`the RPM database cannot be read: ${(err as Error).message}`)
  } finally {
    db.close()
  }
}

/** `KEY=value` lines of an os-release file, quotes removed. */
export function parseOsRelease(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (match) fields.set(match[1]!, match[2]!.replace(/^["']|["']$/g, ''))
  }
  return fields
}

/** What an image says it runs, from its final file system (after every layer). */
export interface OsIdentity {
  readonly osRelease?: Map<string, string> | undefined
  readonly debianVersion?: string | undefined
  readonly alpineRelease?: string | undefined
}

const major = (version: string | undefined) => /^(\d+)/.exec(version ?? '')?.[1]

/**
 * The OSV ecosystem of the packages of one database kind, release-scoped as OSV names them:
 * `Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.18`, `Red Hat`, `AlmaLinux:9`, `Rocky Linux:9`. An
 * unknown release gives the bare name (which matches no release-scoped record).
 */
export function osEcosystem(kind: 'dpkg' | 'apk' | 'rpm', os: OsIdentity): string {
  const id = os.osRelease?.get('ID')?.toLowerCase()
  const versionId = os.osRelease?.get('VERSION_ID')
  if (kind === 'dpkg') {
    if (id === 'ubuntu' && versionId) return `Ubuntu:${versionId}${/LTS/.test(os.osRelease?.get('VERSION') ?? '') ? ':LTS' : ''}`
    const release = (id === 'debian' || id === undefined ? major(versionId) : undefined) ?? major(os.debianVersion)
    return release ? `Debian:${release}` : 'Debian'
  }
  if (kind === 'apk') {
    const release = /^(\d+\.\d+)/.exec(os.alpineRelease ?? versionId ?? '')?.[1]
    return release ? `Alpine:v${release}` : 'Alpine'
  }
  if (id === 'rhel') return 'Red Hat'
  if (id === 'almalinux') return major(versionId) ? `AlmaLinux:${major(versionId)}` : 'AlmaLinux'
  if (id === 'rocky') return major(versionId) ? `Rocky Linux:${major(versionId)}` : 'Rocky Linux'
  return os.osRelease?.get('NAME') ?? 'Red Hat'
}
