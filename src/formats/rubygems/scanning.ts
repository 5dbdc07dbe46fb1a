import type { Readable } from 'node:stream'
import { type Component, type Ecosystem, type ExtractionLimits, type Extractor, type FormatScanning, purlVersion, ScanFailure } from '../../core/index.js'
import { readGem } from './gem-archive.js'
import { compareGemVersions, isGemVersion } from './gem-version.js'

/** RubyGems' OSV ecosystem: Gem::Version order, names compared as written. */
export const RUBYGEMS_ECOSYSTEM: Ecosystem = {
  osv: 'RubyGems',
  compare: compareGemVersions,
  isVersion: isGemVersion,
  purl: (name, version) => `pkg:gem/${encodeURIComponent(name)}${purlVersion(version)}`,
  xrayComponentId: (name, version) => `gem://${name}:${version}`,
}

/** The specs of a `Gemfile.lock` (its `GEM` and other sections' `specs:` entries): `    name (1.2.3)` or `(1.2.3-x86_64-linux)`. */
export function lockedGems(text: string): { name: string; version: string }[] {
  const found: { name: string; version: string }[] = []
  for (const line of text.split('\n')) {
    const match = /^ {4}([A-Za-z0-9][A-Za-z0-9._-]*) \(([^)\s]+)\)\s*$/.exec(line)
    if (!match) continue
    const version = match[2]!.replace(/-(?:[a-z].*|universal.*|x86.*|arm.*|aarch64.*|java)$/, '')
    found.push({ name: match[1]!, version })
  }
  return found
}

/** A stored .gem: the gem itself, its runtime dependencies (an exact `= x` gives a version, others are listed as written), and any Gemfile.lock inside. */
export async function extractGem(source: Readable, limits: ExtractionLimits): Promise<Component[]> {
  const { spec, lockfiles } = await readGem(source, limits, { lockfiles: true })
  const found: Component[] = [{ ecosystem: 'RubyGems', name: spec.name, version: spec.version, relation: 'self', location: 'metadata.gz' }]
  for (const dependency of spec.dependencies) {
    if (dependency.type === 'development') continue
    const exact = dependency.requirements.length === 1 && dependency.requirements[0]![0] === '=' ? dependency.requirements[0]![1] : undefined
    const written = dependency.requirements.map(([op, v]) => `${op} ${v}`).join(', ')
    found.push({ ecosystem: 'RubyGems', name: dependency.name, version: exact ?? written, relation: 'dependency', location: 'metadata.gz dependencies' })
  }
  for (const lock of lockfiles) for (const gem of lockedGems(lock.text)) found.push({ ecosystem: 'RubyGems', ...gem, relation: 'locked', location: lock.path })
  if (found.length > limits.maxComponents) throw new ScanFailure(`more than ${limits.maxComponents} components`)
  return found
}

/** `.gem` files, whatever the repository type, except docker's. */
export const GEM_EXTRACTOR: Extractor = {
  format: 'rubygems-gem',
  accepts: (repository, path) => repository.packageType !== 'docker' && /(?:^|\/)[A-Za-z0-9][^/]*\.gem$/.test(path),
  extract: (source, limits) => extractGem(source, limits),
}

/** What the RubyGems format gives the scanner. */
export const gemsScanning: FormatScanning = {
  extractors: [GEM_EXTRACTOR],
  ecosystems: [RUBYGEMS_ECOSYSTEM],
}
