import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { UsageReport } from '../../api/lifecycle-usage.js'
import type { CoreServices } from '../../core/services.js'
import { refusal, type AccessGuard } from '../access.js'

type KeyParams = { Params: { key: string } }

/**
 * Usage reports (docs/lifecycle.md): a repository's for whoever may read it, a project's for its
 * members and admins; `POST /api/v1/usage/snapshot` takes today's snapshot now (admins; a job does
 * it on schedule).
 */
export async function lifecycleUsageRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const readable = async (request: FastifyRequest, guard: AccessGuard) => {
    await guard.require(request.principal, 'read', (request.params as { key: string }).key)
  }
  const member = async (request: FastifyRequest) => {
    const principal = request.principal
    const key = (request.params as { key: string }).key
    if (principal.kind !== 'user') throw refusal(principal, `read the usage of project '${key}'`)
    if (principal.isAdmin) return
    const roles = await services.projects.rolesOf(principal.name, await services.groups.groupsOf(principal.name))
    if (!roles.has(key)) throw refusal(principal, `read the usage of project '${key}'`)
  }

  app.get<KeyParams>('/api/v1/usage/repositories/:key', { config: { access: readable } }, async (request): Promise<UsageReport> => services.usage.repository(request.params.key))
  app.get<KeyParams>('/api/v1/usage/projects/:key', { config: { access: member } }, async (request): Promise<UsageReport> => {
    await services.projects.require(request.params.key)
    return services.usage.project(request.params.key)
  })
  app.post('/api/v1/usage/snapshot', { config: { access: 'admin', audit: { action: 'usage.snapshot', target: () => 'usage' } } }, async () => ({
    repositories: await services.usage.snapshot(),
  }))
}
