import type { FastifyInstance } from 'fastify'
import type { MaintenanceList, MaintenanceWindowBody } from '../../api/operations.js'
import { principalName } from '../../core/auth/principal.js'
import { TroveError } from '../../core/errors.js'
import { windowData } from '../../core/operations/maintenance-clock.js'
import { stateOf, type MaintenanceWindow } from '../../core/operations/maintenance.js'
import type { CoreServices } from '../../core/services.js'

/**
 * Maintenance windows: `GET /api/v1/system/maintenance` for everyone (the console's banner, the
 * login page included), scheduling and changing them for admins. Both stay open while a window
 * is active: an admin ends it early from there.
 */
export async function maintenanceRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const windows = services.maintenance

  app.get('/api/v1/system/maintenance', { config: { access: 'public' } }, async (request) => {
    const isAdmin = request.principal.kind === 'user' && request.principal.isAdmin
    const list = await windows.list()
    const current = await windows.current()
    const body: MaintenanceList = {
      windows: list.map((w) => windowBody(w, isAdmin)),
      current: current ? windowBody(current, isAdmin) : null,
      noticeSecs: Math.round(windows.noticeMs / 1000),
    }
    return body
  })

  app.post<{ Body: unknown }>(
    '/api/v1/system/maintenance',
    { config: { access: 'admin', allowWhenReadOnly: true, audit: { action: 'maintenance.create', target: () => 'maintenance' } } },
    async (request, reply) => {
      const window = await windows.schedule(objectBody(request.body), principalName(request.principal))
      request.audit.target = window.id
      request.audit.details = { ...windowData(window), ...(window.forcedReason !== null ? { forcedReason: window.forcedReason } : {}) }
      await announce(services, window, 'announced')
      return reply.status(201).send(windowBody(window, true))
    },
  )

  app.patch<{ Params: { id: string }; Body: unknown }>(
    '/api/v1/system/maintenance/:id',
    { config: { access: 'admin', allowWhenReadOnly: true, audit: { action: 'maintenance.change' } } },
    async (request) => {
      const window = await windows.change(request.params.id, objectBody(request.body))
      request.audit.details = windowData(window)
      await announce(services, window, window.cancelledAt !== null ? 'cancelled' : 'changed')
      return windowBody(window, true)
    },
  )
}

async function announce(services: CoreServices, window: MaintenanceWindow, what: 'announced' | 'changed' | 'cancelled'): Promise<void> {
  const when = `${new Date(window.startsAt).toISOString()} to ${new Date(window.endsAt).toISOString()}`
  const text =
    what === 'cancelled' ? `Maintenance cancelled (was ${when}): ${window.message}` : `Maintenance ${what === 'changed' ? 're-announced' : 'announced'} (${window.kind}), ${when}: ${window.message}`
  await services.notifications.emit({ type: 'maintenance.announced', text, data: { ...windowData(window), change: what } })
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
  return body as Record<string, unknown>
}

export function windowBody(window: MaintenanceWindow, isAdmin: boolean): MaintenanceWindowBody {
  return {
    ...windowData(window),
    state: stateOf(window),
    forcedReason: isAdmin ? window.forcedReason : null,
    createdBy: isAdmin ? window.createdBy : '',
    announcedAt: new Date(window.announcedAt).toISOString(),
  }
}
