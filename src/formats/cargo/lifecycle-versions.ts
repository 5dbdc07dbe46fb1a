import type { FormatContext, PackageVersions } from '../../core/index.js'
import { CargoLayout } from './cargo-layout.js'
import { parseCratePath } from './names.js'

/**
 * Crate versions for cleanup policies and immutability rules (docs/lifecycle.md): a version is its
 * `<name>/<name>-<version>.crate`, the package the crate name. It goes as a delete through the
 * plain layout removes it (to the trash can, then the crate's index file gets a new revision, so
 * cached index files on every node are built again without its line).
 */
export function crateVersions(services: FormatContext): PackageVersions {
  const layout = new CargoLayout(services)
  return {
    async list(_repository, files) {
      return files.flatMap(({ path }) => {
        const crate = parseCratePath(path)
        return crate ? [{ id: path, package: crate.name, version: crate.version, paths: [path] }] : []
      })
    },
    versionOf(path) {
      const crate = parseCratePath(path)
      return crate && { package: crate.name, version: crate.version }
    },
    async delete(repository, units, user) {
      const paths = units.flatMap((u) => u.paths)
      await services.artifacts.applyChanges(repository, { removeFiles: paths, trashRemoved: { user } }, user)
      for (const path of paths) await layout.changed(repository, path)
    },
  }
}
