import type { Readable } from 'node:stream'
import { join } from 'node:path'
import { type Component, type Ecosystem, type ExtractionContext, type ExtractionLimits, type Extractor, type FormatScanning, purlVersion, readCapped, ScanFailure, spoolCapped, walkZip } from '../../core/index.js'
import { parseGoMod } from './go-mod.js'
import { compareGoVersions } from './go-semver.js'

/** OSV's `Go` ecosystem: Go's module-version order (with or without the `v`), module paths compared exactly, purl-spec's `golang` type. */
export const GO_ECOSYSTEM: Ecosystem = {
  osv: 'Go',
  compare: compareGoVersions,
  purl: (name, version) => `pkg:golang/${name.split('/').map(encodeURIComponent).join('/')}${purlVersion(version)}`,
  xrayComponentId: (name, version) => `go://${name}:${version}`,
}

/** A stored module zip: `<escaped module>/@v/<escaped version>.zip`. */
const MODULE_ZIP = /^(.+)\/@v\/([^/]+)\.zip$/

/**
 * Module zips (in Go repositories, or any but docker's at the proxy layout's path): the module
 * itself, and each `require` of its root `go.mod` as a dependency (`// indirect` ones included:
 * they are built too). The zip is spooled to the scan's scratch folder and walked with the
 * scanner's archive limits (entries, unpacked bytes, ratio, paths).
 */
export const GO_MODULE_EXTRACTOR: Extractor = {
  format: 'go-module',
  accepts: (repository, path) => repository.packageType !== 'docker' && MODULE_ZIP.test(path),
  extract: extractModuleZip,
}

export async function extractModuleZip(source: Readable, limits: ExtractionLimits, context: ExtractionContext): Promise<Component[]> {
  const file = join(context.scratchDir, 'module.zip')
  await spoolCapped(source, file, limits.maxUnpackedBytes, 'the module zip')
  let goMod: Buffer | undefined
  let root: string | undefined
  await walkZip(file, limits, 'the module zip', async (entry, open) => {
    const at = entry.indexOf('@')
    const slash = at < 0 ? -1 : entry.indexOf('/', at)
    if (slash < 0) return
    root ??= entry.slice(0, slash)
    if (entry.slice(0, slash) !== root) throw new ScanFailure(`'${entry}' is not below the module root '${root}/'`)
    if (entry === `${root}/go.mod`) goMod = await readCapped(await open(), limits.maxMetadataBytes, 'go.mod')
  })
  const [module, version] = root ? [root.slice(0, root.lastIndexOf('@')), root.slice(root.lastIndexOf('@') + 1)] : []
  const found: Component[] = []
  if (module && version) found.push({ ecosystem: 'Go', name: module, version, relation: 'self', location: `${root}/` })
  if (goMod) {
    for (const require of parseGoMod(goMod.toString('utf8')).requires) {
      found.push({ ecosystem: 'Go', name: require.path, version: require.version, relation: 'dependency', location: `${root}/go.mod require` })
    }
  }
  if (found.length === 0) throw new ScanFailure(`no module root (<module>@<version>/) in the zip`)
  return found
}

/** What the Go format gives the scanner. */
export const goScanning: FormatScanning = {
  extractors: [GO_MODULE_EXTRACTOR],
  ecosystems: [GO_ECOSYSTEM],
}
