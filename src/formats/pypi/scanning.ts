import { type Ecosystem, type Extractor, type FormatScanning, type InstalledPackageReader, purlVersion, readCapped } from '../../core/index.js'
import { componentsOfMetadata, extractSdist, extractWheel } from './distribution-components.js'
import { normalizeName } from './names.js'
import { comparePep440 } from './pep440.js'

const INSTALLED_METADATA = /(?:^|\/)(?:site|dist)-packages\/[^/]+\.dist-info\/METADATA$/

/** PyPI's OSV ecosystem: PEP 440 order, PEP 503 names (how OSV's PyPI records are matched). */
export const PYPI_ECOSYSTEM: Ecosystem = {
  osv: 'PyPI',
  compare: comparePep440,
  normalizeName,
  purl: (name, version) => `pkg:pypi/${encodeURIComponent(normalizeName(name))}${purlVersion(version)}`,
  xrayComponentId: (name, version) => `pypi://${name}:${version}`,
}

/** Wheels, by name, whatever the repository type (PyPI, generic), except docker's. */
export const PYTHON_WHEEL_EXTRACTOR: Extractor = {
  format: 'pypi-wheel',
  accepts: (repository, path) => repository.packageType !== 'docker' && /\.whl$/i.test(path),
  extract: extractWheel,
}

/** Sdists: `<name>-<version>.tar.gz` outside npm and docker repositories (a tarball without PKG-INFO fails its scan, saying so). */
export const PYTHON_SDIST_EXTRACTOR: Extractor = {
  format: 'pypi-sdist',
  accepts: (repository, path) =>
    repository.packageType !== 'npm' && repository.packageType !== 'docker' && /(?:^|\/)[A-Za-z0-9][A-Za-z0-9._]*(?:-[A-Za-z0-9._]+)*-\d[^/]*\.tar\.gz$/.test(path),
  extract: (source, limits) => extractSdist(source, limits),
}

/** `site-packages/*.dist-info/METADATA` (and Debian's `dist-packages`) in a file system: one installed distribution each. */
export const PYTHON_INSTALLED_READER: InstalledPackageReader = {
  accepts: (path) => INSTALLED_METADATA.test(path),
  read: async (source, file, limits) => componentsOfMetadata(await readCapped(source, limits.maxMetadataBytes, file.where), file.where, 'installed', false),
}

/** What the PyPI format gives the scanner. */
export const pypiScanning: FormatScanning = {
  extractors: [PYTHON_WHEEL_EXTRACTOR, PYTHON_SDIST_EXTRACTOR],
  ecosystems: [PYPI_ECOSYSTEM],
  installed: [PYTHON_INSTALLED_READER],
}
