import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { CreatedWebhookBody, WebhookBody, WebhookDeliveryBody } from '../../api/operations.js'
import { principalName } from '../../core/auth/principal.js'
import { TroveError, denied, unauthorized } from '../../core/errors.js'
import type { Webhook } from '../../core/operations/webhooks.js'
import type { CoreServices } from '../../core/services.js'

type IdParams = { Params: { id: string } }

/**
 * Outgoing webhooks: admins manage system webhooks (every event) and any project's; a Project Admin
 * manages their project's (`"project"` in the body, `?project=` when listing).
 */
export async function webhookRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const webhooks = services.webhooks

  /** Refuses unless the caller may manage the webhooks of `project` (null: system webhooks, admins only). */
  const requireManager = async (request: FastifyRequest, project: string | null) => {
    const principal = request.principal
    if (principal.kind === 'anonymous') throw unauthorized('authentication is required')
    if (principal.isAdmin) return
    if (project === null) throw denied(`user '${principal.name}' is not an administrator (a Project Admin manages the webhooks of their project: give "project")`)
    if (!(await services.authorizer.administersProject(principal, project, 'manageMembers'))) throw denied(`user '${principal.name}' is not a Project Admin of '${project}'`)
  }
  const owned = async (request: FastifyRequest) => {
    const hook = await webhooks.require((request.params as { id: string }).id)
    await requireManager(request, hook.project).catch((err: unknown) => {
      // Another project's webhook is reported missing: ids are not to be probed.
      if (err instanceof TroveError && err.code === 'DENIED') throw new TroveError('NOT_FOUND', `webhook '${hook.id}' does not exist`)
      throw err
    })
    return hook
  }

  app.get<{ Querystring: { project?: string } }>('/api/v1/webhooks', { config: { access: 'authenticated' } }, async (request) => {
    const project = request.query.project || null
    await requireManager(request, project)
    const isAdmin = request.principal.kind === 'user' && request.principal.isAdmin
    return { webhooks: (await webhooks.list(project === null && isAdmin ? 'all' : project)).map(webhookBody) }
  })

  app.post<{ Body: unknown }>('/api/v1/webhooks', { config: { access: 'authenticated', audit: { action: 'webhook.create', target: () => 'webhook', project: projectOfBody } } }, async (request, reply) => {
    const body = objectBody(request.body)
    const project = typeof body.project === 'string' && body.project !== '' ? body.project : null
    await requireManager(request, project)
    if (project !== null) await services.projects.require(project)
    const { webhook, secret } = await webhooks.create(body, principalName(request.principal), project)
    request.audit.target = webhook.id
    request.audit.details = { name: webhook.name, url: webhook.url, events: webhook.events }
    return reply.status(201).send({ ...webhookBody(webhook), secret } satisfies CreatedWebhookBody)
  })

  app.get<IdParams>('/api/v1/webhooks/:id', { config: { access: 'authenticated' } }, async (request) => webhookBody(await owned(request)))

  app.put<IdParams & { Body: unknown }>('/api/v1/webhooks/:id', { config: { access: 'authenticated', audit: { action: 'webhook.update' } } }, async (request) => {
    const hook = await owned(request)
    request.audit.project = hook.project ?? undefined
    return webhookBody(await webhooks.update(hook.id, objectBody(request.body)))
  })

  app.delete<IdParams>('/api/v1/webhooks/:id', { config: { access: 'authenticated', audit: { action: 'webhook.delete' } } }, async (request, reply) => {
    const hook = await owned(request)
    request.audit.project = hook.project ?? undefined
    await webhooks.delete(hook.id)
    return reply.status(204).send()
  })

  app.get<IdParams>('/api/v1/webhooks/:id/deliveries', { config: { access: 'authenticated' } }, async (request) => {
    const hook = await owned(request)
    return {
      deliveries: (await webhooks.deliveries(hook.id)).map(
        (d): WebhookDeliveryBody => ({
          id: d.id,
          event: d.event,
          status: d.status,
          attempts: d.attempts,
          responseStatus: d.responseStatus,
          error: d.error,
          createdAt: new Date(d.createdAt).toISOString(),
          updatedAt: new Date(d.updatedAt).toISOString(),
        }),
      ),
    }
  })
}

function projectOfBody(request: FastifyRequest): string | undefined {
  const project = (request.body as { project?: unknown } | null)?.project
  return typeof project === 'string' && project !== '' ? project : undefined
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
  return body as Record<string, unknown>
}

function webhookBody(hook: Webhook): WebhookBody {
  return {
    id: hook.id,
    name: hook.name,
    url: hook.url,
    events: hook.events,
    project: hook.project,
    minSeverity: hook.minSeverity,
    enabled: hook.isEnabled,
    createdBy: hook.createdBy,
    createdAt: new Date(hook.createdAt).toISOString(),
  }
}
