import { nameOf, type FormatContext, type PackageVersions } from '../../core/index.js'
import { isChartFile, isProvenanceFile, isSemver2 } from './chart.js'
import { HelmLayout } from './helm-layout.js'

/**
 * Helm chart versions for cleanup policies and immutability rules (docs/lifecycle.md): a version
 * is its `<name>-<version>.tgz` (and its `.tgz.prov`), deleted as Helm's delete path deletes it
 * (to the trash can), then `index.yaml` is rebuilt without it.
 */
export function helmVersions(services: FormatContext): PackageVersions {
  const layout = new HelmLayout(services)
  return {
    async list(_repository, files) {
      const units = new Map<string, { package: string; version: string; paths: string[] }>()
      for (const { path } of files) {
        const version = helmVersionOf(path)
        if (!version) continue
        const id = isProvenanceFile(path) ? path.slice(0, -'.prov'.length) : path
        const unit = units.get(id) ?? { ...version, paths: [] }
        unit.paths.push(path)
        units.set(id, unit)
      }
      return [...units].map(([id, unit]) => ({ id, ...unit }))
    },
    versionOf: helmVersionOf,
    async delete(repository, units, user) {
      await services.artifacts.applyChanges(repository, { removeFiles: units.flatMap((u) => u.paths), trashRemoved: { user } }, user)
      await layout.changed(repository)
    },
  }
}

/**
 * The chart name and version of a chart (or provenance) file: the version is what follows the
 * first `-` after which the rest is SemVer 2 (names may hold `-`, versions too).
 */
function helmVersionOf(path: string): { package: string; version: string } | undefined {
  const chart = isProvenanceFile(path) ? path.slice(0, -'.prov'.length) : path
  if (!isChartFile(chart)) return undefined
  const base = nameOf(chart).slice(0, -'.tgz'.length)
  for (let dash = base.indexOf('-'); dash > 0; dash = base.indexOf('-', dash + 1)) {
    const version = base.slice(dash + 1)
    if (isSemver2(version)) return { package: base.slice(0, dash), version }
  }
  return undefined
}
