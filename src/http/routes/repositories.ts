import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { CoreServices } from '../../core/services.js'
import { notFound } from '../../core/errors.js'
import { publicConfig, type Repository } from '../../core/repositories/repository-service.js'
import type { AccessGuard } from '../access.js'
import { baseUrlOf } from '../urls.js'

type KeyParams = { Params: { key: string } }

/** Artifactory's repository configuration API, plus Trove's per-repository grants. */
export async function repositoryRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const { repositories, grants } = services

  app.get<{ Querystring: { type?: string; packageType?: string } }>(
    '/artifactory/api/repositories',
    { config: { access: 'public' } },
    async (request) => {
      const all = await repositories.list({ rclass: request.query.type, packageType: request.query.packageType })
      const readable = await services.authorizer.readableRepositories(request.principal, all.map((r) => r.key))
      const base = baseUrlOf(request, services.config.baseUrl)
      return all.filter((r) => readable.has(r.key)).map((r) => summary(r, base))
    },
  )

  app.get<KeyParams>(
    '/artifactory/api/repositories/:key',
    { config: { access: async (request, guard) => guard.require(request.principal, 'read', paramKey(request)) } },
    async (request) => publicConfig((await repositories.require(request.params.key)).config),
  )

  // Creating, changing and deleting a repository is its `manage` action: system admins, and Project
  // Admins for their project's repositories (keys `<project>-…`, config field `projectKey`).
  const manage = async (request: FastifyRequest, guard: AccessGuard) => guard.require(request.principal, 'manage', paramKey(request))

  app.put<KeyParams & { Body: unknown }>('/artifactory/api/repositories/:key', { config: { audit: { action: 'repository.create', project: 'repository' }, access: manage } }, async (request, reply) => {
    const body = await services.projects.repositoryBody(request.params.key, request.body, undefined)
    // A federated repository is created (or joined) on its members too (src/core/federation/).
    if (isFederatedBody(body)) await services.federation.create(request.params.key, body, `${baseUrlOf(request, services.config.baseUrl)}/artifactory/${request.params.key}`)
    else await repositories.create(request.params.key, body)
    return reply.status(200).type('text/plain; charset=utf-8').send(`Successfully created repository '${request.params.key}'`)
  })

  app.post<KeyParams & { Body: unknown }>('/artifactory/api/repositories/:key', { config: { audit: { action: 'repository.update', project: 'repository' }, access: manage } }, async (request, reply) => {
    const existing = await repositories.require(request.params.key)
    await repositories.update(request.params.key, await services.projects.repositoryBody(request.params.key, request.body, existing))
    services.remote.reset(request.params.key)
    // Every other node forgets what it remembered of this repository's upstream, within a second.
    await services.changes.publish('repositories')
    return reply.status(200).type('text/plain; charset=utf-8').send(`Repository '${request.params.key}' update successful.`)
  })

  app.delete<KeyParams>('/artifactory/api/repositories/:key', { config: { audit: { action: 'repository.delete', project: 'repository' }, access: manage } }, async (request, reply) => {
    const project = (await repositories.require(request.params.key)).config.projectKey
    await repositories.delete(request.params.key)
    await services.changes.publish('repositories')
    // Deleting a whole repository bypasses the per-asset quota accounting: count the project again.
    if (typeof project === 'string') await services.quota.recompute(project, await services.projects.repositoryKeys(project))
    return reply.status(200).type('text/plain; charset=utf-8').send(`Repository '${request.params.key}' and all its content have been removed successfully.`)
  })

  // Trove: a simple per-repository grant of actions to a user (projects and permission targets build on it).
  app.get<KeyParams>('/api/v1/repositories/:key/grants', { config: { access: 'admin' } }, async (request) => {
    await repositories.require(request.params.key)
    return { grants: await grants.list(request.params.key) }
  })

  app.put<{ Params: { key: string; user: string }; Body: { actions?: unknown } }>(
    '/api/v1/repositories/:key/grants/:user',
    { config: { audit: { action: 'repository.grant.set', target: grantTarget, project: 'repository' }, access: 'admin' } },
    async (request) => {
      const { key, user } = request.params
      await repositories.require(key)
      await services.users.require(user)
      const actions = request.body?.actions
      await grants.set(key, user, Array.isArray(actions) ? actions.map(String) : [])
      return { grants: await grants.list(key) }
    },
  )

  app.delete<{ Params: { key: string; user: string } }>(
    '/api/v1/repositories/:key/grants/:user',
    { config: { audit: { action: 'repository.grant.remove', target: grantTarget, project: 'repository' }, access: 'admin' } },
    async (request, reply) => {
      await grants.remove(request.params.key, request.params.user)
      return reply.status(204).send()
    },
  )
}

/** `repository user:name` of a grant route. */
function grantTarget(request: FastifyRequest): string {
  const { key, user } = request.params as { key: string; user: string }
  return `${key} user:${user}`
}

function isFederatedBody(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && String((body as { rclass?: unknown }).rclass).toLowerCase() === 'federated'
}

function paramKey(request: { params: unknown }): string {
  const key = (request.params as { key?: string }).key
  if (!key) throw notFound('no repository key')
  return key
}

/** Artifactory's list entry: `type` is the class in upper case. */
function summary(repository: Repository, base: string) {
  return {
    key: repository.key,
    type: repository.config.rclass.toUpperCase(),
    description: repository.config.description ?? '',
    url: `${base}/artifactory/${repository.key}`,
    packageType: repository.packageType,
  }
}
