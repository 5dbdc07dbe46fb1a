import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import type { ServiceRequestTable } from '../../metadata/operations-schema.js'
import { TroveError, notFound } from '../errors.js'

export type RequestKind = ServiceRequestTable['kind']
export type RequestStatus = ServiceRequestTable['status']

export interface ServiceRequest {
  readonly id: string
  readonly kind: RequestKind
  readonly requester: string
  readonly status: RequestStatus
  /** What was asked for, as submitted (already checked against the naming and upstream rules). */
  readonly request: Readonly<Record<string, unknown>>
  /** What the approval created, with the admin's edits. */
  readonly granted: Readonly<Record<string, unknown>> | null
  readonly reason: string | null
  readonly decidedBy: string | null
  readonly decidedAt: number | null
  readonly createdAt: number
}

/**
 * Self-service requests (docs/operations.md): a signed-in user asks for a project or a remote
 * repository, an admin approves or declines. This class keeps them; what an approval creates is
 * created by the same service calls as the admin API's (src/http/routes/requests.ts).
 */
export class ServiceRequests {
  constructor(private readonly db: Kysely<Database>) {}

  async submit(kind: RequestKind, request: Record<string, unknown>, requester: string): Promise<ServiceRequest> {
    const row: ServiceRequestTable = {
      id: randomUUID(),
      kind,
      requester,
      status: 'pending',
      request: JSON.stringify(request),
      granted: null,
      reason: null,
      decided_by: null,
      decided_at: null,
      created_at: Date.now(),
    }
    await this.db.insertInto('service_requests').values(row).execute()
    return toRequest(row)
  }

  /** Newest first; `requester` narrows to one user's, `status` to one state. */
  async list(filter: { requester?: string | undefined; status?: RequestStatus | undefined } = {}): Promise<ServiceRequest[]> {
    let select = this.db.selectFrom('service_requests').selectAll()
    if (filter.requester !== undefined) select = select.where('requester', '=', filter.requester)
    if (filter.status !== undefined) select = select.where('status', '=', filter.status)
    return (await select.orderBy('created_at', 'desc').limit(500).execute()).map(toRequest)
  }

  async require(id: string): Promise<ServiceRequest> {
    const row = await this.db.selectFrom('service_requests').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) throw notFound(`request '${id}' does not exist`)
    return toRequest(row)
  }

  /** A pending request, or CONFLICT when it was already decided. */
  async requirePending(id: string): Promise<ServiceRequest> {
    const request = await this.require(id)
    if (request.status !== 'pending') throw new TroveError('CONFLICT', `request '${id}' was already ${request.status}`)
    return request
  }

  /** Records the decision; only one decision of a request wins (a conditional update). */
  async decide(id: string, decision: { status: 'approved' | 'declined'; by: string; reason?: string | undefined; granted?: Record<string, unknown> | undefined }): Promise<ServiceRequest> {
    const result = await this.db
      .updateTable('service_requests')
      .set({
        status: decision.status,
        decided_by: decision.by,
        decided_at: Date.now(),
        reason: decision.reason ?? null,
        granted: decision.granted ? JSON.stringify(decision.granted) : null,
      })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) !== 1) throw new TroveError('CONFLICT', `request '${id}' was already decided`)
    return this.require(id)
  }
}

function toRequest(row: ServiceRequestTable): ServiceRequest {
  return {
    id: row.id,
    kind: row.kind,
    requester: row.requester,
    status: row.status,
    request: JSON.parse(row.request) as Record<string, unknown>,
    granted: row.granted === null ? null : (JSON.parse(row.granted) as Record<string, unknown>),
    reason: row.reason,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    createdAt: row.created_at,
  }
}
