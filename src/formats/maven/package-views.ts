import { XMLParser } from 'fast-xml-parser'
import type { SetupContext, Snippet } from '../../api/formats.js'
import type { UiDependency } from '../../api/packages.js'
import { fileTotals, packageFile, type Asset, type PackageFiles } from '../../core/index.js'
import type { PackageViews } from '../format.js'
import { setupTarget, xml } from '../set-me-up.js'
import { checksumOf, isMetadataFile, isSnapshotVersion } from './maven-path.js'
import { MAX_POM_BYTES } from './pom.js'

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true })

/** One version folder of the layout: `<group as folders>/<artifactId>/<version>/` holding a POM. */
interface VersionFolder {
  /** `groupId:artifactId` */
  readonly name: string
  readonly artifactPath: string
  readonly version: string
  readonly pom: Asset
}

/** Version folders with a POM (`<artifactId>-<version…>.pom`), by `groupId:artifactId`; checksums and metadata aside. */
function artifactsOf(files: readonly Asset[]): Map<string, Map<string, VersionFolder>> {
  const artifacts = new Map<string, Map<string, VersionFolder>>()
  for (const asset of files) {
    const segments = asset.path.split('/')
    if (segments.length < 4 || !asset.name.endsWith('.pom')) continue
    const version = segments[segments.length - 2]!
    const artifactId = segments[segments.length - 3]!
    if (!asset.name.startsWith(`${artifactId}-`)) continue
    const name = `${segments.slice(0, -3).join('.')}:${artifactId}`
    const versions = artifacts.get(name) ?? new Map<string, VersionFolder>()
    // A SNAPSHOT folder holds a POM per build: the newest stands for the version.
    const known = versions.get(version)
    if (!known || known.pom.createdAt < asset.createdAt) versions.set(version, { name, artifactPath: segments.slice(0, -2).join('/'), version, pom: asset })
    artifacts.set(name, versions)
  }
  return artifacts
}

const isShown = (asset: Asset) => checksumOf(asset.path) === undefined && !isMetadataFile(asset.path)
const newestFirst = (a: VersionFolder, b: VersionFolder) => b.pom.createdAt - a.pom.createdAt

/**
 * Maven artifacts as the console shows them: `groupId:artifactId`, its versions newest first
 * (SNAPSHOT labelled), a version's files (checksums aside), its POM's name, description and
 * dependencies with their scopes.
 */
export function mavenPackageViews(): PackageViews {
  const pathOf = (name: string) => {
    const [group, artifact] = name.split(':')
    return group && artifact ? `${group.replace(/\./g, '/')}/${artifact}` : undefined
  }
  return {
    async list(files) {
      const all = await files.below('')
      return [...artifactsOf(all)].map(([name, versions]) => {
        const sorted = [...versions.values()].sort(newestFirst)
        const folder = sorted[0]!.artifactPath
        const totals = fileTotals(all.filter((a) => a.path.startsWith(`${folder}/`) && isShown(a)))
        return { name, latestVersion: sorted[0]!.version, versionCount: sorted.length, updatedAt: totals.updatedAt, size: totals.size, ...(totals.cachedAt ? { cachedAt: totals.cachedAt } : {}) }
      })
    },

    async package(files, name) {
      const path = pathOf(name)
      if (!path) return undefined
      const all = await files.below(path)
      const versions = artifactsOf(all).get(name)
      if (!versions) return undefined
      const sorted = [...versions.values()].sort(newestFirst)
      return {
        name,
        versions: sorted.map((v, i) => {
          const totals = fileTotals(all.filter((a) => a.path.startsWith(`${v.artifactPath}/${v.version}/`) && isShown(a)))
          const labels = [...(i === 0 ? ['latest'] : []), ...(isSnapshotVersion(v.version) ? ['snapshot'] : [])]
          return { version: v.version, labels, size: totals.size, updatedAt: totals.updatedAt, ...(totals.downloadedAt ? { downloadedAt: totals.downloadedAt } : {}) }
        }),
      }
    },

    async version(files, name, version, setup) {
      const path = pathOf(name)
      if (!path) return undefined
      const below = await files.below(`${path}/${version}`)
      const folder = artifactsOf(below).get(name)?.get(version)
      if (!folder) return undefined
      const shown = below.filter((a) => a.path.split('/').length === folder.pom.path.split('/').length && isShown(a))
      const pom = await readPom(files, folder.pom)
      const totals = fileTotals(shown)
      const [groupId, artifactId] = name.split(':') as [string, string]
      return {
        name,
        version,
        labels: isSnapshotVersion(version) ? ['snapshot'] : [],
        size: totals.size,
        updatedAt: totals.updatedAt,
        downloadCount: totals.downloadCount,
        ...(totals.downloadedAt ? { downloadedAt: totals.downloadedAt } : {}),
        ...(pom.description ? { description: pom.description } : {}),
        install: installCommands(setup, groupId, artifactId, version),
        dependencies: pom.dependencies,
        files: shown.map(packageFile),
        sections: pom.name ? [{ kind: 'pairs', title: 'Project', pairs: [['Name', pom.name], ...(pom.packaging ? [['Packaging', pom.packaging] as const] : [])] }] : [],
        treePath: `${path}/${version}`,
      }
    },
  }
}

async function readPom(files: PackageFiles, asset: Asset): Promise<{ name?: string; description?: string; packaging?: string; dependencies: UiDependency[] }> {
  let project: Record<string, unknown> | undefined
  try {
    project = (parser.parse(await files.text(asset, MAX_POM_BYTES)) as { project?: Record<string, unknown> }).project
  } catch {
    project = undefined // not well-formed: shown without its details
  }
  if (!project || typeof project !== 'object') return { dependencies: [] }
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined)
  const listed = (project.dependencies as { dependency?: unknown } | undefined)?.dependency
  const dependencies = (Array.isArray(listed) ? listed : listed ? [listed] : []) as Record<string, unknown>[]
  return {
    ...(text(project.name) ? { name: text(project.name)! } : {}),
    ...(text(project.description) ? { description: text(project.description)! } : {}),
    ...(text(project.packaging) ? { packaging: text(project.packaging)! } : {}),
    dependencies: dependencies.map((d) => ({ name: `${text(d.groupId) ?? '?'}:${text(d.artifactId) ?? '?'}`, requirement: text(d.version) ?? 'managed', kind: text(d.scope) ?? 'compile' })),
  }
}

function installCommands(setup: SetupContext, groupId: string, artifactId: string, version: string): Snippet[] {
  const url = `${setupTarget(setup).baseUrl}/artifactory/${setup.key}`
  return [
    {
      id: 'maven-dependency',
      title: 'Maven dependency',
      description: 'In your pom.xml, with the repository of Set Me Up in settings.xml.',
      text: ['<dependency>', `  <groupId>${xml(groupId)}</groupId>`, `  <artifactId>${xml(artifactId)}</artifactId>`, `  <version>${xml(version)}</version>`, '</dependency>'].join('\n'),
    },
    {
      id: 'maven-get',
      title: 'Fetch with mvn',
      description: 'Downloads it into your local Maven repository.',
      text: `mvn dependency:get -DremoteRepositories=${url} -Dartifact=${groupId}:${artifactId}:${version}`,
    },
  ]
}
