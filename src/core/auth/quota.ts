import { sql, type Kysely, type Transaction } from 'kysely'
import type { Logger } from 'pino'
import { Gauge, type Registry } from 'prom-client'
import type { Database } from '../../metadata/schema.js'
import { TroveError } from '../errors.js'

/** Usage at or above this share of the quota is reported (log line, API field, metric). */
export const QUOTA_WARNING_RATIO = 0.8

/** What the quota needs of a repository: the project it belongs to, if any. */
export interface QuotaRepository {
  readonly key: string
  readonly config: { readonly [field: string]: unknown }
}

/**
 * Told when a project's usage crosses the warning ratio, or when an upload is refused for the
 * quota. A warning is told before its transaction commits: a change that then fails may have been told.
 */
export type QuotaListener = (event: { readonly project: string; readonly level: 'warning' | 'exceeded'; readonly usedBytes: number; readonly quotaBytes: number }) => void

/**
 * Project storage quotas. A project's usage is a counter (`projects.used_bytes`) that every
 * writer of assets changes in the transaction that records or deletes them, through
 * {@link charge}: the counter is exact whatever runs concurrently, on every node. The bytes of
 * open upload sessions count too (core/uploads charges each chunk).
 *
 * Concurrency: {@link charge} first takes the project row's lock (a no-op UPDATE: a row lock on
 * PostgreSQL; SQLite serialises write transactions anyway), so the sizes it measures cannot change
 * under it, then adds the difference only `WHERE used_bytes + delta <= quota`. Writes to one
 * project are thereby serialised for the (short) metadata transaction; the bytes themselves are
 * streamed before it, outside any lock.
 */
