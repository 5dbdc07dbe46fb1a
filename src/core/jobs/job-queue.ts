import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database, JobTable } from '../../metadata/schema.js'

export interface Job {
  readonly id: string
  readonly kind: string
  readonly payload: unknown
  readonly status: JobTable['status']
  readonly attempts: number
  readonly result: unknown
  readonly runAt: number
  readonly createdAt: number
  readonly updatedAt: number
}

/** Runs one kind of job. Throwing marks the attempt failed; it is retried with a back-off. */
export type JobHandler = (payload: unknown, job: Job) => Promise<unknown>

export interface EnqueueOptions {
  /** At most one queued or running job per key; enqueueing again returns the pending one. */
  readonly dedupeKey?: string
  readonly runAt?: number
}

const LEASE_MS = 5 * 60 * 1000
const MAX_ATTEMPTS = 5

/**
 * Jobs in a table of the metadata store, so that one node or many run them the same way: a node
 * leases a due job with a conditional update (only one update wins), runs it, and records the
 * result. A node that dies mid-job loses its lease when it expires, and another node takes over.
 */
export class JobQueue {
  private readonly handlers = new Map<string, JobHandler>()
  private readonly schedules = new Map<string, number>()
  private readonly owner: string
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private readonly leaseMs: number

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
    private readonly cluster: {
      /** This node's instance id (see InstanceRegistry), written as the owner of its leases. */
      readonly owner?: string
      /** Which instances are alive: a running job whose owner is not is leased again at once, not after its lease expires. */
      readonly liveness?: () => Promise<(instanceId: string) => boolean>
      /**
       * Asks the process that runs the jobs to look for due ones now: {@link poke} in a process
       * that does not run them itself (a serving worker beside a jobs process).
       */
      readonly wake?: () => void
      /** How long a lease lasts unless renewed (5 minutes); the running node renews it every third of that. */
      readonly leaseMs?: number
    } = {},
  ) {
    this.owner = cluster.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
    this.leaseMs = cluster.leaseMs ?? LEASE_MS
  }

  register(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler)
  }

  /**
   * Runs `kind` every `everyMs`: whenever no scheduled run is pending, one is queued `everyMs` ahead
   * (the dedupe key makes this a no-op on every node but one).
   */
  schedule(kind: string, everyMs: number): void {
    this.schedules.set(kind, everyMs)
  }

  async enqueue(kind: string, payload: unknown, options: EnqueueOptions = {}): Promise<Job> {
    const now = Date.now()
    const row: JobTable = {
      id: randomUUID(),
      kind,
      payload: JSON.stringify(payload ?? null),
      status: 'queued',
      dedupe_key: options.dedupeKey ?? null,
      run_at: options.runAt ?? now,
      lease_owner: null,
      lease_until: null,
      attempts: 0,
      result: null,
      created_at: now,
      updated_at: now,
    }
    const inserted = await this.db
      .insertInto('jobs')
      .values(row)
      .onConflict((oc) => oc.column('dedupe_key').doNothing())
      .executeTakeFirst()
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return toJob(row)
    const pending = await this.db.selectFrom('jobs').selectAll().where('dedupe_key', '=', options.dedupeKey!).executeTakeFirst()
    return pending ? toJob(pending) : this.enqueue(kind, payload, options)
  }

  async get(id: string): Promise<Job | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? toJob(row) : undefined
  }

  /** Leases and runs due jobs until none is left; returns how many ran. */
  async runDue(): Promise<number> {
    for (const [kind, everyMs] of this.schedules) {
      await this.enqueue(kind, {}, { dedupeKey: `schedule:${kind}`, runAt: Date.now() + everyMs })
    }
    let count = 0
    for (;;) {
      const job = await this.lease()
      if (!job) return count
      await this.execute(job)
      count++
    }
  }

  /** Polls for due jobs every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    if (this.timer) return
    this.timer = setInterval(() => this.tick(), intervalMs)
    this.timer.unref()
    this.tick()
  }

  /**
   * Looks for due jobs now rather than at the next poll (work just queued that should not wait).
   * Before {@link start}, wakes the process that runs the jobs, if there is one to wake.
   */
  poke(): void {
    if (this.timer) this.tick()
    else this.cluster.wake?.()
  }

  private tick(): void {
    if (this.running) return
    this.running = this.runDue()
      .then(() => undefined)
      .catch((err: unknown) => this.logger.error({ err }, 'job polling failed'))
      .finally(() => {
        this.running = undefined
      })
  }

  /**
   * Stops polling and waits for the running job. With `timeoutMs`, waits at most that long, then
   * gives the job's lease up (the job is queued again, for another node); what this process's
   * handler still does after that is never recorded.
   */
  async stop(timeoutMs?: number): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    if (timeoutMs === undefined || this.running === undefined) {
      await this.running
      return
    }
    let timer: NodeJS.Timeout | undefined
    const isDone = await Promise.race([
      this.running.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ])
    clearTimeout(timer)
    if (!isDone) await this.releaseLeases()
  }

  /** Queues this node's running jobs again, for another node to run. */
  async releaseLeases(): Promise<number> {
    const result = await this.db
      .updateTable('jobs')
      .set({ status: 'queued', lease_owner: null, lease_until: null, run_at: Date.now(), updated_at: Date.now() })
      .where('status', '=', 'running')
      .where('lease_owner', '=', this.owner)
      .executeTakeFirst()
    const count = Number(result.numUpdatedRows)
    if (count > 0) this.logger.warn({ count }, 'gave up the leases of running jobs at shutdown; another node runs them')
    return count
  }

  /** Owners of running jobs that are instances no longer alive (owners in the older `host:pid:…` form are left to expire). */
  private async deadOwners(): Promise<string[]> {
    if (!this.cluster.liveness) return []
    const owners = await this.db.selectFrom('jobs').select('lease_owner').distinct().where('status', '=', 'running').execute()
    const candidates = owners.map((o) => o.lease_owner).filter((o): o is string => o !== null && /^[0-9a-f]{16}$/.test(o))
    if (candidates.length === 0) return []
    const isAlive = await this.cluster.liveness()
    return candidates.filter((o) => !isAlive(o))
  }

  private async lease(): Promise<JobTable | undefined> {
    const kinds = [...this.handlers.keys()]
    if (kinds.length === 0) return undefined
    const dead = await this.deadOwners()
    for (let tries = 0; tries < 5; tries++) {
      const now = Date.now()
      const candidate = await this.db
        .selectFrom('jobs')
        .selectAll()
        .where('kind', 'in', kinds)
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
            eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)]),
            ...(dead.length > 0 ? [eb.and([eb('status', '=', 'running'), eb('lease_owner', 'in', dead)])] : []),
          ]),
        )
        .orderBy('run_at')
        .limit(1)
        .executeTakeFirst()
      if (!candidate) return undefined
      // Only one node's update can match the state it read; the others see 0 rows and try again.
      const claimed = await this.db
        .updateTable('jobs')
        .set({ status: 'running', lease_owner: this.owner, lease_until: now + this.leaseMs, attempts: candidate.attempts + 1, updated_at: now })
        .where('id', '=', candidate.id)
        .where('status', '=', candidate.status)
        .where('attempts', '=', candidate.attempts)
        .executeTakeFirst()
      if (Number(claimed.numUpdatedRows) === 1) {
        return { ...candidate, status: 'running', lease_owner: this.owner, attempts: candidate.attempts + 1 }
      }
    }
    return undefined
  }

  private async execute(row: JobTable): Promise<void> {
    const handler = this.handlers.get(row.kind)!
    const job = toJob(row)
    const log = this.logger.child({ job: row.id, kind: row.kind, attempt: row.attempts })
    // A job running longer than its lease keeps it: without renewal another node would lease it again and run it twice at once.
    const renewal = setInterval(() => {
      this.renewLease(row.id).catch((err: unknown) => log.warn({ err }, 'could not renew the lease of a running job'))
    }, this.leaseMs / 3)
    renewal.unref()
    try {
      const result = await handler(job.payload, job)
      clearInterval(renewal)
      await this.finish(row.id, 'done', result)
      log.info({ result }, 'job done')
    } catch (err) {
      clearInterval(renewal)
      const isFinal = row.attempts >= MAX_ATTEMPTS
      log.error({ err }, isFinal ? 'job failed for good' : 'job failed; will retry')
      await this.finish(row.id, isFinal ? 'failed' : 'queued', { error: (err as Error).message }, isFinal ? undefined : Date.now() + 2 ** row.attempts * 1000)
    }
  }

  /** Extends this node's lease of a running job (not one given back or taken over meanwhile). */
  private async renewLease(id: string): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ lease_until: Date.now() + this.leaseMs })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', this.owner)
      .execute()
  }

  private async finish(id: string, status: JobTable['status'], result: unknown, retryAt?: number): Promise<void> {
    const isPending = status === 'queued'
    await this.db
      .updateTable('jobs')
      .set({
        status,
        result: JSON.stringify(result ?? null),
        lease_owner: null,
        lease_until: null,
        updated_at: Date.now(),
        ...(retryAt !== undefined ? { run_at: retryAt } : {}),
        // A finished job frees its dedupe key, so the next one can be queued.
        ...(isPending ? {} : { dedupe_key: null }),
      })
      .where('id', '=', id)
      .where('lease_owner', '=', this.owner)
      .execute()
  }
}

function toJob(row: JobTable): Job {
  return {
    id: row.id,
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    status: row.status,
    attempts: row.attempts,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    runAt: row.run_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
