import type { FormatContext, PackageVersions } from '../../core/index.js'
import { parsePackageName } from './names.js'
import { NpmRegistry } from './registry.js'
import { NpmStore } from './npm-store.js'
import type { NpmTables } from './tables.js'

/**
 * npm versions for cleanup policies and immutability rules: a version is its row and its tarball
 * (`name/-/bare-1.0.0.tgz`), deleted as npm unpublish deletes one (dist-tags move, the packument
 * changes in the same transaction; the last version takes the package with it).
 */
export function npmVersions(services: FormatContext): PackageVersions {
  const store = new NpmStore(services.tables<NpmTables>())
  const registry = new NpmRegistry(store, services.artifacts, services.documents)
  return {
    async list(repository) {
      return (await store.versionsIn(repository.key)).map((row) => ({ id: `${row.name}@${row.version}`, package: row.name, version: row.version, paths: [row.tarball_path] }))
    },
    versionOf(path) {
      const dash = path.indexOf('/-/')
      if (dash <= 0) return undefined
      const pkg = path.slice(0, dash)
      const file = path.slice(dash + 3)
      const bare = pkg.slice(pkg.lastIndexOf('/') + 1)
      if (!file.startsWith(`${bare}-`) || !file.endsWith('.tgz')) return undefined
      return { package: pkg, version: file.slice(bare.length + 1, -'.tgz'.length) }
    },
    async delete(repository, units, user) {
      for (const unit of units) await registry.removeVersions(repository, parsePackageName(unit.package), [unit.version], user)
    },
  }
}
