import { TroveError, invalidField } from './errors.js'

/** DESIGN.md: `[a-z0-9][a-z0-9._-]{1,63}`. */
const REPOSITORY_KEY = /^[a-z0-9][a-z0-9._-]{1,63}$/
/** Keys that would shadow Trove's own URL space under `/artifactory/`. */
const RESERVED_KEYS = new Set(['api', 'ui', 'webapp', 'list', 'access'])

export const MAX_SEGMENT_LENGTH = 255
export const MAX_PATH_LENGTH = 1024

/** Refuses (NAME_INVALID) a key that is not a repository key; `field` names it when it comes from a request body. */
export function assertRepositoryKey(key: string, field?: string): void {
  const refuse = (message: string) => (field === undefined ? new TroveError('NAME_INVALID', message) : invalidField(field, message, 'NAME_INVALID'))
  if (!REPOSITORY_KEY.test(key)) {
    throw refuse(`invalid repository key '${key}': use 2 to 64 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit`)
  }
  if (RESERVED_KEYS.has(key)) throw refuse(`repository key '${key}' is reserved`)
}

/**
 * Validates an artifact path given as decoded segments joined by `/` (no leading slash; `''` is the
 * repository root). Refuses what could escape or alias a path: `.`/`..` segments, empty segments
 * (`//`), backslashes, NUL and other control characters, and over-long segments or paths.
 */
export function assertArtifactPath(path: string): void {
  if (path === '') return
  if (path.length > MAX_PATH_LENGTH) {
    throw new TroveError('PATH_INVALID', `path is longer than ${MAX_PATH_LENGTH} characters`)
  }
  for (const segment of path.split('/')) {
    if (segment === '') throw new TroveError('PATH_INVALID', `path '${path}' has an empty segment ('//')`)
    if (segment === '.' || segment === '..') {
      throw new TroveError('PATH_INVALID', `path '${path}' has a '${segment}' segment`)
    }
    if (segment.includes('\\')) throw new TroveError('PATH_INVALID', `path '${printable(path)}' contains a backslash`)
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(segment)) {
      throw new TroveError('PATH_INVALID', `path '${printable(path)}' contains a control character`)
    }
    if (Buffer.byteLength(segment) > MAX_SEGMENT_LENGTH) {
      throw new TroveError('PATH_INVALID', `a path segment is longer than ${MAX_SEGMENT_LENGTH} bytes`)
    }
  }
}

export interface RawRepositoryPath {
  readonly repoKey: string
  /** Decoded, validated, without leading or trailing slash. */
  readonly path: string
  /** The raw path ended with `/` (a folder). */
  readonly isFolder: boolean
  /** Matrix parameters (`;k=v;k=v2`), decoded; repeated keys give several values. */
  readonly matrix: ReadonlyMap<string, readonly string[]>
}

/**
 * Parses `<repo>/<path>[;k=v…]` as it appears in the URL (still percent-encoded), so that an
 * encoded `%2F`, `%3B` or `%2E%2E` is judged after decoding, segment by segment. Matrix
 * parameters may follow any segment, the repository key included: Artifactory documents
 * deploy URLs such as `qa-releases;buildNumber=249/org/acme/x.jar`. They are split off each
 * segment and name no part of the path.
 */
export function parseRepositoryPath(raw: string): RawRepositoryPath {
  const matrixParts: string[] = []
  const rawSegments = raw.split('/').map((segment) => {
    const semicolon = segment.indexOf(';')
    if (semicolon === -1) return segment
    matrixParts.push(segment.slice(semicolon + 1))
    return segment.slice(0, semicolon)
  })
  const matrix = parseMatrix(matrixParts.join(';'))
  const isFolder = rawSegments.length > 1 && rawSegments[rawSegments.length - 1] === ''
  if (isFolder) rawSegments.pop()
  const segments = rawSegments.map(decodeSegment)
  const repoKey = segments.shift() ?? ''
  assertRepositoryKey(repoKey)
  if (segments.some((s) => s.includes('/'))) {
    throw new TroveError('PATH_INVALID', 'an encoded slash (%2F) inside a path segment is not allowed')
  }
  const path = segments.join('/')
  assertArtifactPath(path)
  return { repoKey, path, isFolder: isFolder || path === '', matrix }
}

function parseMatrix(text: string): Map<string, string[]> {
  const matrix = new Map<string, string[]>()
  for (const pair of text.split(';')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = decodeSegment(eq === -1 ? pair : pair.slice(0, eq))
    const value = eq === -1 ? '' : decodeSegment(pair.slice(eq + 1))
    if (name === '') throw new TroveError('BAD_REQUEST', 'a matrix parameter has an empty name')
    const values = matrix.get(name) ?? []
    values.push(value)
    matrix.set(name, values)
  }
  return matrix
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new TroveError('PATH_INVALID', `path segment '${printable(segment)}' is not valid percent-encoding`)
  }
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** `a/b/c.txt` → `a/b`; `c.txt` → `''`. */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash === -1 ? '' : path.slice(0, slash)
}

export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** Every ancestor folder of a path, outermost first: `a/b/c` → `a`, `a/b`. */
export function ancestorsOf(path: string): string[] {
  const segments = path.split('/')
  return segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'))
}
