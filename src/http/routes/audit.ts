import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AuditPage } from '../../api/operations.js'
import { denied, invalidField, unauthorized } from '../../core/errors.js'
import type { AuditQuery } from '../../core/operations/audit-log.js'
import type { CoreServices } from '../../core/services.js'

type AuditQuerystring = Record<string, string | undefined>

/**
 * The audit log, read-only: `GET /api/v1/audit` (a page, newest first) and
 * `GET /api/v1/audit/export` (JSON lines). Admins see everything; a Project Admin sees the events
 * of their project (the `project` filter is then required). There is no route that changes an event.
 */
export async function auditRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const access = async (request: FastifyRequest) => {
    const principal = request.principal
    if (principal.kind === 'anonymous') throw unauthorized('authentication is required')
    if (principal.isAdmin) return
    const project = (request.query as AuditQuerystring).project
    if (project === undefined || project === '') throw denied(`user '${principal.name}' is not an administrator: ask for one project's events with ?project=`)
    if (!(await services.authorizer.administersProject(principal, project, 'manageMembers'))) {
      throw denied(`user '${principal.name}' is not a Project Admin of '${project}'`)
    }
  }

  app.get<{ Querystring: AuditQuerystring }>('/api/v1/audit', { config: { access } }, async (request) => {
    const page = await services.audit.search({ ...parseQuery(request.query), before: request.query.before, limit: parseLimit(request.query.limit) })
    return page satisfies AuditPage
  })

  app.get<{ Querystring: AuditQuerystring }>('/api/v1/audit/export', { config: { access } }, async (request, reply) => {
    const query = parseQuery(request.query)
    const lines = async function* () {
      for await (const event of services.audit.export(query)) yield `${JSON.stringify(event)}\n`
    }
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('content-disposition', 'attachment; filename="trove-audit.jsonl"')
      .send(Readable.from(lines()))
  })
}

function parseQuery(q: AuditQuerystring): Omit<AuditQuery, 'limit' | 'before'> {
  return {
    actor: nonEmpty(q.actor),
    action: nonEmpty(q.action),
    target: nonEmpty(q.target),
    project: nonEmpty(q.project),
    outcome: nonEmpty(q.outcome),
    from: parseTime(q.from, 'from'),
    to: parseTime(q.to, 'to'),
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined
  if (!/^\d+$/.test(value)) throw invalidField('limit', 'limit must be a whole number')
  return Number(value)
}

/** ISO 8601 or epoch milliseconds. */
function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  if (!Number.isFinite(ms)) throw invalidField(field, `${field} must be an ISO 8601 time or epoch milliseconds`)
  return ms
}
