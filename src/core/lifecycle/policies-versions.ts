import type { Repository } from '../repositories/repository-service.js'

/**
 * One unit a cleanup policy keeps or deletes whole: a package version as its format defines it
 * (an npm version, a PyPI release, a container image tag), or a unit that exists only for others
 * (an untagged manifest that a multi-arch index names).
 */
export interface PackageVersion {
  /** Unique within the repository; what {@link keeps} names. */
  readonly id: string
  /** The package (an image, an npm package, a PyPI project), as the format names it. */
  readonly package: string
  /** The version (or tag) within the package. */
  readonly version: string
  /** The unit's files: their sizes, times, downloads and properties are the unit's; they go together, in one change. */
  readonly paths: readonly string[]
  /**
   * Ids of the units this one needs to stay whole (an index's child manifests): a unit a kept
   * unit needs is kept, whatever the rules say.
   */
  readonly keeps?: readonly string[] | undefined
  /**
   * `false` for units no rule selects (an untagged child manifest): one goes only when every unit
   * that keeps it goes, in the change of the last of them. Default `true`.
   */
  readonly selectable?: boolean | undefined
}

/** A file of a repository as the core hands it to {@link PackageVersions.list}. */
export interface RepositoryFile {
  readonly path: string
  readonly sha256: string
  readonly size: number
  readonly createdAt: number
  readonly downloadedAt: number | null
}

/**
 * What a format tells the core's lifecycle rules (cleanup policies, immutability) about its
 * content: its package versions, which file belongs to which version, and how a version is
 * deleted through the format's own delete path (so that its metadata follows).
 */
export interface PackageVersions {
  /**
   * The units of a local repository, in any order. `files` are all its files, read by the core in
   * pages (a format laid out on files groups them rather than reading them again).
   */
  list(repository: Repository, files: readonly RepositoryFile[]): Promise<PackageVersion[]>
  /**
   * The package version a file of the repository belongs to, or `undefined` for a file of no
   * version (immutability rules then do not apply to it). Pure: no I/O.
   */
  versionOf(path: string): { readonly package: string; readonly version: string } | undefined
  /**
   * Deletes the units (one version and the units only it kept alive) in one change transaction of
   * `ArtifactService`: all of them or, on a failure, none. Throws NOT_FOUND when they are gone.
   */
  delete(repository: Repository, units: readonly PackageVersion[], user: string): Promise<void>
}

/**
 * Versions of a layout `<package>/<version>/<files>` (PyPI, and any format laid out the same way):
 * each folder two levels down is a version; its files (at any depth) are the version's.
 */
export function twoLevelVersions(remove: PackageVersions['delete']): PackageVersions {
  return {
    async list(_repository, files) {
      const units = new Map<string, { package: string; version: string; paths: string[] }>()
      for (const { path } of files) {
        const version = twoLevelVersionOf(path)
        if (!version) continue
        const id = `${version.package}/${version.version}`
        const unit = units.get(id) ?? { package: version.package, version: version.version, paths: [] }
        unit.paths.push(path)
        units.set(id, unit)
      }
      return [...units].map(([id, unit]) => ({ id, ...unit }))
    },
    versionOf: twoLevelVersionOf,
    delete: remove,
  }
}

function twoLevelVersionOf(path: string): { package: string; version: string } | undefined {
  const segments = path.split('/')
  if (segments.length < 3 || segments[0]!.startsWith('.')) return undefined
  return { package: segments[0]!, version: segments[1]! }
}
