import { createHash } from 'node:crypto'
import { compareGemVersions, isPrerelease } from './gem-version.js'

/** One gem version as the indexes list it. */
export interface IndexedGem {
  readonly name: string
  readonly version: string
  readonly platform: string
  /** Runtime dependencies as the compact index writes them: `rake:>= 1.0, < 2&json:>= 0`, '' when none. */
  readonly dependencies: string
  /** `ruby:>= 2.7&rubygems:>= 3` style pairs ('' when none), written after the checksum. */
  readonly requirements: string
  readonly sha256: string
}

/** `1.0.0` or `1.0.0-java`: a version's key in the compact index. */
export function versionKey(gem: Pick<IndexedGem, 'version' | 'platform'>): string {
  return gem.platform === 'ruby' ? gem.version : `${gem.version}-${gem.platform}`
}

/** A line of `/info/<gem>`: `1.0.0 dep:>= 1|checksum:<sha256>,ruby:>= 2.7`. */
export function infoLine(gem: IndexedGem): string {
  const requirements = gem.requirements === '' ? '' : `,${gem.requirements.split('&').join(',')}`
  return `${versionKey(gem)} ${gem.dependencies}|checksum:${gem.sha256}${requirements}`
}

/** The `/info/<gem>` document of `gems` (in the order given: oldest first). */
export function renderInfo(gems: readonly IndexedGem[]): string {
  return `---\n${gems.map((g) => `${infoLine(g)}\n`).join('')}`
}

/** Info lines by their version key, from an `/info/<gem>` document (another server's). */
export function parseInfo(text: string): Map<string, string> {
  const lines = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '' || line === '---') continue
    const key = line.slice(0, line.indexOf(' ') === -1 ? line.length : line.indexOf(' '))
    if (key !== '' && !lines.has(key)) lines.set(key, line)
  }
  return lines
}

export function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex')
}

/** One gem's entry in `/versions`: its version keys and the md5 of its info document. */
export interface VersionsEntry {
  readonly versions: readonly string[]
  readonly infoMd5: string
}

/** The `/versions` document: a header, then `name v1,v2 md5` per gem, names sorted. */
export function renderVersions(entries: ReadonlyMap<string, VersionsEntry>, createdAt: Date): string {
  const names = [...entries.keys()].sort()
  const lines = names.map((name) => {
    const entry = entries.get(name)!
    return `${name} ${entry.versions.join(',')} ${entry.infoMd5}\n`
  })
  return `created_at: ${createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z')}\n---\n${lines.join('')}`
}

/**
 * Another server's `/versions`: a gem may have several lines (appended as versions come), a
 * version with a leading `-` was yanked, and the last line's md5 is the current one.
 */
export function parseVersions(text: string): Map<string, VersionsEntry> {
  const body = text.indexOf('\n---\n')
  const lines = (body === -1 ? text : text.slice(body + 5)).split('\n')
  const found = new Map<string, { versions: string[]; infoMd5: string }>()
  for (const line of lines) {
    const parts = line.trim().split(' ')
    if (parts.length !== 3) continue
    const [name, list, infoMd5] = parts as [string, string, string]
    const entry = found.get(name) ?? { versions: [], infoMd5 }
    for (const version of list.split(',')) {
      if (version.startsWith('-')) entry.versions = entry.versions.filter((v) => v !== version.slice(1))
      else if (version !== '' && !entry.versions.includes(version)) entry.versions.push(version)
    }
    entry.infoMd5 = infoMd5
    found.set(name, entry)
  }
  return found
}

/** `/names`: every gem name, sorted. */
export function renderNames(names: Iterable<string>): string {
  return `---\n${[...new Set(names)].sort().map((n) => `${n}\n`).join('')}`
}

/** Tuples of the legacy indexes, sorted by name then version: `specs` (releases), `latest_specs` (newest release per name and platform), `prerelease_specs`. */
export function legacyTuples(gems: readonly Pick<IndexedGem, 'name' | 'version' | 'platform'>[], which: 'specs' | 'latest_specs' | 'prerelease_specs') {
  const chosen = gems.filter((g) => (which === 'prerelease_specs' ? isPrerelease(g.version) : !isPrerelease(g.version)))
  let list = chosen
  if (which === 'latest_specs') {
    const latest = new Map<string, (typeof chosen)[number]>()
    for (const gem of chosen) {
      const key = `${gem.name}\0${gem.platform}`
      const known = latest.get(key)
      if (!known || compareGemVersions(gem.version, known.version) > 0) latest.set(key, gem)
    }
    list = [...latest.values()]
  }
  return [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compareGemVersions(a.version, b.version) || (a.platform < b.platform ? -1 : 1)))
}
