import { TroveError } from '../../core/index.js'

/**
 * Maven's repository layout: `<groupId with dots as folders>/<artifactId>/<version>/<file>`, where
 * the file is `<artifactId>-<version>[-<classifier>].<extension>`; a SNAPSHOT version's files are
 * either `<artifactId>-<base>-SNAPSHOT…` (non-unique) or `<artifactId>-<base>-<yyyyMMdd.HHmmss>-<buildNumber>…`
 * (timestamped, what Maven 3 deploys). Checksums are the file's name plus `.sha1`, `.md5`, `.sha256`, `.sha512`.
 */

export const METADATA_NAME = 'maven-metadata.xml'

export type ChecksumAlgorithm = 'sha1' | 'md5' | 'sha256' | 'sha512'

const CHECKSUM_SUFFIXES: readonly ChecksumAlgorithm[] = ['sha1', 'md5', 'sha256', 'sha512']

/** Hex digest lengths, to recognise a checksum file's value. */
export const CHECKSUM_HEX_LENGTH: Readonly<Record<ChecksumAlgorithm, number>> = { sha1: 40, md5: 32, sha256: 64, sha512: 128 }

const SNAPSHOT = '-SNAPSHOT'
const TIMESTAMPED = /^(\d{8}\.\d{6})-(\d+)/

/** `a/b.jar.sha1` → the file it is the checksum of and the algorithm; `undefined` for other paths. */
export function checksumOf(path: string): { readonly target: string; readonly algorithm: ChecksumAlgorithm } | undefined {
  const dot = path.lastIndexOf('.')
  if (dot <= 0 || path.lastIndexOf('/') > dot) return undefined
  const suffix = path.slice(dot + 1) as ChecksumAlgorithm
  if (!CHECKSUM_SUFFIXES.includes(suffix)) return undefined
  const target = path.slice(0, dot)
  if (target.endsWith('/')) return undefined
  return { target, algorithm: suffix }
}

export function nameOfPath(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

export function folderOfPath(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash === -1 ? '' : path.slice(0, slash)
}

/** Whether `path` is a `maven-metadata.xml` (at any level). */
export function isMetadataFile(path: string): boolean {
  return nameOfPath(path) === METADATA_NAME
}

export function isSnapshotVersion(version: string): boolean {
  return version.endsWith(SNAPSHOT)
}

/** `1.0-SNAPSHOT` → `1.0`. */
export function baseOfSnapshot(version: string): string {
  return version.slice(0, -SNAPSHOT.length)
}

/** A file in Maven's layout, with what its path says. */
export interface MavenFile {
  /** `org/acme` */
  readonly groupPath: string
  /** `org.acme` */
  readonly groupId: string
  readonly artifactId: string
  /** The version folder: `1.0`, `1.0-SNAPSHOT`. */
  readonly version: string
  readonly fileName: string
  /** Timestamped SNAPSHOT files: `20240101.120000`, and the build number. */
  readonly timestamp?: string
  readonly buildNumber?: number
  /** `sources`, `javadoc`, …; `''` for the main artifact. */
  readonly classifier: string
  /** `jar`, `pom`, `tar.gz`, `jar.asc` … */
  readonly extension: string
}

/**
 * Reads a file path in Maven's layout. Throws `PATH_INVALID`, with what the layout expects, when
 * the path is too short or the file name does not belong to its version folder (a file named for
 * another version, a typo in the artifactId): such a file could never be resolved by Maven.
 */
export function parseArtifactPath(path: string): MavenFile {
  const segments = path.split('/')
  if (segments.length < 4) {
    throw new TroveError(
      'PATH_INVALID',
      `'${path}' is not a Maven artifact path: expected <groupId as folders>/<artifactId>/<version>/<artifactId>-<version>[-<classifier>].<extension>`,
    )
  }
  const fileName = segments[segments.length - 1]!
  const version = segments[segments.length - 2]!
  const artifactId = segments[segments.length - 3]!
  const groupSegments = segments.slice(0, -3)
  const file = parseFileName(fileName, artifactId, version)
  if (!file) {
    const expected = isSnapshotVersion(version)
      ? `'${artifactId}-${version}' or '${artifactId}-${baseOfSnapshot(version)}-<yyyyMMdd.HHmmss>-<buildNumber>'`
      : `'${artifactId}-${version}'`
    throw new TroveError(
      'PATH_INVALID',
      `file name '${fileName}' does not match its version folder '${artifactId}/${version}': Maven expects it to start with ${expected}, then [-<classifier>].<extension>`,
    )
  }
  return { groupPath: groupSegments.join('/'), groupId: groupSegments.join('.'), artifactId, version, fileName, ...file }
}

/** The parts of a file name after `<artifactId>-<version>`; `undefined` when it does not belong to that version. */
export function parseFileName(
  fileName: string,
  artifactId: string,
  version: string,
): { timestamp?: string; buildNumber?: number; classifier: string; extension: string } | undefined {
  const prefix = `${artifactId}-`
  if (!fileName.startsWith(prefix)) return undefined
  const rest = fileName.slice(prefix.length)
  if (rest.startsWith(version)) {
    const tail = splitTail(rest.slice(version.length))
    if (tail) return tail
  }
  if (isSnapshotVersion(version)) {
    const base = baseOfSnapshot(version)
    if (rest.startsWith(`${base}-`)) {
      const match = TIMESTAMPED.exec(rest.slice(base.length + 1))
      if (match) {
        const tail = splitTail(rest.slice(base.length + 1 + match[0].length))
        if (tail) return { timestamp: match[1]!, buildNumber: Number(match[2]), ...tail }
      }
    }
  }
  return undefined
}

/** `-sources.jar` → classifier and extension; `.pom` → extension; anything else does not fit. */
function splitTail(tail: string): { classifier: string; extension: string } | undefined {
  // `a-1.0.1.jar` is not a file of version `1.0`: an extension never starts with a digit.
  if (tail.startsWith('.') && tail.length > 1) return /^\.\d/.test(tail) ? undefined : { classifier: '', extension: tail.slice(1) }
  if (tail.startsWith('-')) {
    const dot = tail.indexOf('.')
    if (dot > 1 && dot < tail.length - 1) return { classifier: tail.slice(1, dot), extension: tail.slice(dot + 1) }
  }
  return undefined
}
