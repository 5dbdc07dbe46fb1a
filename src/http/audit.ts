import type { FastifyInstance, FastifyRequest } from 'fastify'
import { projectKeyPrefix } from '../core/auth/projects.js'
import type { AuditLog, AuditOutcome } from '../core/operations/audit-log.js'
import type { CoreServices } from '../core/services.js'

/**
 * A route whose calls are audited: the action's name, and where its target and project come
 * from (by default the target is the `key`, `name`, `id` or `repo` parameter, and there is no project).
 */
export interface AuditRule {
  readonly action: string
  readonly target?: (request: FastifyRequest) => string | undefined
  /** The project the target belongs to; `repository` derives it from the target, a repository key. */
  readonly project?: 'repository' | 'key' | ((request: FastifyRequest) => string | undefined)
}

/** What a handler adds to its route's audit record (who signed in, which token was created). */
export interface AuditNote {
  /** The account acted as, when the principal is not it yet (a sign-in). */
  actor?: string
  target?: string
  project?: string
  details?: Record<string, unknown>
  /** The user a refused `Authorization: Basic` header named (a failed sign-in). */
  attemptedUser?: string
  isRecorded?: boolean
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Calls of this route go to the audit log (src/http/audit.ts). */
    audit?: AuditRule
  }
  interface FastifyRequest {
    audit: AuditNote
  }
}

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'success'
  return status === 401 || status === 403 ? 'denied' : 'failure'
}

/**
 * Records, once per request and before the answer leaves, every call of an audited route, every
 * DELETE (whatever route or format serves it), and every request whose Basic credentials were
 * refused (a failed sign-in). Installed before the access hooks, so that refusals are seen too.
 */
export function installAuditHooks(app: FastifyInstance, services: Pick<CoreServices, 'projects' | 'notifications'> & { audit: AuditLog }): void {
  app.decorateRequest('audit', null as never)
  app.addHook('onRequest', async (request) => {
    request.audit = {}
  })

  app.addHook('onSend', async (request, reply, payload) => {
    const note = request.audit
    if (note === null || note.isRecorded) return payload
    const rule = request.routeOptions.config?.audit
    const status = reply.statusCode
    const path = (request.url.split('?')[0] ?? '').slice(0, 1024)
    let action: string
    let target: string
    let project: string | undefined = note.project
    if (rule) {
      action = rule.action
      target = note.target ?? rule.target?.(request) ?? defaultTarget(request) ?? path
      if (project === undefined) project = await projectOf(rule, request, target, services)
    } else if (request.method === 'DELETE' && request.routeOptions.url !== undefined) {
      action = 'artifact.delete'
      target = note.target ?? path
    } else if ((status === 401 || status === 429) && note.attemptedUser !== undefined) {
      action = 'auth.sign-in'
      target = note.attemptedUser
    } else {
      return payload
    }
    note.isRecorded = true
    try {
      await services.audit.record({
        actor: note.actor ?? (request.principal?.kind === 'user' ? request.principal : note.attemptedUser ?? request.principal ?? 'anonymous'),
        address: request.ip,
        action,
        target,
        project,
        outcome: outcomeOf(status),
        status,
        details: note.details,
      })
    } catch (err) {
      request.log.error({ err, action, target }, 'could not write the audit log')
    }
    if (action === 'artifact.delete' && status < 300) {
      const repo = /^\/artifactory\/(?:api\/[a-z]+\/)?([^/]+)\//.exec(target)?.[1]
      const project = repo === undefined ? undefined : projectKeyPrefix(repo)
      void services.notifications.emit({ type: 'artifact.deleted', project, text: `Deleted ${target}`, data: { path: target, by: request.principal?.kind === 'user' ? request.principal.name : 'anonymous' } })
    }
    return payload
  })
}

function defaultTarget(request: FastifyRequest): string | undefined {
  const params = (request.params ?? {}) as Record<string, string | undefined>
  return params.key ?? params.name ?? params.id ?? params.repo
}

async function projectOf(
  rule: AuditRule,
  request: FastifyRequest,
  target: string,
  services: Pick<CoreServices, 'projects'>,
): Promise<string | undefined> {
  if (rule.project === undefined) return undefined
  if (rule.project === 'key') return (request.params as { key?: string }).key
  if (typeof rule.project === 'function') return rule.project(request)
  const prefix = projectKeyPrefix(target)
  return prefix !== undefined && (await services.projects.get(prefix)) !== undefined ? prefix : undefined
}

/** The user name of an `Authorization: Basic` header, if it is one. */
export function basicUserOf(authorization: string | undefined): string | undefined {
  const match = /^basic\s+(\S+)/i.exec(authorization ?? '')
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon > 0 ? decoded.slice(0, colon).slice(0, 256) : undefined
}
