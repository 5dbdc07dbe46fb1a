import type { Kysely, SelectQueryBuilder, Transaction } from 'kysely'
import type { TrashItemTable } from '../../metadata/lifecycle-schema.js'
import type { AssetTable, Database } from '../../metadata/schema.js'
import type { StorageQuota } from '../auth/quota.js'
import { withinFolder } from '../artifacts/asset-rows.js'
import type { FreedRecorder } from './usage.js'

/** The trash can's repository key, as Artifactory names it (`/api/storage/auto-trashcan/<repo>/<path>`). */
export const TRASHCAN_KEY = 'auto-trashcan'

/** Artifactory's `trashcanConfig`. */
export interface TrashSettings {
  readonly enabled: boolean
  readonly retentionPeriodDays: number
}

/** A file in the trash can. */
export interface TrashedFile {
  readonly repoKey: string
  readonly path: string
  readonly sha256: string
  readonly sha1: string
  readonly md5: string
  readonly size: number
  readonly contentType: string
  readonly originalChecksums: Record<string, string>
  readonly createdAt: number
  readonly createdBy: string
  readonly modifiedAt: number
  readonly modifiedBy: string
  readonly properties: ReadonlyMap<string, readonly string[]>
  readonly projectKey: string | null
  readonly deletedAt: number
  readonly deletedBy: string
}

/** What a repository needs to be for its deletes to land in the trash. */
interface TrashableRepository {
  readonly key: string
  readonly rclass: string
  readonly config: { readonly [field: string]: unknown }
}

/** Rows moved, listed or removed at a time: memory stays flat whatever the folder's size. */
const PAGE_SIZE = 500
const DAY_MS = 24 * 3600 * 1000

/**
 * The trash can: files deleted from local (and federated) repositories are kept, with their
 * checksums, properties and who deleted them, until the retention period ends, someone restores
 * or cleans them, or an admin empties the trash. While a file is here its blob is referenced
 * (garbage collection keeps it) and its bytes still count against its project's quota. Remote
 * repositories' caches are not kept: what they held can be fetched again.
 */
export class TrashCan {
  constructor(
    private readonly db: Kysely<Database>,
    readonly settings: TrashSettings,
    private readonly quota?: Pick<StorageQuota, 'charge'>,
    private readonly freed?: FreedRecorder,
  ) {}

  /** Whether deletes in `repository` go to the trash. */
  keepsFrom(repository: TrashableRepository): boolean {
    return this.settings.enabled && (repository.rclass === 'local' || repository.rclass === 'federated')
  }

  /**
   * Inside the delete's transaction, before the assets go: copies the file at `path` (or every
   * file below the folder `path`, `''` for the whole repository) into the trash, replacing what
   * the trash held at the same paths. Returns the bytes of the replaced trash rows, which the
   * quota no longer counts; the deleted files' bytes stay counted (they are in the trash now).
   */
  async keep(trx: Transaction<Database>, repository: TrashableRepository, path: string, kind: 'file' | 'folder', user: string): Promise<number> {
    let replaced = 0
    let after: string | undefined
    for (;;) {
      let query = trx.selectFrom('assets').selectAll().where('repo_key', '=', repository.key)
      query = kind === 'file' ? query.where('path', '=', path) : withinFolder(query, path)
      if (after !== undefined) query = query.where('path', '>', after)
      const rows = await query.orderBy('path').limit(PAGE_SIZE).execute()
      replaced += await this.copy(trx, repository, rows, user)
      if (rows.length < PAGE_SIZE) break
      after = rows[rows.length - 1]!.path
    }
    return replaced
  }

  /** {@link keep} for the files at `paths` (those that exist), e.g. the files a format's change removes. */
  async keepFiles(trx: Transaction<Database>, repository: TrashableRepository, paths: readonly string[], user: string): Promise<number> {
    let replaced = 0
    for (let start = 0; start < paths.length; start += PAGE_SIZE) {
      const page = paths.slice(start, start + PAGE_SIZE)
      const rows = await trx.selectFrom('assets').selectAll().where('repo_key', '=', repository.key).where('path', 'in', page).orderBy('path').execute()
      replaced += await this.copy(trx, repository, rows, user)
    }
    return replaced
  }

