import type { ArtifactService } from '../../core/index.js'
import { isDistributionFilename } from './names.js'

/**
 * Properties Trove sets on each uploaded distribution file, as Artifactory does (`pypi.name`,
 * `pypi.version`, …). `pypi.yanked` is the one users set (through the properties API) to yank a
 * file, or a whole version on its folder (PEP 592): its value is the reason (`true`: none given).
 */
export const PROPERTY = {
  name: 'pypi.name',
  normalizedName: 'pypi.normalized.name',
  version: 'pypi.version',
  requiresPython: 'pypi.requires_python',
  summary: 'pypi.summary',
  yanked: 'pypi.yanked',
} as const

/** A distribution file of a local repository, as its project page shows it. */
export interface StoredDistribution {
  /** `<project>/<version>/<filename>` */
  readonly path: string
  readonly filename: string
  readonly version: string
  readonly sha256: string
  readonly size: number
  readonly createdAt: number
  readonly requiresPython: string | undefined
  /** The reason, '' when none was given; `undefined` when not yanked. */
  readonly yanked: string | undefined
  /** The sha256 of `<path>.metadata` when it is stored (wheels). */
  readonly metadataSha256: string | undefined
}

/**
 * Reads the PyPI layout of local repositories: `<normalised project>/<version>/<file>` assets,
 * `<file>.metadata` beside each wheel, and their `pypi.*` properties. The layout is plain on
 * purpose: the generic REST API (delete a file or a version folder, set properties) manages it,
 * and the pages are built from what is there at each request, so they never go stale. Two
 * queries per page however many files.
 */
export class PypiStore {
  constructor(private readonly artifacts: ArtifactService) {}

  /** Distribution files of a project, oldest first; empty when the project has none. */
  async distributions(repoKey: string, project: string): Promise<StoredDistribution[]> {
    const [assets, propertiesOf] = await Promise.all([
      this.artifacts.findFiles({ repoKeys: [repoKey], below: project }),
      this.artifacts.propertiesBelow(repoKey, project, [PROPERTY.requiresPython, PROPERTY.yanked]),
    ])
    const property = (path: string, name: string) => propertiesOf.get(path)?.get(name)?.[0]
    const metadata = new Map(assets.filter((a) => a.name.endsWith('.metadata')).map((a) => [a.path, a.sha256]))
    const files: StoredDistribution[] = []
    for (const asset of assets) {
      const segments = asset.path.split('/')
      if (segments.length !== 3 || !isDistributionFilename(asset.name)) continue
      const version = segments[1]!
      const yanked = property(asset.path, PROPERTY.yanked) ?? property(`${segments[0]}/${version}`, PROPERTY.yanked)
      files.push({
        path: asset.path,
        filename: asset.name,
        version,
        sha256: asset.sha256,
        size: asset.size,
        createdAt: asset.createdAt,
        requiresPython: property(asset.path, PROPERTY.requiresPython),
        yanked: yanked === undefined ? undefined : yanked === 'true' ? '' : yanked,
        metadataSha256: metadata.get(`${asset.path}.metadata`),
      })
    }
    files.sort((a, b) => a.createdAt - b.createdAt || (a.filename < b.filename ? -1 : 1))
    return files
  }

  /** Whether the project has at least one file (the dependency-confusion guard asks this). */
  hasProject(repoKey: string, project: string): Promise<boolean> {
    return this.artifacts.hasFilesBelow(repoKey, project)
  }

  /** The names of the folders in `parent`: the (normalised) projects of a local repository, or a remote's cached pages under `.pypi/`. */
  async folders(repoKey: string, parent: string): Promise<string[]> {
    const { folders } = await this.artifacts.children(repoKey, parent)
    return folders.map((path) => path.slice(path.lastIndexOf('/') + 1))
  }
}
