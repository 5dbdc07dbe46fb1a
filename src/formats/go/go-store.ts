import type { ArtifactService, Asset } from '../../core/index.js'
import { compareGoSemver } from './go-semver.js'
import { unescapePath, versionsFolder } from './module-path.js'

/**
 * Properties Trove sets on each stored module file (`go.module`, `go.version`, as Artifactory
 * names them), and on a zip the sha256 of the go.mod inside it, so that a `.mod` uploaded after
 * its zip is compared without reading the zip again.
 */
export const PROPERTY = {
  module: 'go.module',
  version: 'go.version',
  zipGoModSha256: 'go.zip.gomod.sha256',
} as const

/** One version of a module in a local repository: the files stored for it. */
export interface StoredVersion {
  readonly version: string
  readonly info?: Asset | undefined
  readonly mod?: Asset | undefined
  readonly zip?: Asset | undefined
}

/**
 * Reads the Go layout of local repositories: `<escaped module>/@v/<escaped version>.{info,mod,zip}`
 * assets. The layout is plain on purpose: the generic REST API deletes and annotates it, and the
 * proxy's answers are built from what is there at each request (one query per module).
 */
export class GoStore {
  constructor(private readonly artifacts: ArtifactService) {}

  /** The versions of a module with their files, in Go's order (oldest first); empty when none is stored. */
  async versions(repoKey: string, escapedModule: string): Promise<StoredVersion[]> {
    const folder = versionsFolder(escapedModule)
    const assets = await this.artifacts.findFiles({ repoKeys: [repoKey], below: folder })
    const byVersion = new Map<string, { info?: Asset; mod?: Asset; zip?: Asset }>()
    for (const asset of assets) {
      if (asset.path !== `${folder}/${asset.name}`) continue
      const match = /^(.+)\.(info|mod|zip)$/.exec(asset.name)
      const version = match ? unescapePath(match[1]!) : undefined
      if (!match || version === undefined) continue
      const files = byVersion.get(version) ?? {}
      files[match[2] as 'info' | 'mod' | 'zip'] = asset
      byVersion.set(version, files)
    }
    return [...byVersion.entries()].map(([version, files]) => ({ version, ...files })).sort((a, b) => compareGoSemver(a.version, b.version))
  }

  /** The versions a proxy lists: those whose `.mod` and `.zip` are both stored (a half-published version is not offered). */
  async listed(repoKey: string, escapedModule: string): Promise<string[]> {
    return (await this.versions(repoKey, escapedModule)).filter((v) => v.mod && v.zip).map((v) => v.version)
  }

  /** Whether any file of the module is stored (the dependency-confusion guard asks this). */
  hasModule(repoKey: string, escapedModule: string): Promise<boolean> {
    return this.artifacts.hasFilesBelow(repoKey, versionsFolder(escapedModule))
  }
}
