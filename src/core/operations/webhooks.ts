import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { Agent, request } from 'undici'
import type { Database } from '../../metadata/schema.js'
import type { WebhookDeliveryTable, WebhookTable } from '../../metadata/operations-schema.js'
import { ValidationError, notFound, type FieldProblem } from '../errors.js'
import type { JobQueue } from '../jobs/job-queue.js'
import type { UpstreamHostPolicy } from '../upstream/upstream-hosts.js'
import { SEVERITY_LEVELS, parseSeverityLevel, severityRank } from '../scanning/reports.js'
import { EVENT_TYPES, type OperationsEvent } from './notifications.js'

export const SIGNATURE_HEADER = 'x-trove-signature-256'
export const DELIVERY_JOB = 'webhook-delivery'
/** Attempts of one delivery: the job queue's, with its back-off (2, 4, 8, 16 s). */
const MAX_ATTEMPTS = 5
const TIMEOUT_MS = 10_000

export interface Webhook {
  readonly id: string
  readonly name: string
  readonly url: string
  readonly events: readonly string[]
  readonly project: string | null
  readonly minSeverity: string | null
  readonly isEnabled: boolean
  readonly createdBy: string
  readonly createdAt: number
}

export interface WebhookDelivery {
  readonly id: string
  readonly webhookId: string
  readonly event: string
  readonly status: WebhookDeliveryTable['status']
  readonly attempts: number
  readonly responseStatus: number | null
  readonly error: string | null
  readonly createdAt: number
  readonly updatedAt: number
}

/** The body a receiver gets; `text` is what chat incoming webhooks show. */
export interface WebhookPayload {
  readonly id: string
  readonly event: string
  readonly at: string
  readonly project: string | null
  readonly text: string
  readonly data: Readonly<Record<string, unknown>>
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes with the webhook's secret. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/**
 * Outgoing webhooks (docs/operations.md): system ones (admins) get every event they name, a
 * project's (its Project Admins) only that project's. Each event becomes one delivery per webhook,
 * sent by the job queue, retried with its back-off, and kept with its outcome (the delivery log).
 * The URL is held to the same rules as remote repositories' upstreams (no private addresses
 * unless allowed), checked when configured and again at connect time; redirects are not followed.
 */
export class WebhookService {
  private readonly agent: Agent

  constructor(
    private readonly deps: { db: Kysely<Database>; jobs: JobQueue; hostPolicy: UpstreamHostPolicy; logger: Logger },
  ) {
    this.agent = new Agent({ connect: { lookup: deps.hostPolicy.lookup, timeout: TIMEOUT_MS } })
  }

  registerJobs(): void {
    this.deps.jobs.register(DELIVERY_JOB, async (payload, job) => this.deliver((payload as { delivery: string }).delivery, job.attempts))
  }

  /** Creates a webhook; returns it with its secret (generated when none is given), shown this once. */
  async create(input: Record<string, unknown>, actor: string, project: string | null): Promise<{ webhook: Webhook; secret: string }> {
    const valid = this.validate(input, undefined)
    const secret = typeof input.secret === 'string' && input.secret !== '' ? input.secret : randomBytes(24).toString('base64url')
    const now = Date.now()
    const row: WebhookTable = {
      id: randomUUID(),
      name: valid.name!,
      url: valid.url!,
      secret,
      events: JSON.stringify(valid.events),
      project,
      min_severity: valid.minSeverity ?? null,
      is_enabled: valid.isEnabled === false ? 0 : 1,
      created_by: actor,
      created_at: now,
      updated_at: now,
    }
    await this.deps.db.insertInto('webhooks').values(row).execute()
    return { webhook: toWebhook(row), secret }
  }

  async update(id: string, input: Record<string, unknown>): Promise<Webhook> {
    const existing = await this.require(id)
    const valid = this.validate(input, existing)
    const set: Partial<WebhookTable> = { updated_at: Date.now() }
    if (valid.name !== undefined) set.name = valid.name
    if (valid.url !== undefined) set.url = valid.url
    if (valid.events !== undefined) set.events = JSON.stringify(valid.events)
    if (valid.minSeverity !== undefined) set.min_severity = valid.minSeverity
    if (valid.isEnabled !== undefined) set.is_enabled = valid.isEnabled ? 1 : 0
    if (typeof input.secret === 'string' && input.secret !== '') set.secret = input.secret
    await this.deps.db.updateTable('webhooks').set(set).where('id', '=', id).execute()
    return this.require(id)
  }

