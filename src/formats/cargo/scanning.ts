import { type Component, type Ecosystem, type ExtractionLimits, type Extractor, type FormatScanning, purlVersion } from '../../core/index.js'
import type { Readable } from 'node:stream'
import { lockedPackages, readCrate } from './crate-archive.js'
import { compareCrateVersions } from './versions.js'
import { isCrateVersion } from './names.js'

/** OSV's ecosystem of Rust crates, spelled as OSV spells it (data, not a registry's address). */
export const CRATES_ECOSYSTEM: Ecosystem = {
  osv: 'crates.io',
  compare: compareCrateVersions,
  // Crate names are one crate whatever their case, and `-` and `_` name the same crate.
  normalizeName: (name) => name.toLowerCase().replace(/-/g, '_'),
  isVersion: isCrateVersion,
  purl: (name, version) => `pkg:cargo/${encodeURIComponent(name)}${purlVersion(version, isCrateVersion(version))}`,
  xrayComponentId: (name, version) => `cargo://${name}:${version}`,
}

/**
 * A `.crate`: its own package (`Cargo.toml`) and, when it ships one, what its `Cargo.lock` pins
 * (binaries' crates often do). Packages of the lock that come from a path or git are listed but
 * have no registry version to match. The archive's limits and path rules are the publish's.
 */
export async function extractCrate(source: Readable, limits: ExtractionLimits): Promise<Component[]> {
  const crate = await readCrate(source, limits, { withLock: true })
  const components: Component[] = [{ ecosystem: 'crates.io', name: crate.name, version: crate.version, relation: 'self', location: `${crate.root}/Cargo.toml` }]
  if (crate.lock !== undefined) {
    for (const locked of lockedPackages(crate.lock)) {
      if (locked.name === crate.name && locked.version === crate.version && locked.source === undefined) continue // the crate itself
      if (components.length >= limits.maxComponents) break
      components.push({ ecosystem: 'crates.io', name: locked.name, version: locked.version, relation: 'locked', location: `${crate.root}/Cargo.lock` })
    }
  }
  return components
}

/** `.crate` files, whatever the repository's type (except docker's). */
export const CRATE_EXTRACTOR: Extractor = {
  format: 'cargo-crate',
  accepts: (repository, path) => repository.packageType !== 'docker' && /\.crate$/.test(path),
  extract: (source, limits) => extractCrate(source, limits),
}

/** What the Cargo format gives the scanner. */
export const cargoScanning: FormatScanning = {
  extractors: [CRATE_EXTRACTOR],
  ecosystems: [CRATES_ECOSYSTEM],
  xrayPackageType: 'Cargo',
}
