import type { Kysely } from 'kysely'
import type { ArtifactService, Asset } from '../../core/index.js'
import { isPackageName, packageOfPath } from './names.js'
import type { ComposerTables } from './tables.js'
import { normalizeVersion } from './versions.js'

/** Bound parameters per lookup of archives by blob. */
const LOOKUP_BATCH = 500

/** An archive of a local repository, with its composer.json when recorded. */
export interface StoredArchive {
  readonly asset: Asset
  readonly name: string
  /** The version as the stored path has it (from composer.json or the `composer.version` property). */
  readonly version: string
  readonly manifest: Record<string, unknown>
}

/** The Composer layout of local repositories: archive assets, and their composer.json in `composer_archives`. */
export class ComposerStore {
  constructor(
    private readonly db: Kysely<ComposerTables>,
    private readonly artifacts: ArtifactService,
  ) {}

  /** The archives of one package in a local repository (those whose recorded composer.json names it). */
  async archives(repoKey: string, name: string): Promise<StoredArchive[]> {
    const assets = await this.artifacts.findFiles({ repoKeys: [repoKey], below: name })
    const manifests = await this.manifests(assets.map((a) => a.sha256))
    const found: StoredArchive[] = []
    for (const asset of assets) {
      const at = packageOfPath(asset.path)
      const recorded = manifests.get(asset.sha256)
      if (!at || at.name !== name || !recorded || recorded.name !== name) continue
      found.push({ asset, name, version: at.version, manifest: JSON.parse(recorded.manifest) as Record<string, unknown> })
    }
    return found
  }

  /** Whether a local repository has any archive of `name` (the dependency-confusion guard asks this). */
  hasPackage(repoKey: string, name: string): Promise<boolean> {
    return this.artifacts.hasFilesBelow(repoKey, name)
  }

  /** Whether a version of `name` is stored, however spelled (`v1.0` is `1.0.0`): a release is never overwritten. */
  async hasVersion(repoKey: string, name: string, normalized: string): Promise<boolean> {
    for (const folder of (await this.artifacts.children(repoKey, name)).folders) {
      const version = folder.slice(folder.lastIndexOf('/') + 1)
      if (normalizeVersion(version) === normalized && (await this.artifacts.hasFilesBelow(repoKey, folder))) return true
    }
    return false
  }

  /** The package names of a local repository (`vendor/package` folders holding files; a folder a delete emptied is none), sorted. */
  async packageNames(repoKey: string): Promise<string[]> {
    const names: string[] = []
    for (const vendor of (await this.artifacts.children(repoKey, '')).folders) {
      if (vendor.startsWith('.')) continue
      for (const pkg of (await this.artifacts.children(repoKey, vendor)).folders) if (isPackageName(pkg) && (await this.artifacts.hasFilesBelow(repoKey, pkg))) names.push(pkg)
    }
    return names.sort()
  }

  /** Remembers an archive blob's composer.json (idempotent: the same blob always has the same one). */
  async record(db: Kysely<ComposerTables>, sha256: string, name: string, manifest: Record<string, unknown>): Promise<void> {
    await db
      .insertInto('composer_archives')
      .values({ sha256, name, manifest: JSON.stringify(manifest), created_at: Date.now() })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .execute()
  }

  private async manifests(sha256s: readonly string[]): Promise<Map<string, { name: string; manifest: string }>> {
    const found = new Map<string, { name: string; manifest: string }>()
    const unique = [...new Set(sha256s)]
    for (let i = 0; i < unique.length; i += LOOKUP_BATCH) {
      const rows = await this.db.selectFrom('composer_archives').select(['sha256', 'name', 'manifest']).where('sha256', 'in', unique.slice(i, i + LOOKUP_BATCH)).execute()
      for (const row of rows) found.set(row.sha256, row)
    }
    return found
  }
}
