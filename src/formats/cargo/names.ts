import { TroveError } from '../../core/index.js'

/** A crate name as the registries take it: ASCII letters first, then letters, digits, `-`, `_`; at most 64. */
const CRATE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/
/** SemVer 2.0 as Cargo's `semver` crate parses it (no leading zeros, no `v`). */
const VERSION =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/

export function isCrateName(name: string): boolean {
  return CRATE_NAME.test(name)
}

export function assertCrateName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !isCrateName(name)) {
    throw new TroveError('NAME_INVALID', `invalid crate name '${String(name)}': ASCII letters, digits, '-' and '_', starting with a letter, at most 64 characters`)
  }
}

export function isCrateVersion(version: string): boolean {
  return version.length <= 256 && VERSION.test(version)
}

export function assertCrateVersion(version: unknown): asserts version is string {
  if (typeof version !== 'string' || !isCrateVersion(version)) throw new TroveError('BAD_REQUEST', `invalid crate version '${String(version)}': it must be SemVer 2.0`)
}

/** The version without its build metadata: `1.0.0+a` and `1.0.0+b` are one version to Cargo. */
export function withoutBuild(version: string): string {
  const plus = version.indexOf('+')
  return plus < 0 ? version : version.slice(0, plus)
}

/**
 * Where a crate's index file is in the sparse index (Cargo's layout, on the lower-cased name):
 * `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`.
 */
export function indexFileOf(name: string): string {
  const lower = name.toLowerCase()
  if (lower.length === 1) return `1/${lower}`
  if (lower.length === 2) return `2/${lower}`
  if (lower.length === 3) return `3/${lower[0]}/${lower}`
  return `${lower.slice(0, 2)}/${lower.slice(2, 4)}/${lower}`
}

/** The crate name an index file path names (`3/s/syn` → `syn`), if the path is one. */
export function crateOfIndexFile(path: string): string | undefined {
  const parts = path.split('/')
  const name = parts[parts.length - 1]!
  if (!isCrateName(name) || name !== name.toLowerCase()) return undefined
  return indexFileOf(name) === path ? name : undefined
}

/** The folder of a crate's archives: its lower-cased name (names differing only in case are one crate). */
export function crateFolder(name: string): string {
  return name.toLowerCase()
}

/** Where a crate version's archive is stored: `<name>/<name>-<version>.crate`, lower-cased name. */
export function cratePath(name: string, version: string): string {
  const lower = name.toLowerCase()
  return `${lower}/${lower}-${version}.crate`
}

/** The name and version a stored archive path names, if it is one. */
export function parseCratePath(path: string): { readonly name: string; readonly version: string } | undefined {
  const match = /^([a-z][a-z0-9_-]{0,63})\/([a-z][a-z0-9_-]{0,63})-(\d[^/]*)\.crate$/.exec(path)
  if (!match || match[1] !== match[2] || !isCrateVersion(match[3]!)) return undefined
  return { name: match[1]!, version: match[3]! }
}

/** A `dl` template's `{prefix}`: the index file's folder for the name as written (`3/s`, `Se/rd`). */
export function prefixOf(name: string): string {
  if (name.length <= 2) return String(name.length)
  if (name.length === 3) return `3/${name[0]}`
  return `${name.slice(0, 2)}/${name.slice(2, 4)}`
}