  /** Copies asset rows (with their properties) into the trash; returns the bytes of the trash rows they replace. */
  private async copy(trx: Transaction<Database>, repository: TrashableRepository, rows: readonly AssetTable[], user: string): Promise<number> {
    if (rows.length === 0) return 0
    const project = projectOf(repository)
    const now = Date.now()
    const paths = rows.map((row) => row.path)
    const properties = new Map<string, Record<string, string[]>>()
    for (const row of await trx.selectFrom('properties').selectAll().where('repo_key', '=', repository.key).where('path', 'in', paths).execute()) {
      const of = properties.get(row.path) ?? {}
      ;(of[row.name] ??= []).push(row.value)
      properties.set(row.path, of)
    }
    const old = await trx.deleteFrom('trash_items').where('repo_key', '=', repository.key).where('path', 'in', paths).returning('size').execute()
    await trx
      .insertInto('trash_items')
      .values(
        rows.map((row) => ({
          repo_key: row.repo_key,
          path: row.path,
          sha256: row.sha256,
          sha1: row.sha1,
          md5: row.md5,
          size: row.size,
          content_type: row.content_type,
          original_checksums: row.original_checksums,
          created_at: row.created_at,
          created_by: row.created_by,
          modified_at: row.modified_at,
          modified_by: row.modified_by,
          properties: JSON.stringify(properties.get(row.path) ?? {}),
          project_key: project ?? null,
          deleted_at: now,
          deleted_by: user,
        })),
      )
      .execute()
    return old.reduce((sum, row) => sum + Number(row.size), 0)
  }

  /** The trashed file at `repoKey/path`, if any. */
  async get(repoKey: string, path: string): Promise<TrashedFile | undefined> {
    const row = await this.db.selectFrom('trash_items').selectAll().where('repo_key', '=', repoKey).where('path', '=', path).executeTakeFirst()
    return row && toTrashedFile(row)
  }

  /** The repositories that have files in the trash. */
  async repositories(): Promise<string[]> {
    const rows = await this.db.selectFrom('trash_items').select('repo_key').distinct().orderBy('repo_key').execute()
    return rows.map((row) => row.repo_key)
  }

  /** Whether anything of `repoKey` is in the trash at or below `path`. */
  async has(repoKey: string, path: string): Promise<boolean> {
    if (path !== '' && (await this.get(repoKey, path))) return true
    const row = await withinFolder(this.db.selectFrom('trash_items').select('path').where('repo_key', '=', repoKey), path).limit(1).executeTakeFirst()
    return row !== undefined
  }

  /** The trashed files strictly below the folder `path` of `repoKey`, a page at a time in path order. */
  async *below(repoKey: string, path: string): AsyncGenerator<TrashedFile[]> {
    let after: string | undefined
    for (;;) {
      let query = withinFolder(this.db.selectFrom('trash_items').selectAll().where('repo_key', '=', repoKey), path)
      if (after !== undefined) query = query.where('path', '>', after)
      const rows = await query.orderBy('path').limit(PAGE_SIZE).execute()
      if (rows.length > 0) yield rows.map(toTrashedFile)
      if (rows.length < PAGE_SIZE) return
      after = rows[rows.length - 1]!.path
    }
  }

  /** The direct children of the folder `path`: sub-folder paths and files. */
  async children(repoKey: string, path: string): Promise<{ folders: string[]; files: TrashedFile[] }> {
    const folders = new Set<string>()
    const files: TrashedFile[] = []
    const prefix = path === '' ? '' : `${path}/`
    for await (const page of this.below(repoKey, path)) {
      for (const file of page) {
        const rest = file.path.slice(prefix.length)
        const slash = rest.indexOf('/')
        if (slash === -1) files.push(file)
        else folders.add(prefix + rest.slice(0, slash))
      }
    }
    return { folders: [...folders].sort(), files }
  }

