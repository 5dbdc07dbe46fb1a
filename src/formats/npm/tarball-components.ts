import { posix } from 'node:path'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import semver from 'semver'
import { Parser, type ReadEntry } from 'tar'
import { type Component, type ExtractionLimits, ScanFailure } from '../../core/index.js'

/**
 * The components of an npm package tarball, read as it streams (nothing is written to disk, so no
 * entry can land outside a scratch space, and symbolic links are never followed: they are only
 * counted). Found: the package itself; its declared `dependencies`, `optionalDependencies` and
 * `peerDependencies` (ranges as written); bundled packages (`node_modules/**\/package.json`); and
 * the packages of an `npm-shrinkwrap.json` or `package-lock.json` at the root.
 */
export async function extractNpmTarball(source: Readable, limits: ExtractionLimits): Promise<Component[]> {
  const files = new Map<string, Buffer>()
  let failure: ScanFailure | undefined
  let entries = 0
  let unpacked = 0
  let compressed = 0
  const fail = (message: string) => {
    failure ??= new ScanFailure(message)
    parser.abort(failure)
  }
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      entry.resume()
      if (failure) return
      entries++
      if (entries > limits.maxEntries) return fail(`more than ${limits.maxEntries} entries in the archive`)
      const raw = entry.path.replace(/\\/g, '/')
      if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.split('/').includes('..')) return fail(`entry '${raw}' leaves the package folder`)
      if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') return // folders, links: not followed
      const path = innerPath(raw)
      if (path === undefined || !isWanted(path)) return
      if (entry.size > limits.maxMetadataBytes) return fail(`${path} is larger than ${limits.maxMetadataBytes} bytes`)
      const chunks: Buffer[] = []
      let size = 0
      entry.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > limits.maxMetadataBytes) fail(`${path} is larger than ${limits.maxMetadataBytes} bytes`)
        else chunks.push(chunk)
      })
      entry.on('end', () => {
        if (!failure) files.set(path, Buffer.concat(chunks))
      })
    },
  })
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve())
    parser.on('error', (err: Error) => reject(failure ?? new ScanFailure(`not a readable tar archive: ${err.message}`)))
    parser.on('warn', (code: string, message: string) => {
      if (code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ENTRY_INVALID') fail(`not a readable tar archive: ${message}`)
    })
  })
  parsed.catch(() => {})

  const gunzip = createGunzip()
  source.on('data', (chunk: Buffer) => {
    compressed += chunk.length
  })
  try {
    for await (const chunk of source.pipe(gunzip) as AsyncIterable<Buffer>) {
      if (failure) break
      unpacked += chunk.length
      if (unpacked > limits.maxUnpackedBytes) fail(`the archive expands past ${limits.maxUnpackedBytes} bytes`)
      else if (unpacked > 1024 * 1024 && unpacked / Math.max(compressed, 1) > limits.maxCompressionRatio) {
        fail(`the archive expands more than ${limits.maxCompressionRatio} times (a compression bomb?)`)
      }
      if (failure) break
      if (!parser.write(chunk)) await new Promise<void>((resolve) => parser.once('drain', resolve))
    }
  } catch (err) {
    if (!failure) failure = new ScanFailure(`not a gzip-compressed tarball: ${(err as Error).message}`)
  } finally {
    source.destroy()
    gunzip.destroy()
  }
  if (failure) {
    parser.abort(failure)
    throw failure
  }
  parser.end()
  await parsed
  if (failure) throw failure
  return componentsOf(files, limits)
}

/** The path below the tarball's first folder (`package/`), normalised; undefined for the folder itself. */
function innerPath(raw: string): string | undefined {
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.length < 2) return undefined
  return posix.normalize(segments.slice(1).join('/'))
}

const BUNDLED = /^(?:node_modules\/(?:@[^/]+\/)?[^/@][^/]*\/)+package\.json$/

function isWanted(path: string): boolean {
  return path === 'package.json' || path === 'npm-shrinkwrap.json' || path === 'package-lock.json' || BUNDLED.test(path)
}

type Json = Record<string, unknown>

function parseObject(bytes: Buffer | undefined, what: string): Json | undefined {
  if (!bytes) return undefined
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new ScanFailure(`${what} is not valid JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ScanFailure(`${what} is not a JSON object`)
  return value as Json
}

function componentsOf(files: Map<string, Buffer>, limits: ExtractionLimits): Component[] {
  const found: Component[] = []
  const seen = new Set<string>()
  const add = (c: Component) => {
    const key = `${c.name}\0${c.version}\0${c.relation}\0${c.location}`
    if (seen.has(key) || typeof c.name !== 'string' || c.name === '' || typeof c.version !== 'string') return
    if (found.length >= limits.maxComponents) throw new ScanFailure(`more than ${limits.maxComponents} components`)
    seen.add(key)
    found.push(c)
  }
  const root = parseObject(files.get('package.json'), 'package.json')
  if (!root) throw new ScanFailure('the tarball has no package.json at its root')
  if (typeof root.name === 'string' && typeof root.version === 'string') {
    add({ ecosystem: 'npm', name: root.name, version: root.version, relation: 'self', location: 'package.json' })
  }
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
    const deps = root[field]
    if (typeof deps !== 'object' || deps === null) continue
    for (const [name, range] of Object.entries(deps as Json)) {
      if (typeof range === 'string') add({ ecosystem: 'npm', name, version: range, relation: 'dependency', location: `package.json ${field}` })
    }
  }
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!BUNDLED.test(path)) continue
    const manifest = parseObject(bytes, path)!
    if (typeof manifest.name === 'string' && typeof manifest.version === 'string') {
      add({ ecosystem: 'npm', name: manifest.name, version: manifest.version, relation: 'bundled', location: path })
    }
  }
  for (const lockfile of ['npm-shrinkwrap.json', 'package-lock.json']) {
    const lock = parseObject(files.get(lockfile), lockfile)
    if (!lock) continue
    // lockfileVersion 2 and 3: `packages`, keyed by install path.
    if (typeof lock.packages === 'object' && lock.packages !== null) {
      for (const [key, value] of Object.entries(lock.packages as Json)) {
        if (key === '' || typeof value !== 'object' || value === null) continue
        const entry = value as Json
        if (entry.link === true) continue
        const name = typeof entry.name === 'string' ? entry.name : key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length)
        if (typeof entry.version === 'string') add({ ecosystem: 'npm', name, version: entry.version, relation: 'locked', location: `${lockfile}: ${key}` })
      }
      continue
    }
    // lockfileVersion 1: nested `dependencies`.
    const walk = (deps: unknown, prefix: string, depth: number) => {
      if (typeof deps !== 'object' || deps === null || depth > 64) return
      for (const [name, value] of Object.entries(deps as Json)) {
        if (typeof value !== 'object' || value === null) continue
        const entry = value as Json
        const at = `${prefix}node_modules/${name}`
        if (typeof entry.version === 'string' && semver.valid(entry.version)) add({ ecosystem: 'npm', name, version: entry.version, relation: 'locked', location: `${lockfile}: ${at}` })
        walk(entry.dependencies, `${at}/`, depth + 1)
      }
    }
    walk(lock.dependencies, '', 0)
  }
  return found
}
