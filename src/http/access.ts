import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ChangeGuard } from '../core/artifacts/artifact-service.js'
import type { Authenticator } from '../core/auth/authenticator.js'
import type { Authorizer } from '../core/auth/authorizer.js'
import type { PathAccess } from '../core/auth/path-access.js'
import { ANONYMOUS, type Action, type Principal } from '../core/auth/principal.js'
import { TroveError } from '../core/errors.js'
import type { SystemSettings } from '../core/system/system-settings.js'
import { basicUserOf } from './audit.js'
import { isConsoleRequest, requireCsrfToken, sessionTokenOf } from './console-session.js'

/**
 * Who may call a route. Every route declares one (`config.access`); a route without it does not
 * start. `public` routes are open to anonymous callers; a function rule asks the authorizer.
 */
export type AccessRule = 'public' | 'authenticated' | 'admin' | ((request: FastifyRequest, guard: AccessGuard) => Promise<void>)

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessRule
    /** Writes through this route stay allowed in read-only mode (the switch itself). */
    allowWhenReadOnly?: boolean
    /** The route accepts registry tokens (scoped JWTs); every other route refuses them. */
    acceptsRegistryTokens?: boolean
    /** Bad credentials make the caller anonymous instead of failing: a login route, where a client may still send its expired token. */
    ignoresBadCredentials?: boolean
  }
  interface FastifyRequest {
    principal: Principal
  }
}

/** The one place that turns "may this principal do ACTION on REPO/PATH?" into 401/403. */
export class AccessGuard {
  constructor(private readonly authorizer: Authorizer) {}

  async require(principal: Principal, action: Action, repoKey: string, path?: string): Promise<void> {
    if (await this.authorizer.can(principal, action, repoKey, path)) return
    throw actionRefusal(principal, action, repoKey, path)
  }

  /** The paths of a repository the principal may do `action` on; refused, as by {@link require}, when there are none. */
  async requirePaths(principal: Principal, action: Action, repoKey: string): Promise<PathAccess> {
    const access = await this.authorizer.pathAccess(principal, action, repoKey)
    if (access.isNowhere) throw actionRefusal(principal, action, repoKey)
    return access
  }

  can(principal: Principal, action: Action, repoKey: string, path?: string): Promise<boolean> {
    return this.authorizer.can(principal, action, repoKey, path)
  }

  readable(principal: Principal, repoKeys: readonly string[]): Promise<Set<string>> {
    return this.authorizer.readableRepositories(principal, repoKeys)
  }
}

/** The refusal of `action` on a repository (at `path`, when given). */
export function actionRefusal(principal: Principal, action: Action, repoKey: string, path?: string): TroveError {
  return refusal(principal, `${action} on '${repoKey}${path ? `/${path}` : ''}'`)
}

/**
 * The guard of a change that reaches everything below `path` (a folder delete, a recursive
 * property change): `undefined` when the caller may do `action` on every path of the repository,
 * else one that refuses the whole change when something below is outside their rights
 * (docs/access.md, "Folder-wide changes"). The refusal names no path below: the caller may not
 * be allowed to read it.
 */
export async function folderChangeGuard(
  authorizer: Authorizer,
  principal: Principal,
  action: Action,
  repoKey: string,
  path: string,
): Promise<ChangeGuard | undefined> {
  const access = await authorizer.pathAccess(principal, action, repoKey)
  if (access.isEverywhere) return undefined
  const what = `${action} '${repoKey}/${path}' with everything in it: some of it is outside what they may ${action}`
  return { allows: (p) => access.file(p), refusal: () => refusal(principal, what) }
}

export function refusal(principal: Principal, what: string): TroveError {
  return principal.kind === 'anonymous'
    ? new TroveError('UNAUTHORIZED', `authentication is required for ${what}`)
    : new TroveError('DENIED', `user '${principal.name}' may not ${what}`)
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Installs, for every route of `app` and of every plugin registered after it: the read-only guard,
 * authentication, and the route's access rule.
 */
export function installAccessHooks(
  app: FastifyInstance,
  deps: { authenticator: Authenticator; guard: AccessGuard; settings: SystemSettings },
): void {
  // Set for every request by the onRequest hook below (Fastify forbids object defaults here).
  app.decorateRequest('principal', null as never)

  app.addHook('onRoute', (route) => {
    if (route.config?.access === undefined) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no access rule`)
    }
  })

  app.addHook('onRequest', async (request) => {
    request.principal = ANONYMOUS
    if (!SAFE_METHODS.has(request.method) && !request.routeOptions.config.allowWhenReadOnly) {
      const state = await deps.settings.readOnly()
      if (state.isReadOnly) throw new TroveError('READ_ONLY', state.message)
    }
    // The console's session cookie counts only without an Authorization header; a state-changing
    // call it authenticates must echo the CSRF token (see console-session.ts).
    const session = sessionTokenOf(request)
    request.principal =
      session === undefined ? await authenticateHeader(deps.authenticator, request) : await deps.authenticator.authenticateSession(session)
    if (session !== undefined && request.principal.kind === 'user' && !SAFE_METHODS.has(request.method)) requireCsrfToken(request, session)
    // A registry token is a credential for the registry API only: elsewhere it could reach what its
    // scope does not name (user records, new access tokens).
    const config = request.routeOptions.config
    if (request.principal.kind === 'user' && request.principal.scope && config.access !== undefined && !config.acceptsRegistryTokens) {
      throw new TroveError('UNAUTHORIZED', 'a registry token is accepted by the registry API (/v2/) only')
    }
  })

  // The console handles a 401 with its login page; the browser must not open its Basic dialog.
  app.addHook('onSend', async (request, reply) => {
    if (reply.statusCode === 401 && isConsoleRequest(request)) reply.removeHeader('www-authenticate')
  })

  app.addHook('preHandler', async (request) => {
    const rule = request.routeOptions.config.access
    if (rule === undefined || rule === 'public') return // unmatched routes (404) have no rule
    const principal = request.principal
    if (rule === 'authenticated' || rule === 'admin') {
      if (principal.kind === 'anonymous') throw new TroveError('UNAUTHORIZED', 'authentication is required')
      if (rule === 'admin' && !principal.isAdmin) throw new TroveError('DENIED', `user '${principal.name}' is not an administrator`)
      return
    }
    await rule(request, deps.guard)
  })
}

/** The caller an `Authorization` header names; on a route that `ignoresBadCredentials`, bad ones make it anonymous. */
async function authenticateHeader(authenticator: Authenticator, request: FastifyRequest): Promise<Principal> {
  try {
    return await authenticator.authenticate(request.headers.authorization, request.ip)
  } catch (err) {
    // A refused password or token under Basic is a failed sign-in: the audit log names the account tried.
    if (request.audit) request.audit.attemptedUser = basicUserOf(request.headers.authorization)
    if (request.routeOptions.config.ignoresBadCredentials && err instanceof TroveError && err.code === 'UNAUTHORIZED') return ANONYMOUS
    throw err
  }
}
