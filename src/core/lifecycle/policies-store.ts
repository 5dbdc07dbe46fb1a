import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { z } from 'zod'
import type { CleanupPolicyBody, CleanupRunBody, CleanupRunItemBody } from '../../api/lifecycle-policies.js'
import type { Database } from '../../metadata/schema.js'
import type { CleanupRunTable } from '../../metadata/lifecycle-policies-schema.js'
import { TroveError, ValidationError, schemaProblems } from '../errors.js'

export type CleanupPolicy = CleanupPolicyBody
export type CleanupRun = CleanupRunBody
export type CleanupRunItem = CleanupRunItemBody

const KEY = /^[a-z0-9][a-z0-9._-]{0,63}$/
const days = z.number().int().nonnegative().optional()
const globs = z.array(z.string().min(1).max(256)).max(100)
const properties = z.record(z.string().min(1).max(256), z.array(z.string().max(1024)).min(1).max(100)).default({})

const PolicyFields = z
  .object({
    key: z.string().regex(KEY, 'must be 1-64 of a-z 0-9 . _ - starting with a letter or digit').optional(),
    description: z.string().max(1024).default(''),
    enabled: z.boolean().default(true),
    scheduleHours: z.number().int().positive().max(24 * 366).optional(),
    searchCriteria: z
      .object({
        repos: z.array(z.string().min(1).max(64)).max(1000).default([]),
        excludedRepos: z.array(z.string().min(1).max(64)).max(1000).default([]),
        projects: z.array(z.string().min(1).max(32)).max(100).default([]),
        packageTypes: z.array(z.string().min(1).max(64)).max(50).default([]),
        includedPackages: globs.default(['**']),
        excludedPackages: globs.default([]),
        createdBeforeInDays: days,
        lastDownloadedBeforeInDays: days,
        keepLastNVersions: days,
        keepVersions: globs.default([]),
        keepDownloadedWithinDays: days,
        includedProperties: properties,
        excludedProperties: properties,
      })
      .strict(),
  })
  .strict()

/**
 * Cleanup policies and their run log in the metadata store (migration 20261208-lifecycle-policies).
 * A run's items are its log: what it deleted (or, dry, would delete), with sizes.
 */
