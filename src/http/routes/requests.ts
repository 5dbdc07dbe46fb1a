import type { FastifyInstance } from 'fastify'
import type { ServiceRequestBody } from '../../api/operations.js'
import { PROJECT_ADMIN, PROJECT_ROLES, assertProjectKey } from '../../core/auth/projects.js'
import { principalName } from '../../core/auth/principal.js'
import { TroveError, ValidationError, invalidField, type FieldProblem } from '../../core/errors.js'
import type { ServiceRequest } from '../../core/operations/requests.js'
import type { CoreServices } from '../../core/services.js'
import { projectInput } from './projects.js'

type IdParams = { Params: { id: string } }

/**
 * Self-service requests: any signed-in user asks for a project or a remote repository (checked
 * against the naming and upstream rules now), sees their own requests; admins see the queue and
 * approve (creating it with the same service calls as the admin API, with their edits) or decline
 * with a reason.
 */
export async function requestRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const requests = services.requests

  app.post<{ Body: unknown }>('/api/v1/requests', { config: { access: 'authenticated', audit: { action: 'request.submit', target: () => 'request' } } }, async (request, reply) => {
    const body = objectBody(request.body)
    const requester = principalName(request.principal)
    const kind = body.kind
    let checked: Record<string, unknown>
    if (kind === 'project') checked = await checkProject(services, body)
    else if (kind === 'remote-repository') checked = await checkRemote(services, body)
    else throw invalidField('kind', 'kind must be project or remote-repository')
    const submitted = await requests.submit(kind, checked, requester)
    request.audit.target = submitted.id
    request.audit.details = { kind, key: checked.key }
    await services.notifications.emit({
      type: 'request.submitted',
      text: `${requester} requests ${kind === 'project' ? 'project' : 'remote repository'} '${String(checked.key)}': ${String(checked.purpose ?? checked.why)}`,
      data: { id: submitted.id, kind, requester, request: checked },
    })
    return reply.status(201).send(requestBody(submitted))
  })

  app.get<{ Querystring: { status?: string; mine?: string } }>('/api/v1/requests', { config: { access: 'authenticated' } }, async (request) => {
    const principal = request.principal
    const isAdmin = principal.kind === 'user' && principal.isAdmin
    const status = request.query.status
    if (status !== undefined && status !== 'pending' && status !== 'approved' && status !== 'declined') throw invalidField('status', 'status must be pending, approved or declined')
    const mine = !isAdmin || request.query.mine === 'true'
    return { requests: (await requests.list({ requester: mine ? principalName(principal) : undefined, status })).map(requestBody) }
  })

  app.get<IdParams>('/api/v1/requests/:id', { config: { access: 'authenticated' } }, async (request) => {
    const found = await requests.require(request.params.id)
    const principal = request.principal
    if (principal.kind === 'user' && !principal.isAdmin && found.requester !== principal.name) throw new TroveError('NOT_FOUND', `request '${found.id}' does not exist`)
    return requestBody(found)
  })

  app.post<IdParams & { Body: unknown }>('/api/v1/requests/:id/approve', { config: { access: 'admin', audit: { action: 'request.approve' } } }, async (request) => {
    const pending = await requests.requirePending(request.params.id)
    const edits = request.body === undefined || request.body === null ? {} : objectBody(request.body)
    const granted = pending.kind === 'project' ? await createProject(services, pending, edits) : await createRemote(services, pending, edits)
    const decided = await requests.decide(pending.id, { status: 'approved', by: principalName(request.principal), granted })
    request.audit.details = { kind: pending.kind, requester: pending.requester, granted }
    if (pending.kind === 'project') request.audit.project = String(pending.request.key)
    await notifyDecision(services, decided)
    return requestBody(decided)
  })

  app.post<IdParams & { Body: unknown }>('/api/v1/requests/:id/decline', { config: { access: 'admin', audit: { action: 'request.decline' } } }, async (request) => {
    const pending = await requests.requirePending(request.params.id)
    const reason = objectBody(request.body).reason
    if (typeof reason !== 'string' || reason.trim() === '') throw invalidField('reason', 'reason is required: the requester is told why')
    const decided = await requests.decide(pending.id, { status: 'declined', by: principalName(request.principal), reason: reason.trim() })
    request.audit.details = { kind: pending.kind, requester: pending.requester, reason: reason.trim() }
    await notifyDecision(services, decided)
    return requestBody(decided)
  })
}

