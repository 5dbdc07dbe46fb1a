import semver from 'semver'
import { compareSemver, type Ecosystem, type Extractor, type FormatScanning, type InstalledPackageReader, purlVersion, readCapped } from '../../core/index.js'
import { extractNpmTarball } from './tarball-components.js'

/** A `package.json` of an installed package read at most (larger ones are skipped, not failed). */
const MAX_PACKAGE_JSON_BYTES = 1024 * 1024
const INSTALLED_PACKAGE = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@.][^/]*\/package\.json$/

/** npm's OSV ecosystem: SemVer, names compared case-insensitively (advisories spell `Axios`; npm forbids new upper-case names). */
export const NPM_ECOSYSTEM: Ecosystem = {
  osv: 'npm',
  compare: compareSemver,
  normalizeName: (name) => name.toLowerCase(),
  // A lockfile may pin a `github:` or `file:` reference: no version to match.
  isVersion: (version) => semver.valid(version) !== null,
  purl: (name, version) => {
    const [scope, bare] = name.startsWith('@') ? (name.split('/') as [string, string]) : [undefined, name]
    return `pkg:npm/${scope ? `${encodeURIComponent(scope)}/` : ''}${encodeURIComponent(bare)}${purlVersion(version, semver.valid(version) !== null)}`
  },
  xrayComponentId: (name, version) => `npm://${name}:${version}`,
}

/** Package tarballs at npm's paths (`name/-/name-1.0.0.tgz`) of npm repositories. */
export const NPM_EXTRACTOR: Extractor = {
  format: 'npm',
  accepts: (repository, path) => repository.packageType === 'npm' && /\/-\/[^/]+\.tgz$/.test(path),
  extract: extractNpmTarball,
}

/** `node_modules/**\/package.json` in a file system (an image's layers): one installed package each. */
export const NPM_INSTALLED_READER: InstalledPackageReader = {
  accepts: (path) => INSTALLED_PACKAGE.test(path),
  async read(source, file) {
    if (file.size > MAX_PACKAGE_JSON_BYTES) {
      source.resume()
      return []
    }
    const manifest = parseJsonObject(await readCapped(source, MAX_PACKAGE_JSON_BYTES, file.where))
    // A broken package.json in an image is not the image's fault to fail on: it is skipped.
    if (!manifest || typeof manifest.name !== 'string' || typeof manifest.version !== 'string') return []
    return [{ ecosystem: 'npm', name: manifest.name, version: manifest.version, relation: 'installed', location: file.where }]
  },
}

/** What the npm format gives the scanner. */
export const npmScanning: FormatScanning = {
  extractors: [NPM_EXTRACTOR],
  ecosystems: [NPM_ECOSYSTEM],
  installed: [NPM_INSTALLED_READER],
}

function parseJsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