export class CleanupPolicyStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Checks a policy from a client: its fields, and that it selects something (an age, a last
   * download, a count to keep or a property), so that no policy deletes everything by accident.
   */
  validate(key: string, body: unknown, user: string, existing?: CleanupPolicy): CleanupPolicy {
    const parsed = PolicyFields.safeParse(body)
    if (!parsed.success) throw new ValidationError(schemaProblems(parsed.error.issues))
    const fields = parsed.data
    if (!KEY.test(key)) throw new ValidationError([{ field: 'key', message: `policy key '${key}' must be 1-64 of a-z 0-9 . _ - starting with a letter or digit` }])
    if (fields.key !== undefined && fields.key !== key) throw new ValidationError([{ field: 'key', message: `the body names policy '${fields.key}', the URL '${key}'` }])
    const c = fields.searchCriteria
    if (c.repos.length === 0 && c.projects.length === 0) {
      throw new ValidationError([{ field: 'searchCriteria.repos', message: 'searchCriteria.repos or searchCriteria.projects must name what the policy covers (`**`: every local repository)' }])
    }
    const selects =
      c.createdBeforeInDays !== undefined || c.lastDownloadedBeforeInDays !== undefined || c.keepLastNVersions !== undefined || Object.keys(c.includedProperties).length > 0
    if (!selects) {
      throw new ValidationError([
        { field: 'searchCriteria', message: 'a policy needs createdBeforeInDays, lastDownloadedBeforeInDays, keepLastNVersions or includedProperties: it would delete everything otherwise' },
      ])
    }
    const now = Date.now()
    return {
      key,
      description: fields.description,
      enabled: fields.enabled,
      scheduleHours: fields.scheduleHours,
      searchCriteria: c,
      createdBy: existing?.createdBy ?? user,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    }
  }

  async list(): Promise<CleanupPolicy[]> {
    return (await this.db.selectFrom('cleanup_policies').selectAll().orderBy('key').execute()).map(toPolicy)
  }

  async get(key: string): Promise<CleanupPolicy | undefined> {
    const row = await this.db.selectFrom('cleanup_policies').selectAll().where('key', '=', key).executeTakeFirst()
    return row && toPolicy(row)
  }

  /** Creates or replaces; returns whether it is new. A schedule starts counting from now. */
  async put(policy: CleanupPolicy): Promise<boolean> {
    const { key, enabled, createdBy, createdAt, updatedAt, ...definition } = policy
    const row = {
      key,
      definition: JSON.stringify(definition),
      enabled: enabled ? 1 : 0,
      next_run_at: policy.scheduleHours !== undefined ? updatedAt + policy.scheduleHours * 3600_000 : null,
      created_by: createdBy,
      created_at: createdAt,
      updated_at: updatedAt,
    }
    const updated = await this.db.updateTable('cleanup_policies').set(row).where('key', '=', key).executeTakeFirst()
    if (Number(updated.numUpdatedRows) === 1) return false
    await this.db.insertInto('cleanup_policies').values(row).execute()
    return true
  }

  async delete(key: string): Promise<boolean> {
    const deleted = await this.db.deleteFrom('cleanup_policies').where('key', '=', key).executeTakeFirst()
    return Number(deleted.numDeletedRows) === 1
  }

  /**
   * Policies whose schedule is due, each claimed (its next run moved one period on) by a
   * conditional update, so that of several nodes one runs it.
   */
  async claimDue(now: number): Promise<CleanupPolicy[]> {
    const due = await this.db.selectFrom('cleanup_policies').selectAll().where('enabled', '=', 1).where('next_run_at', '<=', now).execute()
    const claimed: CleanupPolicy[] = []
    for (const row of due) {
      const policy = toPolicy(row)
      const next = now + (policy.scheduleHours ?? 24) * 3600_000
      const won = await this.db.updateTable('cleanup_policies').set({ next_run_at: next }).where('key', '=', row.key).where('next_run_at', '=', row.next_run_at).executeTakeFirst()
      if (Number(won.numUpdatedRows) === 1) claimed.push(policy)
    }
    return claimed
  }

  async createRun(policyKey: string, dryRun: boolean, user: string): Promise<CleanupRun> {
    const row: CleanupRunTable = {
      id: randomUUID(),
      policy_key: policyKey,
      dry_run: dryRun ? 1 : 0,
      status: 'queued',
      started_by: user,
      created_at: Date.now(),
      started_at: null,
      finished_at: null,
      versions: 0,
      bytes: 0,
      failures: 0,
      error: null,
    }
    await this.db.insertInto('cleanup_runs').values(row).execute()
    return toRun(row)
  }

  async updateRun(id: string, change: Partial<Pick<CleanupRunTable, 'status' | 'started_at' | 'finished_at' | 'versions' | 'bytes' | 'failures' | 'error'>>): Promise<void> {
    await this.db.updateTable('cleanup_runs').set(change).where('id', '=', id).execute()
  }

  async run(id: string): Promise<CleanupRun | undefined> {
    const row = await this.db.selectFrom('cleanup_runs').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toRun(row)
  }

  /** A policy's runs, newest first. */
  async runs(policyKey: string, limit = 100): Promise<CleanupRun[]> {
    const rows = await this.db.selectFrom('cleanup_runs').selectAll().where('policy_key', '=', policyKey).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute()
    return rows.map(toRun)
  }

  /** Appends items to a run's log (`seq` continues after the last). */
  async addItems(runId: string, firstSeq: number, items: readonly CleanupRunItem[]): Promise<void> {
    for (let i = 0; i < items.length; i += 500) {
      const page = items.slice(i, i + 500).map((item, j) => ({
        run_id: runId,
        seq: firstSeq + i + j,
        repo_key: item.repo,
        package: item.package,
        version: item.version,
        paths: JSON.stringify(item.paths),
        bytes: item.bytes,
        outcome: item.outcome,
        message: item.message,
      }))
      await this.db.insertInto('cleanup_run_items').values(page).execute()
    }
  }

  /** The next free `seq` of a run's log (a run taken over after its node died continues it). */
  async nextSeq(runId: string): Promise<number> {
    const row = await this.db.selectFrom('cleanup_run_items').select((eb) => eb.fn.max<number>('seq').as('last')).where('run_id', '=', runId).executeTakeFirst()
    return row?.last === null || row?.last === undefined ? 0 : Number(row.last) + 1
  }

  async items(runId: string, offset = 0, limit = 10_000): Promise<CleanupRunItem[]> {
    const rows = await this.db.selectFrom('cleanup_run_items').selectAll().where('run_id', '=', runId).orderBy('seq').offset(offset).limit(limit).execute()
    return rows.map((r) => ({
      repo: r.repo_key,
      package: r.package,
      version: r.version,
      paths: JSON.parse(r.paths) as string[],
      bytes: Number(r.bytes),
      outcome: r.outcome as CleanupRunItem['outcome'],
      message: r.message,
    }))
  }
}

function toPolicy(row: { key: string; definition: string; enabled: number; created_by: string; created_at: number; updated_at: number }): CleanupPolicy {
  const definition = JSON.parse(row.definition) as Omit<CleanupPolicy, 'key' | 'enabled' | 'createdBy' | 'createdAt' | 'updatedAt'>
  return { key: row.key, ...definition, enabled: Number(row.enabled) === 1, createdBy: row.created_by, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) }
}

function toRun(row: CleanupRunTable): CleanupRun {
  if (!['queued', 'running', 'succeeded', 'failed'].includes(row.status)) throw new TroveError('INTERNAL', `cleanup run ${row.id} has status '${row.status}'`)
  return {
    id: row.id,
    policyKey: row.policy_key,
    dryRun: Number(row.dry_run) === 1,
    status: row.status as CleanupRun['status'],
    startedBy: row.started_by,
    createdAt: Number(row.created_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    versions: Number(row.versions),
    bytes: Number(row.bytes),
    failures: Number(row.failures),
    error: row.error,
  }
}
