import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { UsageReport } from '../../api/lifecycle-usage.js'
import { Gauge, type Registry } from 'prom-client'
import type { Database } from '../../metadata/schema.js'
import { notFound } from '../errors.js'
import type { Repository, RepositoryService } from '../repositories/repository-service.js'

/** One cleanup's freed bytes, as {@link FreedRecorder.recordFreed} takes it. */
export interface FreedEntry {
  /** The repository the files were in; null for what garbage collection frees from the blob store as a whole. */
  readonly repoKey: string | null
  /** The repository's project; looked up when not given. */
  readonly projectKey?: string | null | undefined
  readonly bytes: number
  readonly files?: number | undefined
  /** What freed them: `policy:<name>`, `trash`, `eviction`, `gc`. */
  readonly source: string
  readonly at?: number | undefined
}

/** Where cleanups record what they freed (the cleanup policies' runs, the trash, eviction, GC). */
export interface FreedRecorder {
  recordFreed(entry: FreedEntry): Promise<void>
}

/** A report's figures (src/api/lifecycle-usage.ts), without whose they are. */
export type UsageFigures = Omit<UsageReport, 'repoKey' | 'projectKey' | 'repositories'>

/** How a repository's files group into packages: the package a path belongs to, or undefined for none. */
export type PackageOf = (repository: Repository, path: string) => string | undefined

const LARGEST = 10
const GROWTH_DAYS = 90
const FREED_SHOWN = 50
const PAGE_SIZE = 1000

/**
 * Usage reports (docs/lifecycle.md): per repository and per project, the files, their bytes as
 * stored and after deduplication, what the trash holds, packages and the largest ones, daily
 * snapshots and what each cleanup freed; the same as Prometheus metrics.
 *
 * A package is what `packageOf` says; by default the first folder of a path (two for an
 * `@scope/name` path), which is the package name in most layouts.
 */
