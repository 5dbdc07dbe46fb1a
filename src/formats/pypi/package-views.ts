import type { SetupContext, Snippet } from '../../api/formats.js'
import type { UiDependency } from '../../api/packages.js'
import { fileTotals, nameOf, packageFile, type Asset, type ArtifactService, type PackageFiles } from '../../core/index.js'
import type { PackageViews } from '../format.js'
import { escapedSecret, setupTarget } from '../set-me-up.js'
import { parseCoreMetadata } from './core-metadata.js'
import { isDistributionFilename } from './names.js'
import { comparePep440 } from './pep440.js'
import { PROPERTY } from './pypi-store.js'

/** README text shown at most (the description of core metadata). */
const MAX_README = 64 * 1024

/** The distribution files of a layout `<project>/<version>/<file>`, by project and version. */
function projectsOf(files: readonly Asset[]): Map<string, Map<string, Asset[]>> {
  const projects = new Map<string, Map<string, Asset[]>>()
  for (const asset of files) {
    const segments = asset.path.split('/')
    if (segments.length !== 3 || !isDistributionFilename(asset.name)) continue
    const [project, version] = segments as [string, string, string]
    const versions = projects.get(project) ?? new Map<string, Asset[]>()
    versions.set(version, [...(versions.get(version) ?? []), asset])
    projects.set(project, versions)
  }
  return projects
}

const newestVersionFirst = (a: string, b: string) => comparePep440(b, a)

/**
 * PyPI projects as the console shows them: versions newest first (PEP 440), yanked ones labelled
 * (the `pypi.yanked` property of a file or its version folder, PEP 592); a version's summary,
 * description (README) and Requires-Dist from a wheel's core metadata beside it.
 */
export function pypiPackageViews(artifacts: ArtifactService): PackageViews {
  async function yanked(files: readonly Asset[], folder: string): Promise<boolean> {
    const first = files[0]
    if (!first) return false
    const [onFolder, onFile] = await Promise.all([artifacts.getProperties(first.repoKey, folder), artifacts.getProperties(first.repoKey, first.path)])
    return onFolder.has(PROPERTY.yanked) || onFile.has(PROPERTY.yanked)
  }

  return {
    async list(files) {
      return [...projectsOf(await files.below(''))].map(([name, versions]) => {
        const sorted = [...versions.keys()].sort(newestVersionFirst)
        const totals = fileTotals([...versions.values()].flat())
        return { name, latestVersion: sorted[0]!, versionCount: sorted.length, updatedAt: totals.updatedAt, size: totals.size, ...(totals.cachedAt ? { cachedAt: totals.cachedAt } : {}) }
      })
    },

    async package(files, name) {
      const versions = projectsOf(await files.below(name)).get(name)
      if (!versions) return undefined
      const sorted = [...versions.keys()].sort(newestVersionFirst)
      return {
        name,
        versions: await Promise.all(
          sorted.map(async (version, i) => {
            const assets = versions.get(version)!
            const totals = fileTotals(assets)
            const labels = [...(i === 0 ? ['latest'] : []), ...((await yanked(assets, `${name}/${version}`)) ? ['yanked'] : [])]
            return { version, labels, size: totals.size, updatedAt: totals.updatedAt, ...(totals.downloadedAt ? { downloadedAt: totals.downloadedAt } : {}), ...(totals.cachedAt ? { cachedAt: totals.cachedAt } : {}) }
          }),
        ),
      }
    },

    async version(files, name, version, setup) {
      const below = await files.below(`${name}/${version}`)
      const assets = projectsOf(below).get(name)?.get(version)
      if (!assets) return undefined
      const metadata = await coreMetadata(files, below, assets)
      const totals = fileTotals(assets)
      const summary = metadata?.fields.get('summary')?.[0]
      const isYanked = await yanked(assets, `${name}/${version}`)
      return {
        name,
        version,
        labels: isYanked ? ['yanked'] : [],
        size: totals.size,
        updatedAt: totals.updatedAt,
        downloadCount: totals.downloadCount,
        ...(totals.downloadedAt ? { downloadedAt: totals.downloadedAt } : {}),
        ...(summary ? { description: summary } : {}),
        ...(metadata?.description ? { readme: metadata.description } : {}),
        install: installCommands(setup, name, version),
        dependencies: (metadata?.fields.get('requires-dist') ?? []).map(dependencyOf),
        files: assets.map(packageFile),
        sections: metadata?.fields.get('requires-python') ? [{ kind: 'pairs', title: 'Requirements', pairs: [['Python', metadata.fields.get('requires-python')![0]!]] }] : [],
        treePath: `${name}/${version}`,
      }
    },
  }
}

/** The core metadata stored beside a wheel (`<file>.metadata`, PEP 658): its fields and its description body. */
async function coreMetadata(files: PackageFiles, below: readonly Asset[], distributions: readonly Asset[]): Promise<{ fields: Map<string, string[]>; description: string } | undefined> {
  const metadata = below.find((a) => distributions.some((d) => a.path === `${d.path}.metadata`))
  if (!metadata) return undefined
  const text = await files.text(metadata)
  const body = /\r?\n\r?\n/.exec(text)
  return { fields: parseCoreMetadata(text), description: body ? text.slice(body.index + body[0].length, body.index + body[0].length + MAX_README).trim() : '' }
}

/** `requests (>=2.0) ; extra == "http"` → name `requests`, requirement `>=2.0 ; extra == "http"`. */
function dependencyOf(line: string): UiDependency {
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(.*)$/.exec(line.trim())
  const name = match?.[1] ?? line
  const rest = (match?.[2] ?? '').replace(/^\((.*)\)/, '$1').trim()
  return { name, requirement: rest || 'any', kind: /extra\s*==/.test(rest) ? 'extra' : 'runtime' }
}

function installCommands(setup: SetupContext, name: string, version: string): Snippet[] {
  const target = setupTarget(setup)
  const credentials = `${encodeURIComponent(target.user)}:${escapedSecret(target, encodeURIComponent)}`
  const simple = `${target.baseUrl.replace('://', `://${credentials}@`)}/artifactory/api/pypi/${setup.key}/simple/`
  return [
    {
      id: 'pip-install',
      title: 'Install with pip',
      description: 'Put a token in place of <TOKEN> (Set Me Up makes one), or use the pip.conf of Set Me Up.',
      text: `pip install --index-url ${simple}${target.isPlainHttp ? ` --trusted-host ${target.hostname}` : ''} ${nameOf(name)}==${version}`,
    },
  ]
}
