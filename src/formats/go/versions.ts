import type { FormatContext, PackageVersions } from '../../core/index.js'
import { unescapePath } from './module-path.js'

/**
 * Go module versions for cleanup policies and immutability rules (docs/lifecycle.md): a version is
 * `<escaped module>/@v/<escaped version>.{info,mod,zip}`, the package the module path. The files
 * go as the REST API deletes them (to the trash can); the proxy's `@v/list` and `@latest` are
 * built from what is stored, so they follow.
 */
export function goVersions(services: FormatContext): PackageVersions {
  return {
    async list(_repository, files) {
      const units = new Map<string, { package: string; version: string; paths: string[] }>()
      for (const { path } of files) {
        const version = goVersionOf(path)
        if (!version) continue
        const id = `${version.package}@${version.version}`
        const unit = units.get(id) ?? { ...version, paths: [] }
        unit.paths.push(path)
        units.set(id, unit)
      }
      return [...units].map(([id, unit]) => ({ id, ...unit }))
    },
    versionOf: goVersionOf,
    async delete(repository, units, user) {
      await services.artifacts.applyChanges(repository, { removeFiles: units.flatMap((u) => u.paths), trashRemoved: { user } }, user)
    },
  }
}

function goVersionOf(path: string): { package: string; version: string } | undefined {
  const at = path.lastIndexOf('/@v/')
  const match = at > 0 ? /^(.+)\.(info|mod|zip)$/.exec(path.slice(at + '/@v/'.length)) : null
  if (!match || match[1]!.includes('/')) return undefined
  const module = unescapePath(path.slice(0, at))
  const version = unescapePath(match[1]!)
  return module === undefined || version === undefined ? undefined : { package: module, version }
}
