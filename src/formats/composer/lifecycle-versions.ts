import type { FormatContext, PackageVersions } from '../../core/index.js'
import { DIST_FOLDER, packageOfPath } from './names.js'

/**
 * Composer versions for cleanup policies and immutability rules (docs/lifecycle.md): a version is
 * its archive, `<vendor>/<package>/<version>/<package>-<version>.zip`, the package `vendor/package`.
 * It goes as a delete removes it (to the trash can); packages.json and the p2 documents are built
 * from what is stored, so they follow.
 */
export function composerVersions(services: FormatContext): PackageVersions {
  return {
    async list(_repository, files) {
      const units = new Map<string, { package: string; version: string; paths: string[] }>()
      for (const { path } of files) {
        const version = composerVersionOf(path)
        if (!version) continue
        const id = `${version.package}/${version.version}`
        const unit = units.get(id) ?? { ...version, paths: [] }
        unit.paths.push(path)
        units.set(id, unit)
      }
      return [...units].map(([id, unit]) => ({ id, ...unit }))
    },
    versionOf: composerVersionOf,
    async delete(repository, units, user) {
      await services.artifacts.applyChanges(repository, { removeFiles: units.flatMap((u) => u.paths), trashRemoved: { user } }, user)
    },
  }
}

function composerVersionOf(path: string): { package: string; version: string } | undefined {
  if (path.startsWith(`${DIST_FOLDER}/`)) return undefined // a remote's cached dists
  const at = packageOfPath(path)
  return at && { package: at.name, version: at.version }
}
