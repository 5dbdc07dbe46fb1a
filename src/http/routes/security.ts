import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { CreatedTokenBody, TokenList, UserBody, UserSummary } from '../../api/security.js'
import type { CoreServices } from '../../core/services.js'
import { TroveError, denied, invalidField, notFound } from '../../core/errors.js'
import type { User, UserInput } from '../../core/auth/user-service.js'
import { PROJECT_ROLES } from '../../core/auth/projects.js'
import { parseTokenScope, type CreatedToken, type TokenScope } from '../../core/auth/token-service.js'
import { mintingBoundOf } from '../../core/auth/token-minting.js'
import { targetBody } from '../../core/auth/permission-targets.js'
import { baseUrlOf } from '../urls.js'

type NameParams = { Params: { name: string } }

/** Artifactory's users API (`/artifactory/api/security/users`) and access tokens (`/access/api/v1/tokens`). */
export async function securityRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const { users, tokens } = services

  app.get('/artifactory/api/security/users', { config: { access: 'admin' } }, async (request) => {
    const base = baseUrlOf(request, services.config.baseUrl)
    return (await users.list()).map((u): UserSummary => ({ name: u.name, uri: `${base}/artifactory/api/security/users/${encodeURIComponent(u.name)}`, realm: 'internal' }))
  })

  // A user may read their own record; admins any.
  app.get<NameParams>(
    '/artifactory/api/security/users/:name',
    { config: { access: async (request) => requireSelfOrAdmin(request, (request.params as { name: string }).name) } },
    async (request) => userBody(await users.require(request.params.name)),
  )

  app.put<NameParams & { Body: unknown }>('/artifactory/api/security/users/:name', { config: { audit: { action: 'user.put' }, access: 'admin' } }, async (request, reply) => {
    const { created } = await users.put(request.params.name, userInput(request.body))
    return reply.status(created ? 201 : 200).send()
  })

  app.post<NameParams & { Body: unknown }>('/artifactory/api/security/users/:name', { config: { audit: { action: 'user.update' }, access: 'admin' } }, async (request, reply) => {
    await users.update(request.params.name, userInput(request.body))
    return reply.status(200).send()
  })

  app.delete<NameParams>('/artifactory/api/security/users/:name', { config: { audit: { action: 'user.delete' }, access: 'admin' } }, async (request, reply) => {
    await users.delete(request.params.name)
    return reply.type('text/plain; charset=utf-8').send(`User '${request.params.name}' has been removed successfully.`)
  })

  // Groups (Artifactory's `/api/security/groups`), members as `userNames`.
  app.get('/artifactory/api/security/groups', { config: { access: 'admin' } }, async (request) => {
    const base = baseUrlOf(request, services.config.baseUrl)
    return (await services.groups.list()).map((g) => ({ name: g.name, uri: `${base}/artifactory/api/security/groups/${encodeURIComponent(g.name)}` }))
  })

  app.get<NameParams>('/artifactory/api/security/groups/:name', { config: { access: 'admin' } }, async (request) => {
    const group = await services.groups.require(request.params.name)
    return { ...group.attributes, name: group.name, description: group.description, autoJoin: group.autoJoin, adminPrivileges: false, realm: group.realm, userNames: group.userNames }
  })

  app.put<NameParams & { Body: unknown }>('/artifactory/api/security/groups/:name', { config: { audit: { action: 'group.put' }, access: 'admin' } }, async (request, reply) => {
    const { created } = await services.groups.put(request.params.name, request.body, false)
    return reply.status(created ? 201 : 200).send()
  })

  app.post<NameParams & { Body: unknown }>('/artifactory/api/security/groups/:name', { config: { audit: { action: 'group.update' }, access: 'admin' } }, async (request, reply) => {
    await services.groups.put(request.params.name, request.body, true)
    return reply.status(200).send()
  })

  app.delete<NameParams>('/artifactory/api/security/groups/:name', { config: { audit: { action: 'group.delete' }, access: 'admin' } }, async (request, reply) => {
    await services.groups.delete(request.params.name)
    return reply.type('text/plain; charset=utf-8').send(`Group '${request.params.name}' has been removed successfully.`)
  })

  // Permission targets (Artifactory's v2 API): repositories outside projects, for users and groups.
  const targets = services.permissionTargets
  const exists = {
    users: async (names: string[]) => {
      for (const name of names) if (!(await users.get(name))) throw invalidField('repo.actions.users', `repo.actions.users: no such user '${name}'`)
    },
    groups: (names: string[]) => services.groups.assertExists(names),
  }
  app.get('/artifactory/api/v2/security/permissions', { config: { access: 'admin' } }, async (request) => {
    const base = baseUrlOf(request, services.config.baseUrl)
    return (await targets.list()).map((t) => ({ name: t.name, uri: `${base}/artifactory/api/v2/security/permissions/${encodeURIComponent(t.name)}` }))
  })
  app.get<NameParams>('/artifactory/api/v2/security/permissions/:name', { config: { access: 'admin' } }, async (request) => targetBody(await targets.require(request.params.name)))
  app.post<NameParams & { Body: unknown }>('/artifactory/api/v2/security/permissions/:name', { config: { audit: { action: 'permission.create' }, access: 'admin' } }, async (request, reply) => {
    await targets.put(request.params.name, request.body, 'create', exists)
    return reply.status(201).send()
  })
  // PUT replaces, and creates when missing (what the Artifactory CLI expects of an "update").
  app.put<NameParams & { Body: unknown }>('/artifactory/api/v2/security/permissions/:name', { config: { audit: { action: 'permission.put' }, access: 'admin' } }, async (request, reply) => {
    const isNew = (await targets.get(request.params.name)) === undefined
    await targets.put(request.params.name, request.body, isNew ? 'create' : 'replace', exists)
    return reply.status(isNew ? 201 : 200).send()
  })
  app.delete<NameParams>('/artifactory/api/v2/security/permissions/:name', { config: { audit: { action: 'permission.delete' }, access: 'admin' } }, async (request, reply) => {
    await targets.delete(request.params.name)
    return reply.type('text/plain; charset=utf-8').send(`Permission Target '${request.params.name}' has been removed successfully.`)
  })

  // Tokens. Artifactory accepts form-encoded or JSON bodies here.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  // Creating a token needs a login; refreshing one (grant_type=refresh_token) needs only the
  // refresh token, and the expired token a client still sends must not stand in the way.
  const tokenAccess = async (request: FastifyRequest) => {
    const body = request.body as Record<string, unknown> | undefined
    if (body?.grant_type === 'refresh_token') return
    if (request.principal.kind === 'anonymous') throw new TroveError('UNAUTHORIZED', 'authentication is required')
  }

  app.post<{ Body: Record<string, unknown> | undefined }>(
    '/access/api/v1/tokens',
    { config: { audit: { action: 'token.create', target: tokenSubject }, access: tokenAccess, ignoresBadCredentials: true } },
    async (request) => {
      const body = request.body ?? {}
      if (body.grant_type !== undefined && body.grant_type !== 'refresh_token' && body.grant_type !== 'client_credentials') {
        throw invalidField('grant_type', `unsupported grant_type '${String(body.grant_type)}' (use client_credentials or refresh_token)`)
      }
      if (body.grant_type === 'refresh_token') {
        const refreshToken = optionalString(body, 'refresh_token')
        if (!refreshToken) throw invalidField('refresh_token', 'refresh_token is required with grant_type=refresh_token')
        const refreshed = await tokens.refresh(refreshToken, optionalString(body, 'access_token'))
        if (!refreshed) throw new TroveError('UNAUTHORIZED', 'the refresh token is invalid or was already used')
        request.log.info({ subject: refreshed.subject, tokenId: refreshed.id }, 'access token refreshed')
        request.audit.actor = refreshed.subject
        request.audit.target = refreshed.subject
        request.audit.details = { tokenId: refreshed.id, grant: 'refresh_token' }
        return tokenBody(refreshed)
      }
      const principal = request.principal
      if (principal.kind !== 'user') throw new TroveError('UNAUTHORIZED', 'authentication is required')
      const subject = optionalString(body, 'username') ?? principal.name
      await users.require(subject)
      if (subject !== principal.name && !principal.isAdmin) {
        // A Project Admin issues the tokens of their project's service accounts.
        const account = (await users.serviceAccounts()).find((a) => a.name === subject)
        if (!account || !(await services.authorizer.administersProject(principal, account.projectKey, 'manageMembers'))) {
          throw denied('only administrators create tokens for other users (and Project Admins for their service accounts)')
        }
      }
      const rawExpiry = body.expires_in
      const expiresIn = rawExpiry === undefined || rawExpiry === '' ? undefined : typeof rawExpiry === 'number' || (typeof rawExpiry === 'string' && /^\d+$/.test(rawExpiry)) ? Number(rawExpiry) : Number.NaN
      if (expiresIn !== undefined && !Number.isSafeInteger(expiresIn)) throw invalidField('expires_in', 'expires_in must be a whole number of seconds')
      const scope = optionalString(body, 'scope')
      if (scope !== undefined) await checkScopeNames(services, subject, parseTokenScope(scope))
      const rawRefreshable = body.refreshable
      if (rawRefreshable !== undefined && typeof rawRefreshable !== 'boolean' && rawRefreshable !== 'true' && rawRefreshable !== 'false') {
        throw invalidField('refreshable', 'refreshable must be true or false')
      }
      // Within the caller's own credential: its scope and its expiry (token-minting.ts).
      const created = await tokens.create({
        subject,
        description: optionalString(body, 'description'),
        scope,
        expiresInSecs: expiresIn,
        refreshable: rawRefreshable === true || rawRefreshable === 'true',
        bound: mintingBoundOf(principal),
      })
      request.audit.details = { tokenId: created.id, ...(created.scope ? { scope: created.scope } : {}), ...(created.expiresAt ? { expiresAt: new Date(created.expiresAt).toISOString() } : {}) }
      return tokenBody(created)
    },
  )

  /** Whether the caller is a Project Admin (managing members) of the project whose service account `name` is. */
  const administersServiceAccount = async (request: FastifyRequest, name: string) => {
    const account = (await users.serviceAccounts()).find((a) => a.name === name)
    return account !== undefined && (await services.authorizer.administersProject(request.principal, account.projectKey, 'manageMembers'))
  }

  // `?username=`: one user's tokens (admins: anyone's; Project Admins: their service accounts').
  app.get<{ Querystring: { username?: string } }>('/access/api/v1/tokens', { config: { access: 'authenticated' } }, async (request) => {
    const principal = request.principal
    const isAdmin = principal.kind === 'user' && principal.isAdmin
    const asked = request.query.username
    if (asked && !isAdmin && asked !== principalUser(request) && !(await administersServiceAccount(request, asked))) {
      throw denied(`only administrators list other users' tokens (and Project Admins their service accounts')`)
    }
    const list = await tokens.list(asked ? asked : isAdmin ? undefined : principalUser(request))
    const body: TokenList = {
      tokens: list.map((t) => ({
        token_id: t.id,
        subject: t.subject,
        description: t.description,
        scope: t.scope,
        issued_at: Math.floor(t.createdAt / 1000),
        expiry: t.expiresAt ? Math.floor(t.expiresAt / 1000) : undefined,
        last_used: t.lastUsedAt ? Math.floor(t.lastUsedAt / 1000) : undefined,
        issuer: 'trove',
        refreshable: t.isRefreshable,
      })),
    }
    return body
  })

  app.delete<{ Params: { id: string } }>('/access/api/v1/tokens/:id', { config: { audit: { action: 'token.revoke' }, access: 'authenticated' } }, async (request, reply) => {
    const token = await tokens.get(request.params.id)
    const principal = request.principal
    // Another user's token is reported missing, not forbidden: ids are not to be probed.
    if (!token || (principal.kind === 'user' && !principal.isAdmin && token.subject !== principal.name && !(await administersServiceAccount(request, token.subject)))) {
      throw notFound(`token '${request.params.id}' does not exist`)
    }
    await tokens.revoke(token.id)
    request.audit.details = { subject: token.subject }
    return reply.status(200).send()
  })
}

