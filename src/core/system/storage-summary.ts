import { statfs } from 'node:fs/promises'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import type { StorageLocation } from '../../storage/open-storage-driver.js'
import type { RepositoryService } from '../repositories/repository-service.js'

export interface RepositorySummary {
  readonly repoKey: string
  readonly repoType: string
  readonly packageType?: string
  readonly projectKey?: string
  readonly foldersCount: number
  readonly filesCount: number
  readonly itemsCount: number
  readonly usedSpace: string
  readonly usedSpaceInBytes: number
  readonly percentage?: string
}

/** Artifactory's storage summary (`GET /api/storageinfo`), as far as it applies to Trove. */
export interface StorageSummary {
  readonly binariesSummary: {
    readonly binariesCount: string
    readonly binariesSize: string
    readonly artifactsSize: string
    readonly optimization: string
    readonly itemsCount: string
    readonly artifactsCount: string
  }
  readonly fileStoreSummary: {
    readonly storageType: string
    readonly storageDirectory: string
    readonly totalSpace?: string
    readonly usedSpace?: string
    readonly freeSpace?: string
  }
  /** Every repository, then a `TOTAL` row. */
  readonly repositoriesSummaryList: readonly RepositorySummary[]
  /** Trove's own: the totals as numbers. */
  readonly totals: { readonly filesCount: number; readonly usedSpaceInBytes: number }
}

/**
 * What is stored, on any backend: binaries (each blob counted once however many files share it)
 * and files per repository come from the metadata store; the store's own free space where it has
 * one (a folder), its location always.
 */
export class StorageSummaries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly repositories: RepositoryService,
    private readonly store: { readonly type: string; readonly location: StorageLocation; readonly description: string },
  ) {}

  async summarize(): Promise<StorageSummary> {
    const [repositories, files, folders, binaries] = await Promise.all([
      this.repositories.list(),
      this.db
        .selectFrom('assets')
        .select(['repo_key', (eb) => eb.fn.countAll<number>().as('count'), (eb) => eb.fn.sum<number>('size').as('bytes')])
        .groupBy('repo_key')
        .execute(),
      this.db.selectFrom('folders').select(['repo_key', (eb) => eb.fn.countAll<number>().as('count')]).groupBy('repo_key').execute(),
      this.db
        .selectFrom('blobs')
        .select([(eb) => eb.fn.countAll<number>().as('count'), (eb) => eb.fn.sum<number>('size').as('bytes')])
        .where(({ exists, selectFrom }) => exists(selectFrom('assets').select(sql.lit(1).as('one')).whereRef('assets.sha256', '=', 'blobs.sha256')))
        .executeTakeFirstOrThrow(),
    ])
    const filesOf = new Map(files.map((row) => [row.repo_key, { count: Number(row.count), bytes: Number(row.bytes ?? 0) }]))
    const foldersOf = new Map(folders.map((row) => [row.repo_key, Number(row.count)]))
    const totalFiles = files.reduce((sum, row) => sum + Number(row.count), 0)
    const totalBytes = files.reduce((sum, row) => sum + Number(row.bytes ?? 0), 0)
    const totalFolders = folders.reduce((sum, row) => sum + Number(row.count), 0)
    const rows: RepositorySummary[] = repositories.map((repository) => {
      const used = filesOf.get(repository.key) ?? { count: 0, bytes: 0 }
      const folderCount = foldersOf.get(repository.key) ?? 0
      const project = repository.config.projectKey
      return {
        repoKey: repository.key,
        // Artifactory calls a remote repository's cached content CACHE.
        repoType: repository.rclass === 'remote' ? 'CACHE' : repository.rclass.toUpperCase(),
        packageType: repository.packageType,
        ...(typeof project === 'string' && project !== '' ? { projectKey: project } : {}),
        foldersCount: folderCount,
        filesCount: used.count,
        itemsCount: used.count + folderCount,
        usedSpace: formatSize(used.bytes),
        usedSpaceInBytes: used.bytes,
        percentage: percent(used.bytes, totalBytes),
      }
    })
    rows.push({
      repoKey: 'TOTAL',
      repoType: 'NA',
      foldersCount: totalFolders,
      filesCount: totalFiles,
      itemsCount: totalFiles + totalFolders,
      usedSpace: formatSize(totalBytes),
      usedSpaceInBytes: totalBytes,
    })
    const binariesBytes = Number(binaries.bytes ?? 0)
    return {
      binariesSummary: {
        binariesCount: count(Number(binaries.count)),
        binariesSize: formatSize(binariesBytes),
        artifactsSize: formatSize(totalBytes),
        // As Artifactory reports it: what is stored, as a share of what the files add up to.
        optimization: percent(binariesBytes, totalBytes),
        itemsCount: count(totalFiles + totalFolders),
        artifactsCount: count(totalFiles),
      },
      fileStoreSummary: { storageType: this.store.type, storageDirectory: this.store.description, ...(await this.space()) },
      repositoriesSummaryList: rows,
      totals: { filesCount: totalFiles, usedSpaceInBytes: totalBytes },
    }
  }

  /** The filesystem's total, used and free space; an object store has no such figures. */
  private async space(): Promise<{ totalSpace: string; usedSpace: string; freeSpace: string } | Record<string, never>> {
    if (this.store.location.kind !== 'filesystem') return {}
    const stats = await statfs(this.store.location.root).catch(() => undefined)
    if (!stats) return {}
    const total = stats.blocks * stats.bsize
    const free = stats.bavail * stats.bsize
    return {
      totalSpace: formatSize(total),
      usedSpace: `${formatSize(total - free)} (${percent(total - free, total)})`,
      freeSpace: `${formatSize(free)} (${percent(free, total)})`,
    }
  }
}

const UNITS = ['KB', 'MB', 'GB', 'TB', 'PB']

/** Sizes as Artifactory writes them: `512 bytes`, `3.48 GB` (powers of 1024). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(2)} ${UNITS[unit]}`
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((part / whole) * 100).toFixed(2)}%`
}

function count(value: number): string {
  return value.toLocaleString('en-US')
}