  async delete(id: string): Promise<void> {
    await this.require(id)
    await this.deps.db.deleteFrom('webhooks').where('id', '=', id).execute()
  }

  async get(id: string): Promise<Webhook | undefined> {
    const row = await this.deps.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toWebhook(row)
  }

  async require(id: string): Promise<Webhook> {
    const webhook = await this.get(id)
    if (!webhook) throw notFound(`webhook '${id}' does not exist`)
    return webhook
  }

  /** System webhooks (`project` null) or one project's. */
  async list(project: string | null | 'all'): Promise<Webhook[]> {
    let select = this.deps.db.selectFrom('webhooks').selectAll()
    if (project === null) select = select.where('project', 'is', null)
    else if (project !== 'all') select = select.where('project', '=', project)
    return (await select.orderBy('created_at').execute()).map(toWebhook)
  }

  async deliveries(webhookId: string, limit = 100): Promise<WebhookDelivery[]> {
    const rows = await this.deps.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute()
    return rows.map(toDelivery)
  }

  /** One delivery per matching webhook, each queued as a job. */
  async onEvent(event: OperationsEvent): Promise<void> {
    const hooks = await this.deps.db.selectFrom('webhooks').selectAll().where('is_enabled', '=', 1).execute()
    const now = Date.now()
    let queued = 0
    for (const hook of hooks) {
      if (!(JSON.parse(hook.events) as string[]).includes(event.type)) continue
      // A project's webhook gets its project's events, and the announcements everyone gets (maintenance).
      if (hook.project !== null && hook.project !== event.project && !(event.project === undefined && event.type.startsWith('maintenance.'))) continue
      if (event.type === 'scan.findings' && hook.min_severity !== null && rankOf(event.severity) < rankOf(hook.min_severity)) continue
      const id = randomUUID()
      const payload: WebhookPayload = { id, event: event.type, at: new Date(now).toISOString(), project: event.project ?? null, text: event.text, data: event.data }
      await this.deps.db
        .insertInto('webhook_deliveries')
        .values({ id, webhook_id: hook.id, event: event.type, payload: JSON.stringify(payload), status: 'pending', attempts: 0, response_status: null, error: null, created_at: now, updated_at: now })
        .execute()
      await this.deps.jobs.enqueue(DELIVERY_JOB, { delivery: id })
      queued++
    }
    // Sent now rather than at the next poll; nothing is run early when no webhook wanted the event.
    if (queued > 0) this.deps.jobs.poke()
  }

