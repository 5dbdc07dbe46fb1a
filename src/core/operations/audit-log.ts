import type { AuditEventBody } from '../../api/operations.js'
import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import type { AuditEventTable } from '../../metadata/operations-schema.js'
import { invalidField } from '../errors.js'
import type { Principal } from '../auth/principal.js'

export type AuditOutcome = AuditEventTable['outcome']

/** One recorded action, as the API shows it (`src/api/operations.ts`). */
export type AuditEvent = AuditEventBody

/** What a caller appends; the log adds the id and the time. */
export interface AuditInput {
  /** Who acted: a principal, or a name (a sign-in attempt names the account it tried; `system` for the server). */
  readonly actor: Principal | string
  readonly address?: string | undefined
  readonly action: string
  readonly target: string
  readonly project?: string | undefined
  readonly outcome: AuditOutcome
  readonly status?: number | undefined
  readonly details?: Readonly<Record<string, unknown>> | undefined
}

export interface AuditQuery {
  readonly actor?: string | undefined
  /** An exact action, or a prefix ending in `.` (`token.`). */
  readonly action?: string | undefined
  readonly target?: string | undefined
  readonly project?: string | undefined
  readonly outcome?: string | undefined
  /** Epoch ms, inclusive. */
  readonly from?: number | undefined
  /** Epoch ms, exclusive. */
  readonly to?: number | undefined
  /** Events older than this id (the previous page's `next`). */
  readonly before?: string | undefined
  readonly limit?: number | undefined
}

export const MAX_AUDIT_PAGE = 1000
const OUTCOMES: readonly string[] = ['success', 'denied', 'failure']

/**
 * The audit log: who did what, when, from where, and how it ended. Append-only: this class has
 * no update, and deletes only what is older than the retention period ({@link prune}); no API
 * changes a row. Newest first; ids sort by time, so a page ends where the next begins.
 */
export class AuditLog {
  constructor(private readonly db: Kysely<Database>) {}

  async record(input: AuditInput): Promise<AuditEvent> {
    const at = Date.now()
    const actor = typeof input.actor === 'string' ? { name: input.actor } : describeActor(input.actor)
    const row: AuditEventTable = {
      id: `${at.toString().padStart(15, '0')}-${randomBytes(6).toString('hex')}`,
      at,
      actor: actor.name,
      actor_via: actor.via ?? null,
      actor_token: actor.token ?? null,
      address: input.address ?? null,
      action: input.action,
      target: input.target,
      project: input.project ?? null,
      outcome: input.outcome,
      status: input.status ?? null,
      details: input.details && Object.keys(input.details).length > 0 ? JSON.stringify(input.details) : null,
    }
    await this.db.insertInto('audit_events').values(row).execute()
    return toEvent(row)
  }

  /** One page, newest first; `next` is the `before` of the following page, null on the last. */
  async search(query: AuditQuery): Promise<{ events: AuditEvent[]; next: string | null }> {
    const limit = query.limit ?? 100
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) throw invalidField('limit', `limit must be 1 to ${MAX_AUDIT_PAGE}`)
    if (query.outcome !== undefined && !OUTCOMES.includes(query.outcome)) throw invalidField('outcome', `outcome must be one of ${OUTCOMES.join(', ')}`)
    let select = this.db.selectFrom('audit_events').selectAll()
    if (query.actor !== undefined) select = select.where('actor', '=', query.actor)
    if (query.action !== undefined) {
      if (!/^[a-z][a-z.-]*$/.test(query.action)) throw invalidField('action', 'action: lower-case letters, dots and dashes (a prefix ends in a dot)')
      select = query.action.endsWith('.') ? select.where('action', 'like', `${query.action}%`) : select.where('action', '=', query.action)
    }
    if (query.target !== undefined) select = select.where('target', '=', query.target)
    if (query.project !== undefined) select = select.where('project', '=', query.project)
    if (query.outcome !== undefined) select = select.where('outcome', '=', query.outcome as AuditOutcome)
    if (query.from !== undefined) select = select.where('at', '>=', query.from)
    if (query.to !== undefined) select = select.where('at', '<', query.to)
    if (query.before !== undefined) select = select.where('id', '<', query.before)
    const rows = await select.orderBy('id', 'desc').limit(limit + 1).execute()
    const page = rows.slice(0, limit)
    return { events: page.map(toEvent), next: rows.length > limit ? page[page.length - 1]!.id : null }
  }

  /** Every matching event, newest first, a page at a time (the JSON-lines export). */
  async *export(query: Omit<AuditQuery, 'limit' | 'before'>): AsyncGenerator<AuditEvent> {
    let before: string | undefined
    for (;;) {
      const page = await this.search({ ...query, before, limit: MAX_AUDIT_PAGE })
      yield* page.events
      if (page.next === null) return
      before = page.next
    }
  }

  /** Deletes the events older than `retentionMs`; returns how many. */
  async prune(retentionMs: number): Promise<number> {
    const result = await this.db.deleteFrom('audit_events').where('at', '<', Date.now() - retentionMs).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}

function describeActor(principal: Principal): { name: string; via?: string; token?: string } {
  if (principal.kind === 'anonymous') return { name: 'anonymous' }
  return { name: principal.name, via: principal.via, ...(principal.tokenId !== undefined ? { token: principal.tokenId } : {}) }
}

function toEvent(row: AuditEventTable): AuditEvent {
  return {
    id: row.id,
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    actorVia: row.actor_via,
    actorToken: row.actor_token,
    address: row.address,
    action: row.action,
    target: row.target,
    project: row.project,
    outcome: row.outcome,
    status: row.status,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
  }
}
