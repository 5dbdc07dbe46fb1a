import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import type { MaintenanceWindowTable } from '../../metadata/operations-schema.js'
import { TroveError, ValidationError, invalidField, notFound, type FieldProblem } from '../errors.js'

export type MaintenanceKind = MaintenanceWindowTable['kind']
export type MaintenanceStateName = 'scheduled' | 'active' | 'ended' | 'cancelled'

export interface MaintenanceWindow {
  readonly id: string
  readonly kind: MaintenanceKind
  readonly message: string
  readonly startsAt: number
  readonly endsAt: number
  readonly forcedReason: string | null
  readonly createdBy: string
  readonly announcedAt: number
  readonly cancelledAt: number | null
}

export interface MaintenanceInput {
  readonly kind?: unknown
  readonly message?: unknown
  readonly start?: unknown
  readonly end?: unknown
  readonly force?: unknown
  readonly reason?: unknown
}

export interface MaintenanceChangeInput {
  readonly end?: unknown
  readonly endNow?: unknown
  readonly message?: unknown
}

/**
 * What every request asks: the window announced or in progress now, if any. One small interface
 * so that how a node learns of changes (today: reading the table, cached for a second; later: a
 * cluster notification) can change without touching its callers.
 */
export interface MaintenanceState {
  /** The window that is active now, else the next announced one; `undefined` when none. */
  current(now?: number): Promise<MaintenanceWindow | undefined>
  /** Forgets what this node cached (after a change it made itself). */
  invalidate(): void
}

const KINDS: readonly string[] = ['read-only', 'outage']
const MAX_MESSAGE = 500

export function stateOf(window: MaintenanceWindow, now = Date.now()): MaintenanceStateName {
  if (window.cancelledAt !== null) return 'cancelled'
  if (now < window.startsAt) return 'scheduled'
  return now < window.endsAt ? 'active' : 'ended'
}

/**
 * Announced maintenance windows (docs/operations.md). Kept in the metadata store: they survive
 * restarts, and every node of a cluster reads the same ones, so each switches to read-only (or to
 * 503 for an outage) at the start and back at the end by itself.
 */
