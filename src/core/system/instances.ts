import { randomBytes } from 'node:crypto'
import { readFileSync, readlinkSync } from 'node:fs'
import { hostname } from 'node:os'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database } from '../../metadata/schema.js'

export interface InstanceTimings {
  /** How often this process writes its heartbeat. */
  readonly heartbeatMs: number
  /** A process whose heartbeat is older than this is gone (a few missed beats: a slow database is not death). */
  readonly staleMs: number
}

const DEFAULT_TIMINGS: InstanceTimings = { heartbeatMs: 10_000, staleMs: 60_000 }
/** Rows of processes gone this long are removed (an unknown process counts as gone anyway). */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000

/** A node as `GET /api/v1/system/nodes` shows it. */
export interface NodeInfo {
  readonly id: string
  readonly hostname: string
  readonly pid: number
  /** `host:port` it listens on; null before it listens (or written by an older version). */
  readonly address: string | null
  readonly version: string | null
  readonly startedAt: number
  readonly heartbeatAt: number
  /** `starting`, `serving`, `draining` (SIGTERM received), or `unresponsive` (heartbeat stale). */
  readonly state: 'starting' | 'serving' | 'draining' | 'unresponsive'
  /** Whether this is the node that answered. */
  readonly isSelf: boolean
}

export type NodeState = 'starting' | 'serving' | 'draining'

/** Tells whether the process with this instance id is still running. */
export type Liveness = (instanceId: string) => boolean

/**
 * This process's entry in the `instances` table, shared by every node: an id made at start, a
 * heartbeat, and how to tell whether another instance is still alive. Things a process leaves in
 * shared stores while it works (temporary upload data) carry its id, so that whoever finds them
 * later knows whether their owner can still finish them.
 *
 * An instance is gone when its row is missing (a clean shutdown removes it), when its heartbeat is
 * older than `staleMs`, or, at once, when it ran on this same host (same boot and PID namespace)
 * and its pid is no longer running or is now this process's own: the restart after a crash thus
 * reclaims what the crashed process left without waiting for its heartbeat to go stale.
 */
export class InstanceRegistry {
  /** Hex, so it can be part of a storage key. */
  readonly id = randomBytes(8).toString('hex')
  private readonly hostIdentity = currentHostIdentity()
  private timer: NodeJS.Timeout | undefined
  private readonly startedAt = Date.now()
  private address: string | null = null
  private state: NodeState = 'starting'

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
    private readonly timings: InstanceTimings = DEFAULT_TIMINGS,
    private readonly version: string | null = null,
  ) {}

  get currentState(): NodeState {
    return this.state
  }

  /** Records where this node listens and that it serves (or drains), at once rather than at the next beat. */
  async announce(change: { readonly address?: string; readonly state?: NodeState }): Promise<void> {
    if (change.address !== undefined) this.address = change.address
    if (change.state !== undefined) this.state = change.state
    await this.beat()
  }

  /** Every node with a row: alive, draining, or silent for less than a day. */
  async nodes(): Promise<NodeInfo[]> {
    const now = Date.now()
    const rows = await this.db.selectFrom('instances').selectAll().orderBy('started_at').execute()
    return rows.map((row) => ({
      id: row.id,
      hostname: row.hostname,
      pid: row.pid,
      address: row.address,
      version: row.version,
      startedAt: row.started_at,
      heartbeatAt: row.heartbeat_at,
      state: row.heartbeat_at < now - this.timings.staleMs ? 'unresponsive' : ((row.state ?? 'serving') as NodeState),
      isSelf: row.id === this.id,
    }))
  }

  /**
   * The other instances alive now (see {@link liveness}): a second node on a database that cannot
   * be shared (SQLite) is refused with their list.
   */
  async othersAlive(): Promise<NodeInfo[]> {
    const isAlive = await this.liveness()
    return (await this.nodes()).filter((node) => !node.isSelf && isAlive(node.id))
  }

  /** Registers this process and starts its heartbeat. */
  async start(): Promise<void> {
    await this.beat()
    this.timer = setInterval(() => {
      this.beat().catch((err: unknown) => this.logger.warn({ err }, 'could not record this process’s heartbeat'))
    }, this.timings.heartbeatMs)
    this.timer.unref()
  }

  /** Stops the heartbeat and removes this process's row: whatever it leaves is now orphaned. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.db.deleteFrom('instances').where('id', '=', this.id).execute()
  }

  /** A snapshot of which instances are alive now (one query), for judging many leftovers at once. */
  async liveness(): Promise<Liveness> {
    const now = Date.now()
    const rows = await this.db.selectFrom('instances').selectAll().execute()
    const alive = new Set<string>([this.id])
    for (const row of rows) {
      if (row.id === this.id || row.heartbeat_at < now - this.timings.staleMs) continue
      const isLocal = this.hostIdentity !== undefined && row.host_identity === this.hostIdentity
      if (isLocal && (row.pid === process.pid || !isProcessRunning(row.pid))) continue
      alive.add(row.id)
    }
    const forgotten = await this.db.deleteFrom('instances').where('heartbeat_at', '<', now - FORGET_AFTER_MS).executeTakeFirst()
    if (Number(forgotten.numDeletedRows) > 0) this.logger.info({ count: Number(forgotten.numDeletedRows) }, 'forgot instances gone for a day')
    return (instanceId) => alive.has(instanceId)
  }

  private async beat(): Promise<void> {
    const now = Date.now()
    await this.db
      .insertInto('instances')
      .values({
        id: this.id,
        hostname: hostname(),
        host_identity: this.hostIdentity ?? null,
        pid: process.pid,
        started_at: this.startedAt,
        heartbeat_at: now,
        address: this.address,
        version: this.version,
        state: this.state,
      })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: now, address: this.address, state: this.state }))
      .execute()
  }
}

/**
 * The kernel boot and the PID namespace this process runs in (Linux): two processes with the same
 * one see the same pids, so one can check whether the other's pid still runs. Elsewhere undefined,
 * and only heartbeats count.
 */
function currentHostIdentity(): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    const namespace = readlinkSync('/proc/self/ns/pid')
    return `${boot}/${namespace}`
  } catch {
    return undefined
  }
}

function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
