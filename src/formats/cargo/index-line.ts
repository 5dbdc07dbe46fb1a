import { TroveError } from '../../core/index.js'
import { assertCrateName, assertCrateVersion } from './names.js'

/** One version's line of a sparse index file, as Cargo reads it. */
export interface IndexLine {
  readonly name: string
  readonly vers: string
  readonly deps: readonly IndexDependency[]
  readonly cksum: string
  readonly features: Record<string, string[]>
  readonly features2?: Record<string, string[]>
  readonly yanked: boolean
  readonly links?: string | null
  readonly rust_version?: string | null
  readonly v?: number
}

export interface IndexDependency {
  readonly name: string
  readonly req: string
  readonly features: string[]
  readonly optional: boolean
  readonly default_features: boolean
  readonly target: string | null
  readonly kind: 'normal' | 'dev' | 'build'
  readonly registry?: string | null
  readonly package?: string
}

/** What `cargo publish` sends in its JSON besides the crate (the fields the index needs). */
export interface PublishMetadata {
  readonly name: string
  readonly vers: string
  readonly deps: readonly IndexDependency[]
  readonly features: Record<string, string[]>
  readonly links: string | null
  readonly rustVersion: string | null
  /** Not in the index; kept for `cargo search`. */
  readonly description: string | null
}

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const MAX_DEPENDENCIES = 4096
const MAX_FEATURES = 4096

/** Checks the publish JSON and reads the fields that go into the index line. */
export function readPublishMetadata(document: unknown): PublishMetadata {
  if (!isObject(document)) throw bad('the publish metadata must be a JSON object')
  assertCrateName(document.name)
  assertCrateVersion(document.vers)
  const deps = document.deps ?? []
  if (!Array.isArray(deps) || deps.length > MAX_DEPENDENCIES) throw bad(`"deps" must be a list of at most ${MAX_DEPENDENCIES} dependencies`)
  return {
    name: document.name,
    vers: document.vers,
    deps: deps.map(readDependency),
    features: readFeatures(document.features ?? {}),
    links: optionalString(document.links, 'links'),
    rustVersion: optionalString(document.rust_version, 'rust_version'),
    description: optionalString(document.description, 'description'),
  }
}

function readDependency(dep: unknown, i: number): IndexDependency {
  if (!isObject(dep)) throw bad(`dependency ${i} must be an object`)
  assertCrateName(dep.name)
  if (typeof dep.version_req !== 'string' || dep.version_req === '') throw bad(`dependency '${dep.name}' has no "version_req"`)
  const kind = dep.kind ?? 'normal'
  if (kind !== 'normal' && kind !== 'dev' && kind !== 'build') throw bad(`dependency '${dep.name}' has an unknown kind '${String(kind)}'`)
  const features = dep.features ?? []
  if (!Array.isArray(features) || !features.every((f) => typeof f === 'string')) throw bad(`dependency '${dep.name}': "features" must be a list of strings`)
  const explicit = optionalString(dep.explicit_name_in_toml, 'explicit_name_in_toml')
  if (explicit !== null) assertCrateName(explicit)
  const registry = optionalString(dep.registry, 'registry')
  // As the registries write it: a renamed dependency is listed under the name the manifest uses, with `package` the crate's own.
  return {
    name: explicit ?? dep.name,
    req: dep.version_req,
    features: features as string[],
    optional: dep.optional === true,
    default_features: dep.default_features !== false,
    target: optionalString(dep.target, 'target'),
    kind,
    ...(registry !== null ? { registry } : {}),
    ...(explicit !== null ? { package: dep.name } : {}),
  }
}

function readFeatures(value: unknown): Record<string, string[]> {
  if (!isObject(value)) throw bad('"features" must be an object of lists of strings')
  const entries = Object.entries(value)
  if (entries.length > MAX_FEATURES) throw bad(`more than ${MAX_FEATURES} features`)
  const features: Record<string, string[]> = {}
  for (const [name, list] of entries) {
    if (!Array.isArray(list) || !list.every((f) => typeof f === 'string')) throw bad(`feature '${name}' must be a list of strings`)
    features[name] = list as string[]
  }
  return features
}

function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw bad(`"${field}" must be a string`)
  return value
}

/**
 * The index line of a published version. Features using the newer syntax (`dep:x`, `x?/f`) go to
 * `features2` with `v: 2`, as the registries write them, so that older cargo versions skip the
 * version instead of misreading it.
 */
export function indexLineOf(metadata: PublishMetadata, cksum: string): IndexLine {
  const features: Record<string, string[]> = {}
  const features2: Record<string, string[]> = {}
  for (const [name, list] of Object.entries(metadata.features)) {
    if (list.some((f) => f.startsWith('dep:') || f.includes('?/'))) features2[name] = list
    else features[name] = list
  }
  const hasFeatures2 = Object.keys(features2).length > 0
  return {
    name: metadata.name,
    vers: metadata.vers,
    deps: metadata.deps,
    cksum,
    features,
    yanked: false,
    links: metadata.links,
    ...(metadata.rustVersion !== null ? { rust_version: metadata.rustVersion } : {}),
    ...(hasFeatures2 ? { features2, v: 2 } : {}),
  }
}

/**
 * Properties are short values: a line is kept as numbered pieces (`0000 {…`, `0001 …`) of one
 * multi-valued property, which sort back into order. 500 characters keep a piece within what
 * PostgreSQL's index on property values takes, whatever the characters.
 */
const PIECE = 500

export function linePieces(line: IndexLine): string[] {
  const { yanked: _yanked, ...rest } = line
  const text = JSON.stringify(rest)
  const pieces: string[] = []
  for (let i = 0; i * PIECE < text.length; i++) pieces.push(`${String(i).padStart(4, '0')} ${text.slice(i * PIECE, (i + 1) * PIECE)}`)
  return pieces
}

/** The line back from its pieces (in any order), with the yanked flag; undefined when they do not make one. */
export function lineFromPieces(pieces: readonly string[], yanked: boolean): IndexLine | undefined {
  const text = [...pieces]
    .sort()
    .map((p) => p.slice(5))
    .join('')
  try {
    const parsed = JSON.parse(text) as unknown
    if (!isObject(parsed) || typeof parsed.name !== 'string' || typeof parsed.vers !== 'string') return undefined
    return { ...(parsed as unknown as IndexLine), yanked }
  } catch {
    return undefined
  }
}

/** An upstream index file, line by line; lines that are not a version's JSON are left out. */
export function parseIndexFile(text: string): IndexLine[] {
  const lines: IndexLine[] = []
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue
    try {
      const parsed = JSON.parse(raw) as unknown
      if (isObject(parsed) && typeof parsed.name === 'string' && typeof parsed.vers === 'string' && typeof parsed.cksum === 'string') {
        lines.push(parsed as unknown as IndexLine)
      }
    } catch {
      // a broken line is skipped, as cargo skips it
    }
  }
  return lines
}

export function renderIndexFile(lines: readonly IndexLine[]): string {
  return lines.map((l) => `${JSON.stringify(l)}\n`).join('')
}

function bad(message: string): TroveError {
  return new TroveError('BAD_REQUEST', message)
}
