import type { FormatContext, PackageVersions } from '../../core/index.js'
import { checksumOf, isMetadataFile, parseFileName } from './maven-path.js'

/**
 * Maven versions for cleanup policies and immutability rules (docs/lifecycle.md): a version is
 * `<group as folders>/<artifactId>/<version>/` (a SNAPSHOT folder with all its timestamped
 * builds), package `groupId:artifactId`. Its files are deleted as Maven's delete path deletes them
 * (to the trash can); `maven-metadata.xml` is generated from what is stored, so it follows.
 */
export function mavenVersions(services: FormatContext): PackageVersions {
  return {
    async list(_repository, files) {
      const units = new Map<string, { package: string; version: string; paths: string[] }>()
      for (const { path } of files) {
        const version = mavenVersionOf(path)
        if (!version) continue
        const id = path.slice(0, path.lastIndexOf('/'))
        const unit = units.get(id) ?? { ...version, paths: [] }
        unit.paths.push(path)
        units.set(id, unit)
      }
      return [...units].map(([id, unit]) => ({ id, ...unit }))
    },
    versionOf: mavenVersionOf,
    async delete(repository, units, user) {
      await services.artifacts.applyChanges(repository, { removeFiles: units.flatMap((u) => u.paths), trashRemoved: { user } }, user)
    },
  }
}

/** `groupId:artifactId` and the version folder of an artifact file; `undefined` for anything else (metadata, checksums, stray files). */
function mavenVersionOf(path: string): { package: string; version: string } | undefined {
  if (isMetadataFile(path) || checksumOf(path)) return undefined
  const segments = path.split('/')
  if (segments.length < 4) return undefined
  const [artifactId, version, fileName] = segments.slice(-3) as [string, string, string]
  if (!parseFileName(fileName, artifactId, version)) return undefined
  return { package: `${segments.slice(0, -3).join('.')}:${artifactId}`, version }
}
