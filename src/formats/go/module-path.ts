import { notFound, TroveError } from '../../core/index.js'
import { isCanonicalVersion, majorOf } from './go-semver.js'

/**
 * Module paths and what the GOPROXY protocol asks for (https://go.dev/ref/mod#goproxy-protocol).
 * On the wire and in storage a module path is case-encoded: each upper-case letter is `!` and its
 * lower-case form, so `github.com/Azure/x` is `github.com/!azure/x` (safe on case-insensitive
 * file systems, and one spelling per module).
 */

/** The longest module path accepted. */
const MAX_PATH = 1024

/** `github.com/Azure/x` → `github.com/!azure/x`. */
export function escapePath(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)
}

/** `github.com/!azure/x` → `github.com/Azure/x`; undefined when it is no case-encoded path (an upper-case letter, a `!` before anything but a-z). */
export function unescapePath(escaped: string): string | undefined {
  if (/[A-Z]/.test(escaped) || /![^a-z]|!$/.test(escaped)) return undefined
  return escaped.replace(/!([a-z])/g, (_m, c: string) => c.toUpperCase())
}

/**
 * Why a module path is not one the go command accepts (golang.org/x/mod/module `CheckPath`, the
 * rules that matter to a proxy), or undefined. Elements are non-empty, of ASCII letters, digits
 * and `-._~`, neither starting nor ending with a dot; the first has a dot, is lower-case, and
 * starts with no `-`.
 */
export function modulePathProblem(path: string): string | undefined {
  if (path === '' || path.length > MAX_PATH) return 'a module path has 1 to 1024 characters'
  const elements = path.split('/')
  for (const element of elements) {
    if (element === '') return 'a module path has no empty element (no leading, trailing or double slash)'
    if (!/^[A-Za-z0-9._~-]+$/.test(element)) return `'${element}' has characters other than ASCII letters, digits and -._~`
    if (element.startsWith('.') || element.endsWith('.')) return `'${element}' starts or ends with a dot`
  }
  const first = elements[0]!
  if (!first.includes('.')) return `the first element '${first}' has no dot (it must be a host name)`
  if (first.startsWith('-') || /[A-Z_~]/.test(first)) return `the first element '${first}' must be a lower-case host name`
  return undefined
}

/**
 * Whether `version` may be a version of `path`: a major version suffix `/vN` (N ≥ 2) needs a
 * `vN.*` version; without one, `v0`/`v1` or `+incompatible` (gopkg.in's `.vN` is left alone).
 */
export function versionMatchesPath(path: string, version: string): boolean {
  if (path.startsWith('gopkg.in/')) return true
  const suffix = /\/(v[0-9]+)$/.exec(path)?.[1]
  const major = majorOf(version)
  if (suffix && suffix !== 'v0' && suffix !== 'v1') return major === suffix && !version.endsWith('+incompatible')
  return major === 'v0' || major === 'v1' || version.endsWith('+incompatible')
}

/** One GOPROXY request below `<proxy>/`. */
export type ProxyRequest =
  | { readonly kind: 'list'; readonly module: string; readonly escaped: string }
  | { readonly kind: 'latest'; readonly module: string; readonly escaped: string }
  | { readonly kind: 'file'; readonly module: string; readonly escaped: string; readonly version: string; readonly ext: ModuleFileExt }

export const MODULE_FILE_EXTS = ['info', 'mod', 'zip'] as const
export type ModuleFileExt = (typeof MODULE_FILE_EXTS)[number]

/**
 * Reads a GOPROXY path (`<escaped module>/@v/list`, `/@v/<escaped version>.<info|mod|zip>`,
 * `/@latest`). NOT_FOUND for anything else, as a proxy answers paths it does not serve (go then
 * reports the status and the text). A version must be canonical; the module path valid.
 */
export function parseProxyPath(rest: string): ProxyRequest {
  let match = /^(.+)\/@v\/list$/.exec(rest)
  if (match) return { kind: 'list', ...modulePart(match[1]!) }
  match = /^(.+)\/@latest$/.exec(rest)
  if (match) return { kind: 'latest', ...modulePart(match[1]!) }
  match = /^(.+)\/@v\/([^/]+)\.(info|mod|zip)$/.exec(rest)
  if (!match) throw notFound(`not a module proxy path: '${rest}'`)
  const version = unescapePath(match[2]!)
  if (version === undefined || !isCanonicalVersion(version)) throw notFound(`'${match[2]}' is not a canonical module version`)
  const module = modulePart(match[1]!)
  return { kind: 'file', ...module, version, ext: match[3] as ModuleFileExt }
}

function modulePart(escaped: string): { module: string; escaped: string } {
  // An uploader may send the module path as written, upper case included (jf go-publish builds its URL from the module id): either spelling is read.
  const module = /[A-Z]/.test(escaped) ? escaped : unescapePath(escaped)
  const problem = module === undefined ? `'${escaped}' is not a case-encoded module path` : modulePathProblem(module)
  if (problem !== undefined) throw notFound(`invalid module path: ${problem}`)
  return { module: module!, escaped: escapePath(module!) }
}

/** Where a module version's file is stored: `<escaped module>/@v/<escaped version>.<ext>`. */
export function filePath(escapedModule: string, version: string, ext: ModuleFileExt): string {
  return `${escapedModule}/@v/${escapePath(version)}.${ext}`
}

/** The folder of a module's version files. */
export function versionsFolder(escapedModule: string): string {
  return `${escapedModule}/@v`
}

/** A refusal of an upload, with go's words where it has some. */
export function badUpload(message: string): TroveError {
  return new TroveError('BAD_REQUEST', message)
}
