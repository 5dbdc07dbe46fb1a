import { basename, posix } from 'node:path'
import hostedGitInfo from 'hosted-git-info'
import semver from 'semver'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

/** What a manifest's normalization may look up among the tarball's files. */
export interface TarballFiles {
  /** Regular files, relative to the package root (the tarball's first folder stripped). */
  readonly paths: ReadonlySet<string>
}

/**
 * The fields compared between the metadata a client sends and the package.json inside the
 * tarball: those that decide what `npm install` fetches and runs. A difference is 'manifest
 * confusion' (the registry would advertise other dependencies or scripts than the ones installed).
 */
export const COMPARED_FIELDS = ['name', 'version', 'dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'scripts', 'bin'] as const

/** Scripts the npm CLI adds from files of the package folder that may not be in the tarball. */
const DERIVED_SCRIPTS: Readonly<Record<string, string>> = { install: 'node-gyp rebuild', start: 'node server.js' }

/**
 * Normalizes a manifest the way the npm CLI prepares one for publishing (`@npmcli/package-json`'s
 * prepare steps, for the fields that matter to installs), looking at the tarball's files where npm
 * looks at the package folder. Both sides of the comparison go through it, so that a client that
 * sends its manifest normalized (npm, pnpm) and one that sends it as written (yarn) both match
 * the tarball's raw package.json. Returns a new object.
 */
export function normalizeManifest(input: JsonObject, files: TarballFiles): JsonObject {
  const data = structuredClone(input)
  if (typeof data.name === 'string') data.name = data.name.trim()
  if (typeof data.version === 'string') data.version = semver.clean(data.version, { loose: true }) ?? data.version
  for (const key of Object.keys(data)) if (key.startsWith('_')) delete data[key]

  // bundledDependencies is a historical spelling; true means 'all dependencies'.
  if (data.bundleDependencies === undefined && data.bundledDependencies !== undefined) data.bundleDependencies = data.bundledDependencies
  delete data.bundledDependencies
  const bundled = data.bundleDependencies
  if (bundled === true) data.bundleDependencies = isObject(data.dependencies) ? Object.keys(data.dependencies) : []
  else if (isObject(bundled)) data.bundleDependencies = Object.keys(bundled)
  else if (bundled !== undefined && !Array.isArray(bundled)) delete data.bundleDependencies

  const scripts = isObject(data.scripts) ? data.scripts : {}
  if (!scripts.install && !scripts.preinstall && data.gypfile !== false && [...files.paths].some((p) => !p.includes('/') && p.endsWith('.gyp'))) {
    scripts.install = DERIVED_SCRIPTS.install!
    data.scripts = scripts
    data.gypfile = true
  }
  if (!scripts.start && files.paths.has('server.js')) {
    scripts.start = DERIVED_SCRIPTS.start!
    data.scripts = scripts
  }
  if (data.scripts !== undefined) {
    if (isObject(data.scripts)) {
      for (const [name, script] of Object.entries(data.scripts)) {
        if (typeof script !== 'string') delete data.scripts[name]
        else data.scripts[name] = script.replace(/^(\.[/\\])?node_modules[/\\].bin[\\/]/, '')
      }
    } else {
      delete data.scripts
    }
  }

  const directories = isObject(data.directories) ? data.directories : undefined
  if (typeof directories?.bin === 'string' && !data.bin) {
    const binPath = securePath(directories.bin)
    const bins: JsonObject = {}
    for (const path of [...files.paths].sort()) {
      if (!binPath || !path.startsWith(`${binPath}/`)) continue
      const relative = path.slice(binPath.length + 1)
      if (relative.startsWith('.')) continue
      bins[basename(relative)] = `${binPath}/${securePath(relative)}`
    }
    data.bin = bins
  } else {
    normalizeBin(data)
  }

  for (const type of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
    const value = dependencyObject(data[type])
    if (value === undefined) delete data[type]
    else data[type] = value
  }
  for (const type of ['dependencies', 'devDependencies']) {
    const deps = data[type]
    if (!isObject(deps)) continue
    for (const [name, spec] of Object.entries(deps)) {
      if (typeof spec !== 'string') {
        delete deps[name]
        continue
      }
      const hosted = hostedGitInfo.fromUrl(spec)?.toString()
      if (hosted) deps[name] = hosted
    }
  }
  return data
}

/**
 * Names the compared fields in which the declared manifest differs from the tarball's (both
 * normalized). Scripts that npm derives from files the tarball does not contain (a `*.gyp`,
 * `server.js`) are tolerated on the declared side only.
 */
export function manifestDifferences(declared: JsonObject, fromTarball: JsonObject): string[] {
  const differences: string[] = []
  for (const field of COMPARED_FIELDS) {
    let left = declared[field]
    const right = fromTarball[field]
    if (field === 'scripts' && isObject(left)) {
      const tarballScripts = isObject(right) ? right : {}
      left = Object.fromEntries(
        Object.entries(left).filter(([name, script]) => !(DERIVED_SCRIPTS[name] === script && tarballScripts[name] === undefined)),
      )
      if (Object.keys(left).length === 0 && right === undefined) left = undefined
    }
    if (!sameJson(left, right)) differences.push(field)
  }
  return differences
}

/** Deep equality of JSON values, ignoring the order of object keys. */
export function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined || a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]))
  }
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]))
}

/** True for an install-time script npm runs: what the abbreviated packument calls `hasInstallScript`. */
export function hasInstallScript(manifest: JsonObject): boolean {
  const scripts = manifest.scripts
  return isObject(scripts) && ['preinstall', 'install', 'postinstall'].some((s) => typeof scripts[s] === 'string')
}

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** npm's `bin` rules: a string binds the package's own name, an array binds basenames; bad entries go. */
function normalizeBin(data: JsonObject): void {
  let bin = data.bin
  if (!bin) {
    delete data.bin
    return
  }
  if (typeof bin === 'string' && typeof data.name === 'string') bin = { [data.name]: bin }
  else if (Array.isArray(bin)) bin = Object.fromEntries(bin.filter((b) => typeof b === 'string').map((b) => [basename(b as string), b]))
  if (!isObject(bin)) {
    delete data.bin
    return
  }
  const result: JsonObject = {}
  for (const [key, target] of Object.entries(bin)) {
    if (typeof target !== 'string') continue
    const name = basename(securePath(key))
    const path = securePath(target)
    if (name && path) result[name] = path
  }
  if (Object.keys(result).length === 0) delete data.bin
  else data.bin = result
}

/** A path made relative to the package root and unable to escape it; `''` when nothing is left. */
function securePath(ref: string): string {
  const unixify = (s: string) => s.replace(/\\|:/g, '/')
  const secured = unixify(posix.join('.', posix.join('/', unixify(ref))))
  return secured.startsWith('./') ? '' : secured
}

/** npm accepts dependencies written as a string or a list of `name@range`; both become objects. */
function dependencyObject(value: Json | undefined): Json | undefined {
  let list: Json[] | undefined
  if (typeof value === 'string') list = value.trim().split(/[\n\r\s\t ,]+/)
  else if (Array.isArray(value)) list = value
  if (!list) return value
  const result: JsonObject = {}
  for (const entry of list) {
    if (typeof entry !== 'string') continue
    const parts = entry.trim().split(/(:?[@\s><=])/)
    const name = parts.shift() ?? ''
    result[name] = parts.join('').replace(/^@/, '').trim()
  }
  return result
}
