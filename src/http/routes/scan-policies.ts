import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Principal } from '../../core/auth/principal.js'
import { principalName } from '../../core/auth/principal.js'
import { TroveError, denied, notFound } from '../../core/errors.js'
import type { ScanPolicy } from '../../core/scanning/policies.js'
import type { CoreServices } from '../../core/services.js'
import type { AccessGuard } from '../access.js'
import { reviewsRepository } from './reviewers.js'

type NameParams = { Params: { name: string } }

/**
 * Scan policies, summaries and the database sync over REST:
 * - `GET|POST /api/v1/scan/policies`, `GET|PUT|DELETE /api/v1/scan/policies/{name}`: system
 *   admins, and Project Admins (with the manage-resources privilege) for policies that cover only
 *   their projects and their projects' repositories;
 * - `GET /api/v1/scan/repository/{repo}/summary` (read on the repository) and
 *   `GET /api/v1/scan/project/{key}/summary` (members of the project);
 * - `GET|PUT /api/v1/vulndb/sync` (admin) and `POST /api/v1/vulndb/sync/run` (admin).
 */
export async function scanPolicyRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const { policies, authorizer, repositories } = services

  /** Whether `principal` may manage a policy: an admin, or a Project Admin of everything it covers. */
  const canManage = async (principal: Principal, policy: Pick<ScanPolicy, 'repositories' | 'projects'>): Promise<boolean> => {
    if (principal.kind !== 'user') return false
    if (principal.isAdmin && !principal.scope) return true
    if (policy.repositories.includes('*')) return false
    const projects = new Set(policy.projects)
    for (const key of policy.repositories) {
      const project = (await repositories.get(key))?.config.projectKey
      if (typeof project !== 'string' || project === '') return false
      projects.add(project)
    }
    if (projects.size === 0) return false
    for (const key of projects) if (!(await authorizer.administersProject(principal, key, 'manageResources'))) return false
    return true
  }
  const requireManage = async (request: FastifyRequest, policy: Pick<ScanPolicy, 'repositories' | 'projects'>, what: string) => {
    if (!(await canManage(request.principal, policy))) {
      throw denied(`user '${principalName(request.principal)}' may not ${what}: only administrators, and Project Admins for policies covering only their projects' repositories`)
    }
  }

  /** Security reviewers read every policy (global) or those covering their project's repositories. */
  const canRead = async (principal: Principal, policy: Pick<ScanPolicy, 'repositories' | 'projects'>): Promise<boolean> => {
    if (await canManage(principal, policy)) return true
    if (await services.reviewers.reviewsAll(principal)) return true
    for (const project of policy.projects) if (await services.reviewers.reviewsProject(principal, project)) return true
    for (const key of policy.repositories) if (key !== '*' && (await reviewsRepository(services, principal, key))) return true
    return false
  }

  app.get('/api/v1/scan/policies', { config: { access: 'authenticated' } }, async (request) => {
    const all = await policies.list()
    const visible: ScanPolicy[] = []
    for (const policy of all) if (await canRead(request.principal, policy)) visible.push(policy)
    return visible
  })

  app.get<NameParams>('/api/v1/scan/policies/:name', { config: { access: 'authenticated' } }, async (request) => {
    const policy = await policies.get(request.params.name)
    // Those who may not manage (or review) it are not told it exists.
    if (!policy || !(await canRead(request.principal, policy))) throw notFound(`scan policy '${request.params.name}' does not exist`)
    return policy
  })

  const save = async (request: FastifyRequest, name: string, body: unknown, mustBeNew: boolean) => {
    const existing = await policies.get(name)
    if (existing && mustBeNew) throw new TroveError('CONFLICT', `scan policy '${name}' exists; PUT /api/v1/scan/policies/${name} replaces it`)
    if (existing) await requireManage(request, existing, `change policy '${name}'`)
    const policy = await policies.validate(name, body, principalName(request.principal), existing)
    await requireManage(request, policy, `set policy '${name}' on what it covers`)
    const isNew = await policies.put(policy)
    request.log.info({ policy: name, user: principalName(request.principal) }, isNew ? 'scan policy created' : 'scan policy replaced')
    return { policy, isNew }
  }

  app.post<{ Body: unknown }>('/api/v1/scan/policies', { config: { audit: { action: 'policy.create', target: (r) => String((r.body as { name?: unknown } | null)?.name ?? '') }, access: 'authenticated' } }, async (request, reply) => {
    const body = request.body
    const name = typeof body === 'object' && body !== null ? (body as { name?: unknown }).name : undefined
    if (typeof name !== 'string') throw new TroveError('BAD_REQUEST', 'the body must be a policy with a "name"')
    const { policy } = await save(request, name, body, true)
    return reply.status(201).send(policy)
  })

  app.put<NameParams & { Body: unknown }>('/api/v1/scan/policies/:name', { config: { audit: { action: 'policy.put' }, access: 'authenticated' } }, async (request, reply) => {
    const { policy, isNew } = await save(request, request.params.name, request.body, false)
    return reply.status(isNew ? 201 : 200).send(policy)
  })

  app.delete<NameParams>('/api/v1/scan/policies/:name', { config: { audit: { action: 'policy.delete' }, access: 'authenticated' } }, async (request, reply) => {
    const policy = await policies.get(request.params.name)
    if (!policy || !(await canManage(request.principal, policy))) throw notFound(`scan policy '${request.params.name}' does not exist`)
    await policies.delete(policy.name)
    request.log.info({ policy: policy.name, user: principalName(request.principal) }, 'scan policy deleted')
    return reply.status(204).send()
  })

  // --- Summaries.

  const repositoryRead = async (request: FastifyRequest, guard: AccessGuard) => {
    const repo = (request.params as { repo: string }).repo
    if (await reviewsRepository(services, request.principal, repo)) return
    await guard.require(request.principal, 'read', repo)
  }
  app.get<{ Params: { repo: string } }>('/api/v1/scan/repository/:repo/summary', { config: { access: repositoryRead } }, async (request) => {
    const repository = await repositories.require(request.params.repo)
    return { repo: repository.key, ...(await services.scanReports.summary([repository])) }
  })

  const projectMember = async (request: FastifyRequest) => {
    const key = (request.params as { key: string }).key
    const principal = request.principal
    if (principal.kind === 'anonymous') throw new TroveError('UNAUTHORIZED', 'authentication is required')
    if (principal.isAdmin || (await services.reviewers.reviewsProject(principal, key))) return
    const roles = await services.projects.rolesOf(principal.name, await services.groups.groupsOf(principal.name))
    if (!roles.has(key)) throw notFound(`project '${key}' does not exist`)
  }
  app.get<{ Params: { key: string } }>('/api/v1/scan/project/:key/summary', { config: { access: projectMember } }, async (request) => {
    const project = await services.projects.require(request.params.key)
    const keys = await services.projects.repositoryKeys(project.key)
    const members = (await Promise.all(keys.map((k) => repositories.get(k)))).filter((r) => r !== undefined)
    return { project: project.key, repositories: members.map((r) => r.key), ...(await services.scanReports.summary(members)) }
  })

  // --- The database sync.

  app.get('/api/v1/vulndb/sync', { config: { access: 'admin' } }, async () => ({
    ...(await services.vulndbSync.settings()),
    status: await services.vulndbSync.status(),
  }))
  app.put<{ Body: unknown }>('/api/v1/vulndb/sync', { config: { audit: { action: 'vulndb.sync.update', target: () => 'vulndb sync' }, access: 'admin' } }, async (request) => {
    const settings = await services.vulndbSync.update(request.body)
    request.log.info({ urls: settings.urls.length, intervalSecs: settings.intervalSecs }, 'vulnerability database sync configured')
    return { ...settings, status: await services.vulndbSync.status() }
  })
  app.post('/api/v1/vulndb/sync/run', { config: { audit: { action: 'vulndb.sync.run', target: () => 'vulndb sync' }, access: 'admin' } }, async (_request, reply) => {
    if ((await services.vulndbSync.settings()).urls.length === 0) throw new TroveError('BAD_REQUEST', 'no sync URLs are configured: PUT /api/v1/vulndb/sync {"urls": [...]} first')
    return reply.status(202).send({ job: await services.vulndbSync.requestRun() })
  })
}