export class MaintenanceWindows implements MaintenanceState {
  private cached: { readonly at: number; readonly windows: Promise<MaintenanceWindow[]> } | undefined

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: { readonly noticeMs: number; readonly cacheMs?: number },
  ) {}

  get noticeMs(): number {
    return this.options.noticeMs
  }

  /** Schedules a window; refused with less notice than the setting asks, unless forced with a reason. */
  async schedule(input: MaintenanceInput, actor: string): Promise<MaintenanceWindow> {
    const now = Date.now()
    const problems: FieldProblem[] = []
    const kind = input.kind ?? 'read-only'
    if (typeof kind !== 'string' || !KINDS.includes(kind)) problems.push({ field: 'kind', message: `kind must be one of ${KINDS.join(', ')}` })
    const message = input.message
    if (typeof message !== 'string' || message.trim() === '' || message.length > MAX_MESSAGE) {
      problems.push({ field: 'message', message: `message is required, at most ${MAX_MESSAGE} characters` })
    }
    const start = parseTime(input.start, 'start', problems)
    const end = parseTime(input.end, 'end', problems)
    if (start !== undefined && end !== undefined && end <= start) problems.push({ field: 'end', message: 'end must be after start' })
    if (input.force !== undefined && typeof input.force !== 'boolean') problems.push({ field: 'force', message: 'force must be true or false' })
    const reason = typeof input.reason === 'string' ? input.reason.trim() : ''
    if (problems.length > 0) throw new ValidationError(problems)
    const notice = start! - now
    if (notice < this.options.noticeMs) {
      if (input.force !== true || reason === '') {
        throw invalidField(
          'start',
          `start: a window needs at least ${describeSecs(this.options.noticeMs / 1000)} of notice (this one gives ${describeSecs(Math.max(0, notice) / 1000)}); send "force": true with a "reason" to schedule it anyway`,
        )
      }
    }
    const row: MaintenanceWindowTable = {
      id: randomUUID(),
      kind: kind as MaintenanceKind,
      message: (message as string).trim(),
      starts_at: start!,
      ends_at: end!,
      forced_reason: notice < this.options.noticeMs ? reason : null,
      created_by: actor,
      created_at: now,
      updated_at: now,
      announced_at: now,
      started_notified_at: null,
      ended_notified_at: null,
      cancelled_at: null,
    }
    await this.db.insertInto('maintenance_windows').values(row).execute()
    this.invalidate()
    return toWindow(row)
  }

  /** Every window, newest start first (at most `limit`). */
  async list(limit = 100): Promise<MaintenanceWindow[]> {
    const rows = await this.db.selectFrom('maintenance_windows').selectAll().orderBy('starts_at', 'desc').limit(limit).execute()
    return rows.map(toWindow)
  }

  async require(id: string): Promise<MaintenanceWindow> {
    const row = await this.db.selectFrom('maintenance_windows').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) throw notFound(`maintenance window '${id}' does not exist`)
    return toWindow(row)
  }

  /**
   * Ends a window early (`endNow`; before its start that cancels it), extends or shortens it (`end`),
   * or changes its message. Each change announces it again.
   */
  async change(id: string, input: MaintenanceChangeInput): Promise<MaintenanceWindow> {
    const window = await this.require(id)
    const now = Date.now()
    const state = stateOf(window, now)
    if (state === 'ended' || state === 'cancelled') throw new TroveError('CONFLICT', `maintenance window '${id}' is already ${state}`)
    const problems: FieldProblem[] = []
    if (input.endNow !== undefined && typeof input.endNow !== 'boolean') problems.push({ field: 'endNow', message: 'endNow must be true or false' })
    const end = input.end === undefined ? undefined : parseTime(input.end, 'end', problems)
    if (end !== undefined && end <= Math.max(now, window.startsAt)) problems.push({ field: 'end', message: 'end must be in the future and after the start' })
    if (input.message !== undefined && (typeof input.message !== 'string' || input.message.trim() === '' || input.message.length > MAX_MESSAGE)) {
      problems.push({ field: 'message', message: `message must be a non-empty string of at most ${MAX_MESSAGE} characters` })
    }
    if (input.endNow !== true && end === undefined && input.message === undefined) problems.push({ message: 'send "end", "endNow": true or "message"' })
    if (problems.length > 0) throw new ValidationError(problems)
    const update: Partial<MaintenanceWindowTable> = { updated_at: now, announced_at: now }
    if (input.endNow === true) {
      if (state === 'scheduled') update.cancelled_at = now
      else update.ends_at = now
    } else if (end !== undefined) {
      update.ends_at = end
    }
    if (typeof input.message === 'string') update.message = input.message.trim()
    await this.db.updateTable('maintenance_windows').set(update).where('id', '=', id).execute()
    this.invalidate()
    return this.require(id)
  }

  async current(now = Date.now()): Promise<MaintenanceWindow | undefined> {
    const windows = await this.pending(now)
    const live = windows.filter((w) => w.cancelledAt === null && w.endsAt > now)
    return live.find((w) => w.startsAt <= now) ?? live.sort((a, b) => a.startsAt - b.startsAt)[0]
  }

  invalidate(): void {
    this.cached = undefined
  }

  /**
   * The windows that started or ended since a node last looked, each claimed by exactly one node
   * of the cluster (a conditional update), so that each start and end is announced once.
   */
  async claimTransitions(now = Date.now()): Promise<{ started: MaintenanceWindow[]; ended: MaintenanceWindow[] }> {
    const started: MaintenanceWindow[] = []
    const ended: MaintenanceWindow[] = []
    const due = await this.db
      .selectFrom('maintenance_windows')
      .selectAll()
      .where('cancelled_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb.and([eb('started_notified_at', 'is', null), eb('starts_at', '<=', now)]),
          eb.and([eb('ended_notified_at', 'is', null), eb('ends_at', '<=', now)]),
        ]),
      )
      .execute()
    for (const row of due) {
      if (row.started_notified_at === null && row.starts_at <= now) {
        const claimed = await this.db
          .updateTable('maintenance_windows')
          .set({ started_notified_at: now })
          .where('id', '=', row.id)
          .where('started_notified_at', 'is', null)
          .executeTakeFirst()
        if (Number(claimed.numUpdatedRows) === 1) started.push(toWindow(row))
      }
      if (row.ended_notified_at === null && row.ends_at <= now) {
        const claimed = await this.db
          .updateTable('maintenance_windows')
          .set({ ended_notified_at: now })
          .where('id', '=', row.id)
          .where('ended_notified_at', 'is', null)
          .executeTakeFirst()
        if (Number(claimed.numUpdatedRows) === 1) ended.push(toWindow(row))
      }
    }
    return { started, ended }
  }

  /** The windows not yet over, read at most once per `cacheMs` (1 s): a change on another node shows within it. */
  private pending(now: number): Promise<MaintenanceWindow[]> {
    const cacheMs = this.options.cacheMs ?? 1000
    if (this.cached && now - this.cached.at < cacheMs && now >= this.cached.at) return this.cached.windows
    const windows = this.db
      .selectFrom('maintenance_windows')
      .selectAll()
      .where('ends_at', '>', now)
      .where('cancelled_at', 'is', null)
      .execute()
      .then((rows) => rows.map(toWindow))
    this.cached = { at: now, windows }
    // A failed read is not kept: the next request asks the database again.
    windows.catch(() => {
      if (this.cached?.windows === windows) this.cached = undefined
    })
    return windows
  }
}

function parseTime(value: unknown, field: string, problems: FieldProblem[]): number | undefined {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN
  if (!Number.isFinite(ms)) {
    problems.push({ field, message: `${field} must be an ISO 8601 time with a time zone` })
    return undefined
  }
  return ms
}

export function describeSecs(secs: number): string {
  if (secs >= 3600) return `${Math.round((secs / 3600) * 10) / 10} h`
  if (secs >= 60) return `${Math.round(secs / 60)} min`
  return `${Math.round(secs)} s`
}

function toWindow(row: MaintenanceWindowTable): MaintenanceWindow {
  return {
    id: row.id,
    kind: row.kind,
    message: row.message,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    forcedReason: row.forced_reason,
    createdBy: row.created_by,
    announcedAt: row.announced_at,
    cancelledAt: row.cancelled_at,
  }
}