/** The account a token is created for: the body's `username`, else the caller. */
function tokenSubject(request: FastifyRequest): string {
  const username = (request.body as Record<string, unknown> | undefined)?.username
  if (typeof username === 'string' && username !== '') return username
  return request.principal?.kind === 'user' ? request.principal.name : 'anonymous'
}

function tokenBody(created: CreatedToken): CreatedTokenBody {
  return {
    token_id: created.id,
    access_token: created.token,
    ...(created.refreshToken ? { refresh_token: created.refreshToken } : {}),
    expires_in: created.expiresAt ? Math.round((created.expiresAt - created.createdAt) / 1000) : 0,
    scope: created.scope,
    token_type: 'Bearer',
  }
}

/**
 * What a scope names must exist, and an admin scope needs an administrator; the rest is
 * intersected with the owner's rights at each request (a token never grants more than that).
 */
async function checkScopeNames(services: CoreServices, subject: string, scope: TokenScope): Promise<void> {
  for (const applied of scope.applied) {
    if (applied.kind === 'admin' && !(await services.users.require(subject)).isAdmin) {
      throw invalidField('scope', `scope applied-permissions/admin: '${subject}' is not an administrator`)
    }
    if (applied.kind === 'groups') await services.groups.assertExists(applied.groups)
    if (applied.kind === 'roles') {
      await services.projects.require(applied.project)
      const unknown = applied.roles.filter((r) => !(r in PROJECT_ROLES))
      if (unknown.length > 0) throw invalidField('scope', `scope: unknown role ${unknown.map((r) => `'${r}'`).join(', ')} (known: ${Object.keys(PROJECT_ROLES).join(', ')})`)
    }
  }
}

