import type { FormatContext, PackageVersions } from '../../core/index.js'
import { GEMS_FOLDER, QUICK_FOLDER } from './gem-store.js'
import { isGemName } from './gemspec.js'
import { isGemVersion } from './gem-version.js'

/**
 * Gem versions for cleanup policies and immutability rules (docs/lifecycle.md): a version is every
 * `gems/<name>-<version>[-<platform>].gem` of it with its `quick/Marshal.4.8/…gemspec.rz`, the
 * package the gem name. Its files go as `gem yank` removes them (to the trash can, as a delete
 * does); the indexes are generated from what is stored, so they follow.
 */
export function gemVersions(services: FormatContext): PackageVersions {
  return {
    async list(_repository, files) {
      const units = new Map<string, { package: string; version: string; paths: string[] }>()
      for (const { path } of files) {
        const version = gemVersionOf(path)
        if (!version) continue
        const id = `${version.package}-${version.version}`
        const unit = units.get(id) ?? { ...version, paths: [] }
        unit.paths.push(path)
        units.set(id, unit)
      }
      return [...units].map(([id, unit]) => ({ id, ...unit }))
    },
    versionOf: gemVersionOf,
    async delete(repository, units, user) {
      await services.artifacts.applyChanges(repository, { removeFiles: units.flatMap((u) => u.paths), trashRemoved: { user } }, user)
    },
  }
}

/**
 * The gem and version of a stored gem or quick spec: `<name>-<version>[-<platform>]`, the version
 * being the first `-`-separated part that starts with a digit and is a version (versions hold no `-`
 * as stored: RubyGems writes a prerelease's `-` as `.pre.`).
 */
function gemVersionOf(path: string): { package: string; version: string } | undefined {
  const full = path.startsWith(`${GEMS_FOLDER}/`) && path.endsWith('.gem')
    ? path.slice(GEMS_FOLDER.length + 1, -'.gem'.length)
    : path.startsWith(`${QUICK_FOLDER}/`) && path.endsWith('.gemspec.rz')
      ? path.slice(QUICK_FOLDER.length + 1, -'.gemspec.rz'.length)
      : undefined
  if (full === undefined || full.includes('/')) return undefined
  const parts = full.split('-')
  for (let i = 1; i < parts.length; i++) {
    const name = parts.slice(0, i).join('-')
    if (/^[0-9]/.test(parts[i]!) && isGemVersion(parts[i]!) && isGemName(name)) return { package: name, version: parts[i]! }
  }
  return undefined
}
