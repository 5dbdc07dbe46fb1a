import type { Readable } from 'node:stream'
import { type Component, type Ecosystem, type ExtractionContext, type ExtractionLimits, type Extractor, type FormatScanning, type InstalledPackageReader, purlVersion, readCapped, ScanFailure } from '../../core/index.js'
import { jsonObject, readArchive } from './archive.js'
import { isPackageName } from './names.js'
import { comparePackagist } from './versions.js'

/** OSV's `Packagist` ecosystem: PHP's version_compare order (a leading `v` dropped, as Composer does), names in lower case. */
export const PACKAGIST_ECOSYSTEM: Ecosystem = {
  osv: 'Packagist',
  compare: comparePackagist,
  normalizeName: (name) => name.toLowerCase(),
  isVersion: (version) => /^v?\d/.test(version) && !/[\s|,<>=^~*]/.test(version),
  purl: (name, version) => {
    const [vendor, pkg] = name.toLowerCase().split('/')
    return pkg === undefined ? undefined : `pkg:composer/${encodeURIComponent(vendor!)}/${encodeURIComponent(pkg)}${purlVersion(version)}`
  },
  xrayComponentId: (name, version) => `composer://${name}:${version}`,
}

const ECOSYSTEM = PACKAGIST_ECOSYSTEM.osv

/**
 * A Composer package archive: its composer.json (the package itself when it has a version, and
 * its `require` as declared dependencies) and, when the archive carries one, its composer.lock
 * (every locked package, `packages` and `packages-dev`). The archive is read with the scanner's
 * limits (entries, unpacked size, ratio; entries leaving the archive fail the scan).
 */
export async function extractComposerArchive(source: Readable, limits: ExtractionLimits, context: ExtractionContext): Promise<Component[]> {
  const archive = await readArchive(source, limits, limits.maxUnpackedBytes, context.scratchDir)
  const manifest = jsonObject(archive.manifest, archive.manifestPath)
  const found: Component[] = []
  const name = typeof manifest.name === 'string' ? manifest.name.toLowerCase() : undefined
  if (name && typeof manifest.version === 'string') found.push({ ecosystem: ECOSYSTEM, name, version: manifest.version, relation: 'self', location: archive.manifestPath })
  const require = manifest.require
  if (require && typeof require === 'object') {
    for (const [dependency, constraint] of Object.entries(require as Record<string, unknown>)) {
      if (!isPackageName(dependency.toLowerCase()) || typeof constraint !== 'string') continue // php, ext-*: platform, not packages
      found.push({ ecosystem: ECOSYSTEM, name: dependency.toLowerCase(), version: constraint, relation: 'dependency', location: `${archive.manifestPath} require` })
    }
  }
  if (archive.lock && archive.lockPath) found.push(...lockedComponents(archive.lock, archive.lockPath))
  if (found.length > limits.maxComponents) throw new ScanFailure(`more than ${limits.maxComponents} components`)
  return found
}

/** The packages a composer.lock pins. */
export function lockedComponents(bytes: Buffer, location: string): Component[] {
  const lock = jsonObject(bytes, location)
  const found: Component[] = []
  for (const section of ['packages', 'packages-dev']) {
    const packages = lock[section]
    if (!Array.isArray(packages)) continue
    for (const entry of packages as unknown[]) {
      const { name, version } = (entry ?? {}) as { name?: unknown; version?: unknown }
      if (typeof name === 'string' && typeof version === 'string') found.push({ ecosystem: ECOSYSTEM, name: name.toLowerCase(), version, relation: 'locked', location: `${location} ${section}` })
    }
  }
  return found
}

/** Package archives (`.zip`) stored in Composer repositories (local ones, and the dists remotes cache). */
export const COMPOSER_ARCHIVE_EXTRACTOR: Extractor = {
  format: 'composer',
  accepts: (repository, path) => repository.packageType === 'composer' && /\.zip$/i.test(path),
  extract: extractComposerArchive,
}

/** Largest `vendor/composer/installed.json` read; a larger one is skipped, not failed. */
const MAX_INSTALLED_BYTES = 16 * 1024 * 1024

/**
 * `vendor/composer/installed.json` in a file system (a PHP application in an image's layers): the
 * packages Composer installed there (Composer 2 writes `{"packages": […]}`, Composer 1 a list).
 */
export const COMPOSER_INSTALLED_READER: InstalledPackageReader = {
  accepts: (path) => /(?:^|\/)vendor\/composer\/installed\.json$/.test(path),
  read: async (source, file) => {
    if (file.size > MAX_INSTALLED_BYTES) {
      source.resume()
      return []
    }
    let document: unknown
    try {
      document = JSON.parse((await readCapped(source, MAX_INSTALLED_BYTES, file.where)).toString('utf8'))
    } catch {
      return [] // not the image's fault to fail its scan for: skipped
    }
    const packages = Array.isArray(document) ? document : (document as { packages?: unknown } | null)?.packages
    if (!Array.isArray(packages)) return []
    return packages.flatMap((entry: unknown) => {
      const { name, version } = (entry ?? {}) as { name?: unknown; version?: unknown }
      return typeof name === 'string' && typeof version === 'string' ? [{ ecosystem: ECOSYSTEM, name: name.toLowerCase(), version, relation: 'installed' as const, location: file.where }] : []
    })
  },
}

/** What the Composer format gives the scanner. */
export const composerScanning: FormatScanning = {
  extractors: [COMPOSER_ARCHIVE_EXTRACTOR],
  installed: [COMPOSER_INSTALLED_READER],
  ecosystems: [PACKAGIST_ECOSYSTEM],
  xrayPackageType: 'Composer',
}