async function requireSelfOrAdmin(request: FastifyRequest, name: string): Promise<void> {
  const principal = request.principal
  if (principal.kind === 'anonymous') throw new TroveError('UNAUTHORIZED', 'authentication is required')
  if (!principal.isAdmin && principal.name !== name) throw denied(`user '${principal.name}' may only read their own account`)
}

function principalUser(request: FastifyRequest): string {
  const principal = request.principal
  if (principal.kind !== 'user') throw new TroveError('UNAUTHORIZED', 'authentication is required')
  return principal.name
}

function userBody(user: User): UserBody {
  return {
    ...user.attributes,
    name: user.name,
    email: user.email ?? undefined,
    admin: user.isAdmin,
    disabled: user.isDisabled,
    disableUIAccess: false,
    internalPasswordDisabled: !user.hasPassword,
    realm: 'internal',
    lastLoggedIn: undefined,
  }
}

const USER_FIELDS = new Set(['name', 'email', 'password', 'admin', 'disabled', 'internalPasswordDisabled', 'realm'])

/** Artifactory's user JSON → what the service takes; other fields are kept as attributes. */
function userInput(body: unknown): UserInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
  const b = body as Record<string, unknown>
  for (const field of ['admin', 'disabled'] as const) {
    if (b[field] !== undefined && typeof b[field] !== 'boolean') throw invalidField(field, `${field} must be true or false`)
  }
  const email = optionalString(b, 'email')
  const password = optionalString(b, 'password')
  const attributes = Object.fromEntries(Object.entries(b).filter(([k]) => !USER_FIELDS.has(k)))
  return {
    email,
    password,
    isAdmin: b.admin as boolean | undefined,
    isDisabled: b.disabled as boolean | undefined,
    attributes: Object.keys(attributes).length > 0 ? attributes : undefined,
  }
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw invalidField(field, `${field} must be a string`)
  return value
}