export class StorageQuota {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger?: Logger,
    registry?: Registry,
    /** Told of warning crossings and refusals (webhooks listen); it runs inside the change's transaction, so it must defer its work. */
    private readonly onLevel?: QuotaListener,
  ) {
    if (registry) this.registerMetrics(registry)
  }

  /**
   * Refuses early an upload of `bytes` (known from `Content-Length`) that cannot fit, before any
   * byte is stored. Advisory: the commit's {@link charge} is what holds under concurrency.
   */
  async admit(repository: QuotaRepository, bytes: number): Promise<void> {
    const project = projectOf(repository)
    if (project === undefined || !(bytes > 0)) return
    const row = await this.db.selectFrom('projects').select(['storage_quota_bytes', 'used_bytes']).where('key', '=', project).executeTakeFirst()
    if (!row) return
    const quota = Number(row.storage_quota_bytes)
    const used = Number(row.used_bytes)
    if (quota >= 0 && used + bytes > quota) {
      this.onLevel?.({ project, level: 'exceeded', usedBytes: used, quotaBytes: quota })
      throw quotaExceeded(project, quota, used, bytes)
    }
  }

  /**
   * Inside the transaction that changes a repository's assets, before it changes them: locks the
   * project's counter, asks `measureBefore` for the current size of the assets the change
   * replaces or removes, and adds `afterBytes - before` to the usage. Throws QUOTA_EXCEEDED
   * (which rolls the transaction back) when an increase would pass the quota. Repositories outside
   * projects cost one property read.
   */
  async charge(trx: Transaction<Database>, repository: QuotaRepository, measureBefore: () => Promise<number>, afterBytes: number): Promise<void> {
    const project = projectOf(repository)
    if (project === undefined) return
    const locked = await trx.updateTable('projects').set({ used_bytes: sql`used_bytes` }).where('key', '=', project).executeTakeFirst()
    if (Number(locked.numUpdatedRows) === 0) return // the project is gone; nothing to count against
    const delta = afterBytes - Number(await measureBefore())
    if (delta === 0) return
    const updated = await trx
      .updateTable('projects')
      .set({ used_bytes: sql`used_bytes + ${delta}` })
      .where('key', '=', project)
      .where(delta < 0 ? sql<boolean>`1 = 1` : sql<boolean>`(storage_quota_bytes < 0 or used_bytes + ${delta} <= storage_quota_bytes)`)
      .returning(['used_bytes', 'storage_quota_bytes'])
      .executeTakeFirst()
    if (!updated) {
      const row = await trx.selectFrom('projects').select(['storage_quota_bytes', 'used_bytes']).where('key', '=', project).executeTakeFirstOrThrow()
      this.onLevel?.({ project, level: 'exceeded', usedBytes: Number(row.used_bytes), quotaBytes: Number(row.storage_quota_bytes) })
      throw quotaExceeded(project, Number(row.storage_quota_bytes), Number(row.used_bytes), delta)
    }
    const quota = Number(updated.storage_quota_bytes)
    const used = Number(updated.used_bytes)
    if (delta > 0 && quota > 0 && used >= quota * QUOTA_WARNING_RATIO && used - delta < quota * QUOTA_WARNING_RATIO) {
      this.logger?.warn({ project, used, quota }, `project '${project}' uses ${Math.round((used / quota) * 100)}% of its storage quota (${used} of ${quota} bytes)`)
      this.onLevel?.({ project, level: used >= quota ? 'exceeded' : 'warning', usedBytes: used, quotaBytes: quota })
    }
  }

  /** Sets a project's usage from its repositories' assets: after a whole repository goes. */
  async recompute(project: string, repoKeys: readonly string[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('projects').set({ used_bytes: sql`used_bytes` }).where('key', '=', project).execute()
      const row =
        repoKeys.length === 0
          ? undefined
          : await trx.selectFrom('assets').select((eb) => eb.fn.sum<number>('size').as('bytes')).where('repo_key', 'in', repoKeys).executeTakeFirst()
      // Open upload sessions count too (core/uploads): their bytes are charged while they are open.
      const open =
        repoKeys.length === 0
          ? undefined
          : await trx.selectFrom('upload_sessions').select((eb) => eb.fn.sum<number>('size').as('bytes')).where('repo_key', 'in', repoKeys).executeTakeFirst()
      // So do the project's files in the trash can (core/lifecycle/trash.ts), until the trash lets them go.
      const trashed = await trx.selectFrom('trash_items').select((eb) => eb.fn.sum<number>('size').as('bytes')).where('project_key', '=', project).executeTakeFirst()
      await trx.updateTable('projects').set({ used_bytes: Number(row?.bytes ?? 0) + Number(open?.bytes ?? 0) + Number(trashed?.bytes ?? 0) }).where('key', '=', project).execute()
    })
  }

  private registerMetrics(registry: Registry): void {
    const db = this.db
    const read = () => db.selectFrom('projects').select(['key', 'storage_quota_bytes', 'used_bytes']).execute()
    new Gauge({
      name: 'trove_project_storage_used_bytes',
      help: 'Bytes stored in the repositories of each project',
      labelNames: ['project'] as const,
      registers: [registry],
      async collect() {
        this.reset()
        for (const row of await read()) this.set({ project: row.key }, Number(row.used_bytes))
      },
    })
    new Gauge({
      name: 'trove_project_storage_quota_bytes',
      help: 'Storage quota of each project with one (bytes)',
      labelNames: ['project'] as const,
      registers: [registry],
      async collect() {
        this.reset()
        for (const row of await read()) if (Number(row.storage_quota_bytes) >= 0) this.set({ project: row.key }, Number(row.storage_quota_bytes))
      },
    })
    new Gauge({
      name: 'trove_project_storage_quota_warning',
      help: `1 when a project uses at least ${QUOTA_WARNING_RATIO * 100}% of its storage quota`,
      labelNames: ['project'] as const,
      registers: [registry],
      async collect() {
        this.reset()
        for (const row of await read()) {
          const quota = Number(row.storage_quota_bytes)
          if (quota >= 0) this.set({ project: row.key }, isOverWarning(Number(row.used_bytes), quota) ? 1 : 0)
        }
      },
    })
  }
}

export function isOverWarning(used: number, quota: number): boolean {
  return quota >= 0 && used >= quota * QUOTA_WARNING_RATIO
}

function projectOf(repository: QuotaRepository): string | undefined {
  const key = repository.config.projectKey
  return typeof key === 'string' && key !== '' ? key : undefined
}

function quotaExceeded(project: string, quota: number, used: number, adding: number): TroveError {
  return new TroveError(
    'QUOTA_EXCEEDED',
    `storage quota exceeded: project '${project}' has a quota of ${quota} bytes and uses ${used} bytes; this upload needs ${adding} more`,
    { project, quotaBytes: quota, usedBytes: used, requestedBytes: adding },
  )
}