export class UsageReports implements FreedRecorder {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly repositories: Pick<RepositoryService, 'list' | 'get'>,
    private readonly packageOf: PackageOf = defaultPackageOf,
  ) {}

  async recordFreed(entry: FreedEntry): Promise<void> {
    if (!(entry.bytes > 0) && !((entry.files ?? 0) > 0)) return
    let project = entry.projectKey
    if (project === undefined && entry.repoKey !== null) project = projectOf(await this.repositories.get(entry.repoKey))
    await this.db
      .insertInto('usage_freed')
      .values({ id: randomUUID(), at: entry.at ?? Date.now(), repo_key: entry.repoKey, project_key: project ?? null, bytes: entry.bytes, files: entry.files ?? 0, source: entry.source })
      .execute()
  }

  async repository(key: string): Promise<UsageFigures & { readonly repoKey: string; readonly projectKey: string | null }> {
    const repository = await this.repositories.get(key)
    if (!repository) throw notFound(`repository '${key}' does not exist`)
    return { repoKey: key, projectKey: projectOf(repository) ?? null, ...(await this.figures([repository], 'repo_key', key)) }
  }

  async project(projectKey: string): Promise<UsageFigures & { readonly projectKey: string; readonly repositories: readonly string[] }> {
    const repositories = (await this.repositories.list()).filter((r) => projectOf(r) === projectKey)
    const keys = repositories.map((r) => r.key)
    const figures = await this.figures(repositories, 'project_key', projectKey)
    return { projectKey, repositories: keys, ...figures }
  }

  /** Records today's totals of every repository (replacing today's earlier snapshot). Returns how many rows. */
  async snapshot(now = Date.now()): Promise<number> {
    const day = new Date(now).toISOString().slice(0, 10)
    const repositories = await this.repositories.list()
    for (const repository of repositories) {
      const totals = await this.totals([repository.key])
      const row = { day, repo_key: repository.key, project_key: projectOf(repository) ?? null, files: totals.files, logical_bytes: totals.logicalBytes, stored_bytes: totals.storedBytes, taken_at: now }
      await this.db
        .insertInto('usage_snapshots')
        .values(row)
        .onConflict((oc) => oc.columns(['repo_key', 'day']).doUpdateSet({ project_key: row.project_key, files: row.files, logical_bytes: row.logical_bytes, stored_bytes: row.stored_bytes, taken_at: now }))
        .execute()
    }
    return repositories.length
  }

  /** Gauges per repository, computed when scraped: one grouped query per gauge, whatever the number of repositories. */
  registerMetrics(registry: Registry): void {
    const reports = this
    const db = this.db
    const gauge = (name: string, help: string, read: () => Promise<readonly { repo_key: string | null; value: number | string | null }[]>) =>
      new Gauge({
        name,
        help,
        labelNames: ['repo', 'project'] as const,
        registers: [registry],
        async collect() {
          this.reset()
          const values = new Map((await read()).map((row) => [row.repo_key, Number(row.value ?? 0)]))
          for (const repository of await reports.repositories.list()) this.set({ repo: repository.key, project: projectOf(repository) ?? '' }, values.get(repository.key) ?? 0)
        },
      })
    gauge('trove_repository_files', 'Files stored in each repository', () =>
      db.selectFrom('assets').select(['repo_key', (eb) => eb.fn.countAll<number>().as('value')]).groupBy('repo_key').execute(),
    )
    gauge('trove_repository_logical_bytes', 'Sum of the sizes of the files of each repository', () =>
      db.selectFrom('assets').select(['repo_key', (eb) => eb.fn.sum<number>('size').as('value')]).groupBy('repo_key').execute(),
    )
    gauge('trove_repository_stored_bytes', 'Bytes of the distinct blobs the files of each repository point at (after deduplication)', () =>
      db
        .selectFrom((eb) => eb.selectFrom('assets').select(['repo_key', 'sha256']).distinct().as('used'))
        .innerJoin('blobs', 'blobs.sha256', 'used.sha256')
        .select(['used.repo_key', (eb) => eb.fn.sum<number>('blobs.size').as('value')])
        .groupBy('used.repo_key')
        .execute(),
    )
    gauge('trove_repository_trash_bytes', 'Bytes of the files of each repository in the trash can', () =>
      db.selectFrom('trash_items').select(['repo_key', (eb) => eb.fn.sum<number>('size').as('value')]).groupBy('repo_key').execute(),
    )
    gauge('trove_repository_freed_bytes_total', 'Bytes freed by cleanups (policies, trash, eviction) in each repository', () =>
      db.selectFrom('usage_freed').select(['repo_key', (eb) => eb.fn.sum<number>('bytes').as('value')]).where('repo_key', 'is not', null).groupBy('repo_key').execute(),
    )
  }

  private async figures(
    repositories: readonly Repository[],
    column: 'repo_key' | 'project_key',
    value: string,
  ): Promise<UsageFigures> {
    const keys = repositories.map((r) => r.key)
    const totals = await this.totals(keys)
    const trash = await this.trash(keys)
    const packages = await this.packages(repositories)
    const since = new Date(Date.now() - GROWTH_DAYS * 24 * 3600 * 1000).toISOString().slice(0, 10)
    const growth = await this.db.selectFrom('usage_snapshots').where(column, '=', value)
      .select(['day', (eb) => eb.fn.sum<number>('files').as('files'), (eb) => eb.fn.sum<number>('logical_bytes').as('logical'), (eb) => eb.fn.sum<number>('stored_bytes').as('stored')])
      .where('day', '>=', since)
      .groupBy('day')
      .orderBy('day')
      .execute()
    const freed = await this.db.selectFrom('usage_freed').where(column, '=', value).selectAll().orderBy('at', 'desc').limit(FREED_SHOWN).execute()
    const freedTotal = await this.db.selectFrom('usage_freed').where(column, '=', value).select((eb) => eb.fn.sum<number>('bytes').as('bytes')).executeTakeFirst()
    return {
      ...totals,
      trashFiles: trash.files,
      trashBytes: trash.bytes,
      packages: packages.count,
      largestPackages: packages.largest,
      growth: growth.map((row) => ({ day: row.day, files: Number(row.files), logicalBytes: Number(row.logical), storedBytes: Number(row.stored) })),
      freed: freed.map((row) => ({ at: Number(row.at), repoKey: row.repo_key, bytes: Number(row.bytes), files: Number(row.files), source: row.source })),
      freedBytesTotal: Number(freedTotal?.bytes ?? 0),
    }
  }

  private async totals(keys: readonly string[]): Promise<{ files: number; logicalBytes: number; storedBytes: number }> {
    if (keys.length === 0) return { files: 0, logicalBytes: 0, storedBytes: 0 }
    const files = await this.db
      .selectFrom('assets')
      .select([(eb) => eb.fn.countAll<number>().as('count'), (eb) => eb.fn.sum<number>('size').as('bytes')])
      .where('repo_key', 'in', keys)
      .executeTakeFirst()
    const stored = await this.db
      .selectFrom('blobs')
      .select((eb) => eb.fn.sum<number>('size').as('bytes'))
      .where('sha256', 'in', (eb) => eb.selectFrom('assets').select('sha256').where('repo_key', 'in', keys))
      .executeTakeFirst()
    return { files: Number(files?.count ?? 0), logicalBytes: Number(files?.bytes ?? 0), storedBytes: Number(stored?.bytes ?? 0) }
  }

  private async trash(keys: readonly string[]): Promise<{ files: number; bytes: number }> {
    if (keys.length === 0) return { files: 0, bytes: 0 }
    const row = await this.db
      .selectFrom('trash_items')
      .select([(eb) => eb.fn.countAll<number>().as('count'), (eb) => eb.fn.sum<number>('size').as('bytes')])
      .where('repo_key', 'in', keys)
      .executeTakeFirst()
    return { files: Number(row?.count ?? 0), bytes: Number(row?.bytes ?? 0) }
  }

  /** Packages and the largest ones, reading the files' paths a page at a time (memory: one entry per package). */
  private async packages(repositories: readonly Repository[]): Promise<{ count: number; largest: UsageFigures['largestPackages'] }> {
    const sizes = new Map<string, { repoKey: string; name: string; files: number; bytes: number }>()
    for (const repository of repositories) {
      let after: string | undefined
      for (;;) {
        let query = this.db.selectFrom('assets').select(['path', 'size']).where('repo_key', '=', repository.key)
        if (after !== undefined) query = query.where('path', '>', after)
        const rows = await query.orderBy('path').limit(PAGE_SIZE).execute()
        for (const row of rows) {
          const name = this.packageOf(repository, row.path)
          if (name === undefined) continue
          const id = `${repository.key}\0${name}`
          const entry = sizes.get(id) ?? { repoKey: repository.key, name, files: 0, bytes: 0 }
          entry.files++
          entry.bytes += Number(row.size)
          sizes.set(id, entry)
        }
        if (rows.length < PAGE_SIZE) break
        after = rows[rows.length - 1]!.path
      }
    }
    const largest = [...sizes.values()].sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1)).slice(0, LARGEST)
    return { count: sizes.size, largest }
  }
}

/** The first folder of the path (two for `@scope/name/...`); a file at the root is no package. */
export function defaultPackageOf(_repository: Repository, path: string): string | undefined {
  const parts = path.split('/')
  if (parts.length < 2) return undefined
  if (parts[0]!.startsWith('@') && parts.length >= 3) return `${parts[0]}/${parts[1]}`
  return parts[0]
}

function projectOf(repository: Repository | undefined): string | undefined {
  const key = repository?.config.projectKey
  return typeof key === 'string' && key !== '' ? key : undefined
}
