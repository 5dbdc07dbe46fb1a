import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Principal } from '../../core/auth/principal.js'
import { principalName } from '../../core/auth/principal.js'
import { TroveError, denied, unauthorized } from '../../core/errors.js'
import type { ReviewerGrant } from '../../core/operations/reviewers.js'
import type { CoreServices } from '../../core/services.js'

/** Whether the principal is a security reviewer of the repository (globally, or of its project). */
export async function reviewsRepository(services: CoreServices, principal: Principal, repoKey: string): Promise<boolean> {
  if (principal.kind !== 'user') return false
  const repository = await services.repositories.get(repoKey)
  if (!repository) return false
  const project = repository.config.projectKey
  return services.reviewers.reviewsProject(principal, typeof project === 'string' && project !== '' ? project : undefined)
}

type GrantParams = { Params: { kind: string; name: string; key?: string } }

/**
 * Security-reviewer grants: global ones by admins (`/api/v1/security/reviewers/{users|groups}/{name}`),
 * a project's by its Project Admins (`/access/api/v1/projects/{key}/reviewers/{users|groups}/{name}`).
 */
export async function reviewerRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const reviewers = services.reviewers
  const kindOf = (segment: string) => {
    if (segment === 'users') return 'user'
    if (segment === 'groups') return 'group'
    throw new TroveError('NOT_FOUND', `no such resource: reviewers/${segment} (users or groups)`)
  }
  const projectAdmin = async (request: FastifyRequest) => {
    const principal = request.principal
    if (principal.kind === 'anonymous') throw unauthorized('authentication is required')
    const key = (request.params as { key: string }).key
    if (!(await services.authorizer.administersProject(principal, key, 'manageMembers'))) throw denied(`user '${principal.name}' is not a Project Admin of '${key}'`)
  }

  app.get<{ Querystring: { project?: string } }>('/api/v1/security/reviewers', { config: { access: 'admin' } }, async (request) => ({
    reviewers: (await reviewers.list(request.query.project ? request.query.project : 'all')).map(grantBody),
  }))
  app.put<GrantParams>('/api/v1/security/reviewers/:kind/:name', { config: { access: 'admin', audit: { action: 'reviewer.grant', target: grantTarget } } }, async (request) =>
    grantBody(await reviewers.grant(kindOf(request.params.kind), request.params.name, null, principalName(request.principal))),
  )
  app.delete<GrantParams>('/api/v1/security/reviewers/:kind/:name', { config: { access: 'admin', audit: { action: 'reviewer.revoke', target: grantTarget } } }, async (request, reply) => {
    await reviewers.revoke(kindOf(request.params.kind), request.params.name, null)
    return reply.status(204).send()
  })

  app.get<GrantParams>('/access/api/v1/projects/:key/reviewers', { config: { access: projectAdmin } }, async (request) => ({
    reviewers: (await reviewers.list(request.params.key!)).map(grantBody),
  }))
  app.put<GrantParams>('/access/api/v1/projects/:key/reviewers/:kind/:name', { config: { access: projectAdmin, audit: { action: 'reviewer.grant', target: grantTarget, project: 'key' } } }, async (request) => {
    await services.projects.require(request.params.key!)
    return grantBody(await reviewers.grant(kindOf(request.params.kind), request.params.name, request.params.key!, principalName(request.principal)))
  })
  app.delete<GrantParams>('/access/api/v1/projects/:key/reviewers/:kind/:name', { config: { access: projectAdmin, audit: { action: 'reviewer.revoke', target: grantTarget, project: 'key' } } }, async (request, reply) => {
    await reviewers.revoke(kindOf(request.params.kind), request.params.name, request.params.key!)
    return reply.status(204).send()
  })
}

function grantTarget(request: FastifyRequest): string {
  const { kind, name, key } = request.params as { kind: string; name: string; key?: string }
  return `${kind}/${name}${key ? ` on ${key}` : ''}`
}

function grantBody(grant: ReviewerGrant) {
  return { kind: grant.kind, name: grant.name, project: grant.project, grantedBy: grant.grantedBy, grantedAt: new Date(grant.grantedAt).toISOString() }
}
