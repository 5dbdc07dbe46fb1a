import type { ArtifactService } from '../../core/index.js'
import type { IndexedGem } from './compact-index.js'
import { type GemSpec, requirementText } from './gemspec.js'

/** Properties Trove sets on each pushed gem (as Artifactory's `gem.*`); the indexes are built from them. */
export const PROPERTY = {
  name: 'gem.name',
  version: 'gem.version',
  platform: 'gem.platform',
  dependencies: 'gem.dependencies',
  requirements: 'gem.requirements',
} as const

/** Where a gem's file and its quick spec live in a repository (Artifactory's layout). */
export const GEMS_FOLDER = 'gems'
export const QUICK_FOLDER = 'quick/Marshal.4.8'

export function gemPath(fullName: string): string {
  return `${GEMS_FOLDER}/${fullName}.gem`
}
export function quickPath(fullName: string): string {
  return `${QUICK_FOLDER}/${fullName}.gemspec.rz`
}

/** The properties of a pushed gem: what its index lines say. */
export function propertiesOf(spec: GemSpec): Map<string, string[]> {
  const runtime = spec.dependencies.filter((d) => d.type !== 'development')
  const dependencies = runtime.map((d) => `${d.name}:${requirementText(d.requirements)}`).join('&')
  const requirements = [
    ...(isDefault(spec.requiredRubyVersion) ? [] : [`ruby:${requirementText(spec.requiredRubyVersion)}`]),
    ...(isDefault(spec.requiredRubygemsVersion) ? [] : [`rubygems:${requirementText(spec.requiredRubygemsVersion)}`]),
  ].join('&')
  return new Map([
    [PROPERTY.name, [spec.name]],
    [PROPERTY.version, [spec.version]],
    [PROPERTY.platform, [spec.platform]],
    [PROPERTY.dependencies, [dependencies]],
    [PROPERTY.requirements, [requirements]],
  ])
}

function isDefault(requirements: GemSpec['requiredRubyVersion']): boolean {
  return requirements.length === 1 && requirements[0]![0] === '>=' && requirements[0]![1] === '0'
}

/**
 * The gems of a local repository, read from its `gems/` folder and their `gem.*` properties at
 * each request (so a gem deleted through the generic API leaves the indexes at once), oldest first.
 */
export class GemStore {
  constructor(private readonly artifacts: ArtifactService) {}

  async gems(repoKey: string, name?: string): Promise<IndexedGem[]> {
    const all = await this.artifacts.findFiles({ repoKeys: [repoKey], below: GEMS_FOLDER })
    // One gem: only the files named like its versions have their properties read (`rack-` also
    // matches `rack-test-…`, which the gem.name property then tells apart).
    const assets = name === undefined ? all : all.filter((a) => a.name.startsWith(`${name}-`))
    const properties =
      name === undefined
        ? await this.artifacts.propertiesBelow(repoKey, GEMS_FOLDER, Object.values(PROPERTY))
        : new Map(await Promise.all(assets.map(async (a) => [a.path, await this.artifacts.getProperties(repoKey, a.path)] as const)))
    const out: (IndexedGem & { createdAt: number })[] = []
    for (const asset of assets) {
      const props = properties.get(asset.path)
      const value = (key: string) => props?.get(key)?.[0]
      const gemName = value(PROPERTY.name)
      const version = value(PROPERTY.version)
      if (!gemName || !version || (name !== undefined && gemName !== name)) continue
      out.push({
        name: gemName,
        version,
        platform: value(PROPERTY.platform) || 'ruby',
        dependencies: value(PROPERTY.dependencies) ?? '',
        requirements: value(PROPERTY.requirements) ?? '',
        sha256: asset.sha256,
        createdAt: asset.createdAt,
      })
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.version < b.version ? -1 : 1))
  }

  /** Whether the repository has any version of `name` (the dependency-confusion guard asks this). */
  async has(repoKey: string, name: string): Promise<boolean> {
    return (await this.gems(repoKey, name)).length > 0
  }
}
