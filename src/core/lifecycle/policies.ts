import { setImmediate as yieldToRequests } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import type { ArtifactService } from '../artifacts/artifact-service.js'
import { isTroveError } from '../errors.js'
import type { JobQueue } from '../jobs/job-queue.js'
import type { AuditLog } from '../operations/audit-log.js'
import type { Repository, RepositoryService } from '../repositories/repository-service.js'
import type { ImmutabilityRules } from './immutability.js'
import { planDeletions, type FileFacts, type PlannedDeletion } from './policies-plan.js'
import type { CleanupPolicy, CleanupPolicyStore, CleanupRun, CleanupRunItem } from './policies-store.js'
import type { PackageVersions, RepositoryFile } from './policies-versions.js'

const RUN_JOB = 'cleanup-policy-run'
const SCHEDULE_JOB = 'cleanup-policy-schedule'
const SCHEDULE_CHECK_MS = 60_000
/** Log items written per batch during a real run. */
const LOG_BATCH = 100
/** Files read per query while planning. */
const FILE_PAGE = 2000

/** What a policy deletes in one repository. */
export interface RepositoryPlan {
  readonly repository: Repository
  readonly deletions: readonly PlannedDeletion[]
}

export interface DryRunResult {
  readonly run: CleanupRun
  readonly items: readonly CleanupRunItem[]
}

/**
 * Cleanup policies (docs/lifecycle.md): which local repositories a policy covers, what it would
 * delete (a dry run), and real runs as jobs (so one node runs each, and a run whose node died is
 * taken over and finishes). Every version goes through its format's delete (`PackageVersions`),
 * one change transaction each, so that its metadata, the quota and the change feed follow and a
 * run stopped at any point leaves each version whole or gone.
 */
export class CleanupPolicies {
  private readonly versions = new Map<string, PackageVersions>()

  constructor(
    readonly store: CleanupPolicyStore,
    private readonly deps: {
      readonly db: Kysely<Database>
      readonly artifacts: ArtifactService
      readonly repositories: RepositoryService
      readonly jobs: JobQueue
      readonly audit: AuditLog
      readonly immutability: ImmutabilityRules
      readonly logger: Logger
    },
  ) {}

  /** A format's package versions (`Format.packageVersions`), for policies and immutability rules alike. */
  useVersions(packageType: string, versions: PackageVersions): void {
    this.versions.set(packageType, versions)
    this.deps.immutability.useVersions(packageType, versions)
  }

  /** Whether policies can clean repositories of this package type. */
  supports(packageType: string): boolean {
    return this.versions.has(packageType)
  }

  registerJobs(): void {
    this.deps.jobs.register(RUN_JOB, async (payload) => {
      const runId = (payload as { runId?: unknown } | null)?.runId
      if (typeof runId !== 'string') return { skipped: 'no run id' }
      return this.execute(runId)
    })
    this.deps.jobs.register(SCHEDULE_JOB, async () => {
      const due = await this.store.claimDue(Date.now())
      for (const policy of due) await this.start(policy, 'scheduler')
      return { started: due.map((p) => p.key) }
    })
    this.deps.jobs.schedule(SCHEDULE_JOB, SCHEDULE_CHECK_MS)
  }

  /** The local repositories a policy covers, of package types policies can clean. */
  async scope(policy: CleanupPolicy): Promise<Repository[]> {
    const c = policy.searchCriteria
    const all = await this.deps.repositories.list({ rclass: 'local' })
    return all.filter((r) => {
      if (!this.versions.has(r.packageType)) return false
      if (c.excludedRepos.includes(r.key)) return false
      if (c.packageTypes.length > 0 && !c.packageTypes.includes(r.packageType)) return false
      const project = typeof r.config.projectKey === 'string' ? r.config.projectKey : ''
      return c.repos.includes('**') || c.repos.includes(r.key) || (project !== '' && c.projects.includes(project))
    })
  }

  /** What the policy deletes now, repository by repository. Reads only. */
  async plan(policy: CleanupPolicy): Promise<RepositoryPlan[]> {
    const plans: RepositoryPlan[] = []
    const names = [...new Set([...Object.keys(policy.searchCriteria.includedProperties), ...Object.keys(policy.searchCriteria.excludedProperties)])]
    for (const repository of await this.scope(policy)) {
      await yieldToRequests()
      const all = await this.filesOf(repository.key)
      const units = await this.versions.get(repository.packageType)!.list(repository, all)
      if (units.length === 0) continue
      const files = new Map<string, FileFacts>(all.map((f) => [f.path, f]))
      const properties = names.length > 0 ? await this.deps.artifacts.propertiesBelow(repository.key, '', names) : new Map()
      const immutable = await this.deps.immutability.matcher(repository)
      const deletions = planDeletions({
        criteria: policy.searchCriteria,
        units,
        files,
        properties,
        isImmutable: (pkg, version) => immutable?.(pkg, version) !== undefined,
        now: Date.now(),
      })
      if (deletions.length > 0) plans.push({ repository, deletions })
    }
    return plans
  }

