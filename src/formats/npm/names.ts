import validatePackageName from 'validate-npm-package-name'
import { TroveError } from '../../core/index.js'

/** An npm package name: `name` or `@scope/name`. */
export interface PackageName {
  /** As npm writes it: `lodash`, `@babel/core`. */
  readonly full: string
  /** Without the `@`, or `undefined` for an unscoped name. */
  readonly scope: string | undefined
  /** The part after the scope: `core` for `@babel/core`. */
  readonly bare: string
}

/**
 * Splits a package name, checking only its shape (at most one scope). Names that the npm rules
 * refuse for new packages are still readable: {@link assertPublishableName} is the stricter check.
 */
export function parsePackageName(text: string): PackageName {
  if (text.startsWith('@')) {
    const slash = text.indexOf('/')
    if (slash <= 1 || slash === text.length - 1 || text.indexOf('/', slash + 1) !== -1) {
      throw new TroveError('NAME_INVALID', `invalid package name '${text}': a scoped name is '@scope/name'`)
    }
    return { full: text, scope: text.slice(1, slash), bare: text.slice(slash + 1) }
  }
  if (text === '' || text.includes('/')) throw new TroveError('NAME_INVALID', `invalid package name '${text}'`)
  return { full: text, scope: undefined, bare: text }
}

/** Refuses a name that `validate-npm-package-name` does not accept for new packages (lower case, URL-safe, ≤ 214 characters …). */
export function assertPublishableName(name: PackageName): void {
  const result = validatePackageName(name.full)
  if (!result.validForNewPackages) {
    const problems = [...(result.errors ?? []), ...(result.warnings ?? [])]
    throw new TroveError('NAME_INVALID', `invalid package name '${name.full}': ${problems.join('; ')}`)
  }
}

/** The tarball's file name, as npm names it: `core-7.0.0.tgz` for `@babel/core@7.0.0`. */
export function tarballFileName(name: PackageName, version: string): string {
  return `${name.bare}-${version}.tgz`
}

/** Where the tarball is stored, the path Artifactory uses: `@babel/core/-/core-7.0.0.tgz`. */
export function tarballPath(name: PackageName, version: string): string {
  return `${name.full}/-/${tarballFileName(name, version)}`
}

/** A package name and what follows it in a registry URL. */
export interface PackagePath {
  readonly name: PackageName
  /** The decoded segments after the name (`['-', 'x-1.0.0.tgz']`, `['1.0.0']`, `[]`). */
  readonly rest: readonly string[]
}

/**
 * Parses the part of a registry URL after `/<repo>/`, still percent-encoded. A scoped name comes
 * as `@scope%2fname` (npm) or `@scope/name` (yarn, browsers); both name the same package.
 */
export function parsePackagePath(raw: string): PackagePath {
  const segments = raw.split('/').map(decodeSegment)
  const first = segments.shift() ?? ''
  let name: string
  if (first.startsWith('@') && !first.includes('/')) {
    const second = segments.shift()
    if (second === undefined) throw new TroveError('NAME_INVALID', `invalid package name '${first}': a scoped name is '@scope/name'`)
    name = `${first}/${second}`
  } else {
    name = first
  }
  if (segments.some((s) => s.includes('/') || s === '')) throw new TroveError('PATH_INVALID', `invalid registry path '${raw}'`)
  return { name: parsePackageName(name), rest: segments }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new TroveError('PATH_INVALID', `'${segment}' is not valid percent-encoding`)
  }
}