/** The naming rules now, not only at approval: the key is valid and free, members exist with known roles. */
async function checkProject(services: CoreServices, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const problems: FieldProblem[] = []
  const key = body.key
  if (typeof key !== 'string') problems.push({ field: 'key', message: 'key is required' })
  else {
    try {
      assertProjectKey(key)
      if (await services.projects.get(key)) problems.push({ field: 'key', message: `project '${key}' already exists` })
    } catch (err) {
      problems.push({ field: 'key', message: (err as Error).message })
    }
  }
  if (body.name !== undefined && (typeof body.name !== 'string' || body.name.length > 100)) problems.push({ field: 'name', message: 'name must be a string of at most 100 characters' })
  if (typeof body.purpose !== 'string' || body.purpose.trim() === '' || body.purpose.length > 2000) problems.push({ field: 'purpose', message: 'purpose is required (what the project is for), at most 2000 characters' })
  const quota = body.quotaBytes
  if (quota !== undefined && (typeof quota !== 'number' || !Number.isSafeInteger(quota) || quota < -1)) problems.push({ field: 'quotaBytes', message: 'quotaBytes must be a whole number of bytes (-1: no quota)' })
  const members = body.members ?? []
  if (!Array.isArray(members)) problems.push({ field: 'members', message: 'members must be a list of {"name", "roles"}' })
  else {
    for (const [i, member] of members.entries()) {
      const m = member as { name?: unknown; roles?: unknown }
      const roles = Array.isArray(m.roles) ? m.roles : []
      if (typeof m.name !== 'string' || !(await services.users.get(m.name))) problems.push({ field: `members[${i}].name`, message: `members[${i}]: no such user '${String(m.name)}'` })
      if (roles.length === 0 || roles.some((r) => typeof r !== 'string' || !(r in PROJECT_ROLES))) {
        problems.push({ field: `members[${i}].roles`, message: `members[${i}].roles must be a non-empty list of ${Object.keys(PROJECT_ROLES).join(', ')}` })
      }
    }
  }
  if (problems.length > 0) throw new ValidationError(problems)
  return { key, name: body.name ?? key, purpose: (body.purpose as string).trim(), quotaBytes: quota ?? -1, members }
}

/** The repository rules now: key, package type, and the upstream URL (no private addresses unless allowed). */
async function checkRemote(services: CoreServices, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { key, packageType, url, why } = body
  if (typeof why !== 'string' || why.trim() === '' || why.length > 2000) throw invalidField('why', 'why is required (what the team needs it for), at most 2000 characters')
  if (typeof key !== 'string') throw invalidField('key', 'key is required')
  await services.repositories.check(key, { rclass: 'remote', packageType, url })
  return { key, packageType, url, why: why.trim() }
}

async function createProject(services: CoreServices, pending: ServiceRequest, edits: Record<string, unknown>): Promise<Record<string, unknown>> {
  const asked = pending.request as { key: string; name: string; purpose: string; quotaBytes: number; members: { name: string; roles: string[] }[] }
  const settings = edits.settings === undefined ? {} : objectBody(edits.settings)
  const body = {
    display_name: typeof edits.name === 'string' ? edits.name : asked.name,
    description: asked.purpose,
    storage_quota_bytes: edits.quotaBytes ?? asked.quotaBytes,
    ...settings,
  }
  // The admin API's own calls: create, then the members (the requester leads it unless named otherwise).
  const project = await services.projects.create(asked.key, projectInput(body))
  const members = asked.members.some((m) => m.name === pending.requester) ? asked.members : [{ name: pending.requester, roles: [PROJECT_ADMIN] }, ...asked.members]
  for (const member of members) await services.projects.setMember(project.key, 'user', member.name, member.roles)
  return { project: project.key, displayName: project.displayName, storageQuotaBytes: project.storageQuotaBytes, members }
}

async function createRemote(services: CoreServices, pending: ServiceRequest, edits: Record<string, unknown>): Promise<Record<string, unknown>> {
  const asked = pending.request as { key: string; packageType: string; url: string; why: string }
  const settings = edits.settings === undefined ? {} : objectBody(edits.settings)
  const body = { rclass: 'remote', packageType: asked.packageType, url: asked.url, description: asked.why, ...settings }
  const repository = await services.repositories.create(asked.key, await services.projects.repositoryBody(asked.key, body, undefined))
  return { repository: repository.key, packageType: repository.packageType, url: repository.config.url }
}

async function notifyDecision(services: CoreServices, decided: ServiceRequest): Promise<void> {
  const what = `${decided.kind === 'project' ? 'project' : 'remote repository'} '${String(decided.request.key)}'`
  await services.notifications.emit({
    type: 'request.decided',
    text: decided.status === 'approved' ? `@${decided.requester}: your request for ${what} was approved by ${decided.decidedBy}` : `@${decided.requester}: your request for ${what} was declined by ${decided.decidedBy}: ${decided.reason}`,
    data: { id: decided.id, kind: decided.kind, requester: decided.requester, status: decided.status, reason: decided.reason, granted: decided.granted },
  })
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
  return body as Record<string, unknown>
}

function requestBody(r: ServiceRequest): ServiceRequestBody {
  return {
    id: r.id,
    kind: r.kind,
    requester: r.requester,
    status: r.status,
    request: r.request,
    granted: r.granted,
    reason: r.reason,
    decidedBy: r.decidedBy,
    decidedAt: r.decidedAt === null ? null : new Date(r.decidedAt).toISOString(),
    createdAt: new Date(r.createdAt).toISOString(),
  }
}

