import type { SetupContext, Snippet } from '../../api/formats.js'
import type { UiDependency, UiVersionSummary } from '../../api/packages.js'
import { fileTotals, packageFile, parseJson, type Asset, type FormatTables, type PackageFiles } from '../../core/index.js'
import type { PackageViews } from '../format.js'
import { setupTarget } from '../set-me-up.js'
import type { NpmTables } from './tables.js'

const TARBALL = /^(.+)\/-\/([^/]+)\.tgz$/

/** A stored tarball and the version it holds. */
interface Tarball {
  readonly name: string
  readonly version: string
  readonly asset: Asset
}

interface VersionRow {
  readonly repo_key: string
  readonly version: string
  readonly manifest: string
  readonly deprecated: string | null
  readonly readme: string | null
  readonly tarball_path: string
}

const DEPENDENCY_KINDS = [
  ['dependencies', 'runtime'],
  ['peerDependencies', 'peer'],
  ['optionalDependencies', 'optional'],
  ['devDependencies', 'dev'],
] as const

/**
 * npm packages as the console shows them: the tarballs the caller may read (a remote's cache, a
 * virtual's members'), each version's manifest, dist-tags, deprecation and README from the npm
 * tables of the repository storing it (a remote's cached tarballs: their file names only).
 */
export function npmPackageViews(tables: FormatTables<NpmTables>): PackageViews {
  const db = tables.db

  async function tarballsOf(files: PackageFiles, folder: string): Promise<Tarball[]> {
    const found: Tarball[] = []
    const rows = await db.selectFrom('npm_versions').select(['repo_key', 'tarball_path', 'version', 'name']).where('repo_key', 'in', [...files.sourceKeys, files.repository.key]).execute()
    const byPath = new Map(rows.map((r) => [`${r.repo_key}\n${r.tarball_path}`, r]))
    for (const asset of await files.below(folder)) {
      const match = TARBALL.exec(asset.path)
      if (!match) continue
      const row = byPath.get(`${asset.repoKey}\n${asset.path}`)
      const name = row?.name ?? match[1]!
      // A cached tarball without a row: `<bare name>-<version>.tgz`.
      const bare = name.slice(name.lastIndexOf('/') + 1)
      const version = row?.version ?? (match[2]!.startsWith(`${bare}-`) ? match[2]!.slice(bare.length + 1) : match[2]!)
      found.push({ name, version, asset })
    }
    return found
  }

  async function distTags(files: PackageFiles, name: string): Promise<Map<string, string[]>> {
    const rows = await db.selectFrom('npm_packages').select(['dist_tags']).where('repo_key', 'in', files.sourceKeys).where('name', '=', name).execute()
    const byVersion = new Map<string, string[]>()
    for (const row of rows) {
      for (const [tag, version] of Object.entries(parseJson(row.dist_tags, 'dist-tags') as Record<string, string>)) {
        const tags = byVersion.get(version) ?? []
        if (!tags.includes(tag)) byVersion.set(version, [...tags, tag])
      }
    }
    return byVersion
  }

  async function versionRow(tarball: Tarball): Promise<VersionRow | undefined> {
    return db
      .selectFrom('npm_versions')
      .select(['repo_key', 'version', 'manifest', 'deprecated', 'readme', 'tarball_path'])
      .where('repo_key', '=', tarball.asset.repoKey)
      .where('tarball_path', '=', tarball.asset.path)
      .executeTakeFirst()
  }

  return {
    async list(files) {
      const byName = new Map<string, Tarball[]>()
      for (const t of await tarballsOf(files, '')) byName.set(t.name, [...(byName.get(t.name) ?? []), t])
      return Promise.all(
        [...byName].map(async ([name, tarballs]) => {
          const tags = await distTags(files, name)
          const latest = [...tags].find(([, t]) => t.includes('latest'))?.[0] ?? [...tarballs].sort((a, b) => b.asset.createdAt - a.asset.createdAt)[0]!.version
          const totals = fileTotals(tarballs.map((t) => t.asset))
          return { name, latestVersion: latest, versionCount: tarballs.length, updatedAt: totals.updatedAt, size: totals.size, ...(totals.cachedAt ? { cachedAt: totals.cachedAt } : {}) }
        }),
      )
    },

    async package(files, name) {
      const tarballs = (await tarballsOf(files, name)).filter((t) => t.name === name)
      if (tarballs.length === 0) return undefined
      const tags = await distTags(files, name)
      const description = await db.selectFrom('npm_packages').select('description').where('repo_key', 'in', files.sourceKeys).where('name', '=', name).executeTakeFirst()
      const versions: UiVersionSummary[] = []
      for (const t of tarballs.sort((a, b) => b.asset.createdAt - a.asset.createdAt)) {
        const row = await versionRow(t)
        const totals = fileTotals([t.asset])
        versions.push({
          version: t.version,
          labels: [...(tags.get(t.version) ?? []), ...(row?.deprecated ? ['deprecated'] : [])],
          size: totals.size,
          updatedAt: totals.updatedAt,
          ...(totals.downloadedAt ? { downloadedAt: totals.downloadedAt } : {}),
          ...(totals.cachedAt ? { cachedAt: totals.cachedAt } : {}),
        })
      }
      return { name, ...(description?.description ? { description: description.description } : {}), versions }
    },

    async version(files, name, version, setup) {
      const tarball = (await tarballsOf(files, name)).find((t) => t.name === name && t.version === version)
      if (!tarball) return undefined
      const row = await versionRow(tarball)
      const manifest = row ? (parseJson(row.manifest, 'the version manifest') as Record<string, unknown>) : {}
      const tags = await distTags(files, name)
      const totals = fileTotals([tarball.asset])
      const description = typeof manifest.description === 'string' ? manifest.description : undefined
      return {
        name,
        version,
        labels: [...(tags.get(version) ?? []), ...(row?.deprecated ? ['deprecated'] : [])],
        size: totals.size,
        updatedAt: totals.updatedAt,
        downloadCount: totals.downloadCount,
        ...(totals.downloadedAt ? { downloadedAt: totals.downloadedAt } : {}),
        ...(description ? { description } : {}),
        ...(row?.readme ? { readme: row.readme } : {}),
        install: installCommands(setup, name, version),
        dependencies: dependenciesOf(manifest),
        files: [packageFile(tarball.asset)],
        sections: row?.deprecated ? [{ kind: 'pairs', title: 'Deprecated', pairs: [['Message', row.deprecated]] }] : [],
        treePath: tarball.asset.path,
      }
    },
  }
}

function dependenciesOf(manifest: Record<string, unknown>): UiDependency[] {
  return DEPENDENCY_KINDS.flatMap(([field, kind]) => {
    const listed = manifest[field]
    if (!listed || typeof listed !== 'object') return []
    return Object.entries(listed as Record<string, unknown>).map(([name, requirement]) => ({ name, requirement: String(requirement), kind }))
  })
}

function installCommands(setup: SetupContext, name: string, version: string): Snippet[] {
  const registry = `${setupTarget(setup).baseUrl}/artifactory/api/npm/${setup.key}/`
  return [
    { id: 'npm-install', title: 'Install with npm', description: 'With the .npmrc of Set Me Up, or naming the registry as here.', text: `npm install ${name}@${version} --registry ${registry}` },
  ]
}