  /**
   * Every file of a repository, in pages with a turn of the event loop between them: SQLite's
   * driver is synchronous, and one read of 100,000 rows would hold every request meanwhile.
   */
  private async filesOf(repoKey: string): Promise<RepositoryFile[]> {
    const files: RepositoryFile[] = []
    for (let after: string | undefined; ; ) {
      let query = this.deps.db
        .selectFrom('assets')
        .select(['path', 'sha256', 'size', 'created_at', 'downloaded_at'])
        .where('repo_key', '=', repoKey)
        .orderBy('path')
        .limit(FILE_PAGE)
      if (after !== undefined) query = query.where('path', '>', after)
      const page = await query.execute()
      for (const row of page) files.push({ path: row.path, sha256: row.sha256, size: Number(row.size), createdAt: Number(row.created_at), downloadedAt: row.downloaded_at === null ? null : Number(row.downloaded_at) })
      if (page.length < FILE_PAGE) return files
      after = page[page.length - 1]!.path
      await yieldToRequests()
    }
  }

  /** Lists exactly what a run would delete now (recorded as a dry run in the policy's log). */
  async dryRun(policy: CleanupPolicy, user: string): Promise<DryRunResult> {
    const run = await this.store.createRun(policy.key, true, user)
    const startedAt = Date.now()
    const items = (await this.plan(policy)).flatMap(({ repository, deletions }) => deletions.map((d) => item(repository, d, 'planned', null)))
    await this.store.addItems(run.id, 0, items)
    const bytes = items.reduce((sum, i) => sum + i.bytes, 0)
    await this.store.updateRun(run.id, { status: 'succeeded', started_at: startedAt, finished_at: Date.now(), versions: items.length, bytes })
    return { run: (await this.store.run(run.id))!, items }
  }

  /** Queues a real run; it runs as a job on whichever node leases it ({@link execute}). */
  async start(policy: CleanupPolicy, user: string): Promise<CleanupRun> {
    const run = await this.store.createRun(policy.key, false, user)
    await this.deps.jobs.enqueue(RUN_JOB, { runId: run.id }, { dedupeKey: `cleanup-run:${run.id}` })
    this.deps.jobs.poke()
    return run
  }

  /**
   * Runs a queued run, or takes over one whose node died (it plans again: what is already gone
   * is not there to delete, the rest goes). Each version is deleted through its format, in one
   * change transaction; a version that cannot go (changed meanwhile, made immutable) is logged as
   * failed and the run goes on.
   */
  async execute(runId: string): Promise<{ versions: number; bytes: number; failures: number }> {
    const run = await this.store.run(runId)
    if (!run || run.status === 'succeeded' || run.status === 'failed') return { versions: run?.versions ?? 0, bytes: run?.bytes ?? 0, failures: run?.failures ?? 0 }
    const policy = await this.store.get(run.policyKey)
    if (!policy) {
      await this.store.updateRun(runId, { status: 'failed', finished_at: Date.now(), error: `policy '${run.policyKey}' no longer exists` })
      return { versions: 0, bytes: 0, failures: 0 }
    }
    let { versions, bytes, failures } = run
    await this.store.updateRun(runId, { status: 'running', started_at: run.startedAt ?? Date.now() })
    let seq = await this.store.nextSeq(runId)
    let pending: CleanupRunItem[] = []
    const flush = async () => {
      await this.store.addItems(runId, seq, pending)
      seq += pending.length
      pending = []
      await this.store.updateRun(runId, { versions, bytes, failures })
    }
    const user = `cleanup-policy:${policy.key}`
    try {
      for (const { repository, deletions } of await this.plan(policy)) {
        const format = this.versions.get(repository.packageType)!
        for (const deletion of deletions) {
          try {
            await format.delete(repository, deletion.units, user)
            versions += 1
            bytes += deletion.bytes
            pending.push(item(repository, deletion, 'deleted', null))
          } catch (err) {
            if (!isTroveError(err)) throw err
            failures += 1
            pending.push(item(repository, deletion, 'failed', err.message))
          }
          if (pending.length >= LOG_BATCH) await flush()
          // SQLite's driver is synchronous: without a turn of the event loop between versions, a run would hold every request until its end.
          await yieldToRequests()
        }
      }
      await flush()
      await this.store.updateRun(runId, { status: 'succeeded', finished_at: Date.now() })
    } catch (err) {
      await flush().catch(() => {})
      await this.store.updateRun(runId, { status: 'failed', finished_at: Date.now(), error: err instanceof Error ? err.message : String(err) })
      this.deps.logger.error({ err, policy: policy.key, run: runId }, 'cleanup policy run failed')
    }
    await this.deps.audit
      .record({
        actor: run.startedBy,
        action: 'cleanup.run',
        target: policy.key,
        outcome: failures > 0 ? 'failure' : 'success',
        details: { run: runId, versions, bytes, failures },
      })
      .catch((err: unknown) => this.deps.logger.warn({ err, run: runId }, 'could not audit a cleanup run'))
    return { versions, bytes, failures }
  }
}

function item(repository: Repository, deletion: PlannedDeletion, outcome: CleanupRunItem['outcome'], message: string | null): CleanupRunItem {
  return { repo: repository.key, package: deletion.version.package, version: deletion.version.version, paths: deletion.paths, bytes: deletion.bytes, outcome, message }
}
