import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { TroveError } from '../core/errors.js'
import { stateOf, type MaintenanceState, type MaintenanceWindow } from '../core/operations/maintenance.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The maintenance window announced or in progress when the request arrived. */
    maintenance: MaintenanceWindow | null
  }
}

/** The header naming the window on every response, from its announcement to its end. */
export const MAINTENANCE_HEADER = 'x-trove-maintenance'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * What stays open during an outage: the console (its banner says why), its session, single
 * sign-on, health probes and the system API (where an admin ends the window early).
 */
const OPEN_DURING_OUTAGE = [/^\/$/, /^\/ui(\/|$)/, /^\/api\/v1\/ui\//, /^\/api\/v1\/system\//, /^\/artifactory\/api\/v1\/system\/(liveness|readiness)$/, /^\/artifactory\/api\/system\/ping$/, /^\/auth\/sso\//]

/**
 * Maintenance windows on every request (docs/operations.md): while one is active the node refuses
 * writes (read-only, 503 as the manual switch does) or everything but the console and the system
 * API (outage, 503); from its announcement to its end every answer names it in a header, and in
 * `npm-notice`, which the npm client prints. Installed after the access hooks: a caller is known.
 */
export function installMaintenanceHooks(app: FastifyInstance, state: MaintenanceState): { enforce(): void } {
  app.decorateRequest('maintenance', null)

  // First of all: every answer names the window, a refused login (401) included.
  app.addHook('onRequest', async (request, reply) => {
    try {
      request.maintenance = (await state.current()) ?? null
    } catch (err) {
      // The metadata store is failing: the request will find out on its own; readiness reports it.
      request.log.warn({ err }, 'could not read the maintenance windows')
      return
    }
    // Set now, not only when sending: streamed answers (send.ts) write the headers set so far themselves.
    if (request.maintenance) setHeaders(reply, request.maintenance)
  })

  app.addHook('onSend', async (request, reply, payload) => {
    const window = request.maintenance
    if (window) {
      setHeaders(reply, window)
      if (window.kind === 'outage' && reply.statusCode === 503) reply.header('retry-after', String(Math.max(1, Math.ceil((window.endsAt - Date.now()) / 1000))))
    }
    return payload
  })

  return {
    /** Installs the refusals; call after the access hooks, so that the caller is known when refused. */
    enforce() {
      app.addHook('onRequest', async (request) => {
        const window = request.maintenance
        if (!window || stateOf(window) !== 'active') return
        const until = new Date(window.endsAt).toISOString()
        if (window.kind === 'outage' && !isOpenDuringOutage(request)) {
          throw new TroveError('UNAVAILABLE', `Trove is down for maintenance until ${until}: ${window.message}`)
        }
        if (!SAFE_METHODS.has(request.method) && !request.routeOptions.config?.allowWhenReadOnly) {
          throw new TroveError('READ_ONLY', `Trove is read-only for maintenance until ${until}: ${window.message}`)
        }
      })
    },
  }
}

function setHeaders(reply: FastifyReply, window: MaintenanceWindow): void {
  reply.header(MAINTENANCE_HEADER, headerValue(window))
  reply.header('npm-notice', noticeText(window))
}

function isOpenDuringOutage(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0] ?? ''
  return OPEN_DURING_OUTAGE.some((pattern) => pattern.test(path))
}

/** `id="…"; kind="read-only"; state="scheduled"; start="…"; end="…"` */
export function headerValue(window: MaintenanceWindow): string {
  return [
    `id="${window.id}"`,
    `kind="${window.kind}"`,
    `state="${stateOf(window)}"`,
    `start="${new Date(window.startsAt).toISOString()}"`,
    `end="${new Date(window.endsAt).toISOString()}"`,
  ].join('; ')
}

/** One line of printable ASCII (a header value cannot carry more). */
export function noticeText(window: MaintenanceWindow): string {
  const when = `${new Date(window.startsAt).toISOString()} to ${new Date(window.endsAt).toISOString()}`
  const what = window.kind === 'outage' ? 'outage' : 'read-only'
  const text = `Trove maintenance (${what}) ${stateOf(window) === 'active' ? 'in progress' : 'scheduled'}, ${when}: ${window.message}`
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 1000)
}