  /** One attempt; throws (the job is retried) unless the receiver answered 2xx or this was the last attempt. */
  private async deliver(deliveryId: string, attempt: number): Promise<unknown> {
    const delivery = await this.deps.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', deliveryId).executeTakeFirst()
    if (!delivery || delivery.status !== 'pending') return { skipped: true }
    const hook = await this.deps.db.selectFrom('webhooks').selectAll().where('id', '=', delivery.webhook_id).executeTakeFirst()
    if (!hook) {
      await this.finish(deliveryId, attempt, 'failed', null, 'the webhook was deleted')
      return { skipped: true }
    }
    let status: number | null = null
    let error: string | null = null
    try {
      const refusal = this.deps.hostPolicy.refusalOf(hook.url)
      if (refusal) throw new Error(refusal)
      const response = await request(hook.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'trove-webhooks',
          'x-trove-event': delivery.event,
          'x-trove-delivery': delivery.id,
          [SIGNATURE_HEADER]: signature(hook.secret, delivery.payload),
        },
        body: delivery.payload,
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      })
      status = response.statusCode
      await response.body.dump()
      if (status >= 200 && status < 300) {
        await this.finish(deliveryId, attempt, 'delivered', status, null)
        return { status }
      }
      error = `the receiver answered ${status}`
    } catch (err) {
      error = (err as Error).message
    }
    const isFinal = attempt >= MAX_ATTEMPTS
    await this.finish(deliveryId, attempt, isFinal ? 'failed' : 'pending', status, error)
    if (isFinal) return { status, error }
    throw new Error(`webhook delivery ${deliveryId}: ${error}`)
  }

  private async finish(id: string, attempts: number, status: WebhookDeliveryTable['status'], responseStatus: number | null, error: string | null): Promise<void> {
    await this.deps.db.updateTable('webhook_deliveries').set({ status, attempts, response_status: responseStatus, error, updated_at: Date.now() }).where('id', '=', id).execute()
  }

  /** Deletes finished deliveries older than `retentionMs` (pending ones stay until they finish); returns how many. */
  async prune(retentionMs: number): Promise<number> {
    const result = await this.deps.db.deleteFrom('webhook_deliveries').where('status', '!=', 'pending').where('updated_at', '<', Date.now() - retentionMs).executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  async close(): Promise<void> {
    await this.agent.close()
  }

  private validate(input: Record<string, unknown>, existing: Webhook | undefined): Partial<{ name: string; url: string; events: string[]; minSeverity: string | null; isEnabled: boolean }> {
    const problems: FieldProblem[] = []
    const out: Partial<{ name: string; url: string; events: string[]; minSeverity: string | null; isEnabled: boolean }> = {}
    if (input.name !== undefined || !existing) {
      if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 100) problems.push({ field: 'name', message: 'name is required, at most 100 characters' })
      else out.name = input.name.trim()
    }
    if (input.url !== undefined || !existing) {
      let url: URL | undefined
      try {
        url = typeof input.url === 'string' ? new URL(input.url) : undefined
      } catch {
        url = undefined
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
        problems.push({ field: 'url', message: 'url must be an http or https URL without credentials' })
      } else {
        const refusal = this.deps.hostPolicy.refusalOf(url)
        if (refusal) problems.push({ field: 'url', message: `url: ${refusal}` })
        else out.url = url.toString()
      }
    }
    if (input.events !== undefined || !existing) {
      const events = input.events
      const unknown = Array.isArray(events) ? events.filter((e) => !(EVENT_TYPES as readonly unknown[]).includes(e)) : []
      if (!Array.isArray(events) || events.length === 0 || unknown.length > 0) {
        problems.push({ field: 'events', message: `events must be a non-empty list of ${EVENT_TYPES.join(', ')}${unknown.length > 0 ? `; unknown: ${unknown.map(String).join(', ')}` : ''}` })
      } else {
        out.events = [...new Set(events as string[])]
      }
    }
    if (input.minSeverity !== undefined) {
      const level = typeof input.minSeverity === 'string' ? parseSeverityLevel(input.minSeverity) : undefined
      if (input.minSeverity !== null && level === undefined) problems.push({ field: 'minSeverity', message: `minSeverity must be one of ${SEVERITY_LEVELS.join(', ')}` })
      else out.minSeverity = level ?? null
    }
    if (input.enabled !== undefined) {
      if (typeof input.enabled !== 'boolean') problems.push({ field: 'enabled', message: 'enabled must be true or false' })
      else out.isEnabled = input.enabled
    }
    if (input.secret !== undefined && (typeof input.secret !== 'string' || (input.secret !== '' && input.secret.length < 16))) {
      problems.push({ field: 'secret', message: 'secret must be a string of at least 16 characters' })
    }
    if (problems.length > 0) throw new ValidationError(problems)
    return out
  }
}

function rankOf(severity: string | null | undefined): number {
  const level = severity ? parseSeverityLevel(severity) : undefined
  return level ? severityRank(level) : 0
}

function toWebhook(row: WebhookTable): Webhook {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    project: row.project,
    minSeverity: row.min_severity,
    isEnabled: row.is_enabled === 1,
    createdBy: row.created_by,
    createdAt: row.created_at,
  }
}

function toDelivery(row: WebhookDeliveryTable): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    event: row.event,
    status: row.status,
    attempts: row.attempts,
    responseStatus: row.response_status,
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