  /**
   * Forgets trashed files for good: the file at `path`, or everything below the folder `path`
   * (`''`: all of the repository's). Their project's quota is released; the blobs are left for
   * garbage collection. `source` says what freed them in the usage reports (`undefined`: not
   * recorded as freed, e.g. a restore); `isFileOnly`: the file at `path`, never what is below it.
   * Returns the files and bytes removed.
   */
  async remove(repoKey: string, path: string, source: string | undefined, isFileOnly = false): Promise<{ files: number; bytes: number }> {
    return this.removeWhere(source, (query) => {
      const inRepo = query.where('repo_key', '=', repoKey)
      if (isFileOnly) return inRepo.where('path', '=', path)
      return path === '' ? inRepo : inRepo.where((eb) => eb.or([eb('path', '=', path), eb.and([eb('path', '>=', `${path}/`), eb('path', '<', `${path}0`)])]))
    })
  }

  /** Empties the whole trash (`POST /api/trash/empty`). */
  async empty(): Promise<{ files: number; bytes: number }> {
    return this.removeWhere('trash', (query) => query)
  }

  /** Removes what was deleted longer ago than the retention period: garbage collection runs this first. */
  async purgeExpired(now = Date.now()): Promise<{ files: number; bytes: number }> {
    const cutoff = now - this.settings.retentionPeriodDays * DAY_MS
    return this.removeWhere('trash', (query) => query.where('deleted_at', '<=', cutoff))
  }

  private async removeWhere(
    source: string | undefined,
    narrow: (query: TrashQuery) => TrashQuery,
  ): Promise<{ files: number; bytes: number }> {
    let files = 0
    let bytes = 0
    const perRepository = new Map<string, { project: string | null; files: number; bytes: number }>()
    for (;;) {
      const page = await this.db.transaction().execute(async (trx) => {
        const rows = await narrow(trx.selectFrom('trash_items').select(['repo_key', 'path', 'size', 'project_key'])).orderBy('repo_key').orderBy('path').limit(PAGE_SIZE).execute()
        for (const row of rows) {
          await trx.deleteFrom('trash_items').where('repo_key', '=', row.repo_key).where('path', '=', row.path).execute()
        }
        const byProject = new Map<string, number>()
        for (const row of rows) {
          if (row.project_key) byProject.set(row.project_key, (byProject.get(row.project_key) ?? 0) + Number(row.size))
        }
        for (const [project, size] of [...byProject].sort(([a], [b]) => (a < b ? -1 : 1))) {
          await this.quota?.charge(trx, { key: '', config: { projectKey: project } }, async () => size, 0)
        }
        return rows
      })
      for (const row of page) {
        files++
        bytes += Number(row.size)
        const sum = perRepository.get(row.repo_key) ?? { project: row.project_key, files: 0, bytes: 0 }
        sum.files++
        sum.bytes += Number(row.size)
        perRepository.set(row.repo_key, sum)
      }
      if (page.length < PAGE_SIZE) break
    }
    if (source !== undefined && this.freed) {
      for (const [repoKey, sum] of perRepository) await this.freed.recordFreed({ repoKey, projectKey: sum.project, bytes: sum.bytes, files: sum.files, source })
    }
    return { files, bytes }
  }
}

type TrashQuery = SelectQueryBuilder<Database, 'trash_items', Pick<TrashItemTable, 'repo_key' | 'path' | 'size' | 'project_key'>>

function projectOf(repository: TrashableRepository): string | undefined {
  const key = repository.config.projectKey
  return typeof key === 'string' && key !== '' ? key : undefined
}

function toTrashedFile(row: TrashItemTable): TrashedFile {
  return {
    repoKey: row.repo_key,
    path: row.path,
    sha256: row.sha256,
    sha1: row.sha1,
    md5: row.md5,
    size: Number(row.size),
    contentType: row.content_type,
    originalChecksums: JSON.parse(row.original_checksums) as Record<string, string>,
    createdAt: Number(row.created_at),
    createdBy: row.created_by,
    modifiedAt: Number(row.modified_at),
    modifiedBy: row.modified_by,
    properties: new Map(Object.entries(JSON.parse(row.properties) as Record<string, string[]>)),
    projectKey: row.project_key,
    deletedAt: Number(row.deleted_at),
    deletedBy: row.deleted_by,
  }
}
