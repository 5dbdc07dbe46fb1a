import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { CoreServices } from '../../core/services.js'
import { TroveError, denied, notFound } from '../../core/errors.js'
import type { User, UserInput } from '../../core/auth/user-service.js'
import { baseUrlOf } from '../urls.js'

type NameParams = { Params: { name: string } }

/** Artifactory's users API (`/artifactory/api/security/users`) and access tokens (`/access/api/v1/tokens`). */
export async function securityRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const { users, tokens } = services

  app.get('/artifactory/api/security/users', { config: { access: 'admin' } }, async (request) => {
    const base = baseUrlOf(request, services.config.baseUrl)
    return (await users.list()).map((u) => ({ name: u.name, uri: `${base}/artifactory/api/security/users/${encodeURIComponent(u.name)}`, realm: 'internal' }))
  })

  // A user may read their own record; admins any.
  app.get<NameParams>(
    '/artifactory/api/security/users/:name',
    { config: { access: async (request) => requireSelfOrAdmin(request, (request.params as { name: string }).name) } },
    async (request) => userBody(await users.require(request.params.name)),
  )

  app.put<NameParams & { Body: unknown }>('/artifactory/api/security/users/:name', { config: { access: 'admin' } }, async (request, reply) => {
    const { created } = await users.put(request.params.name, userInput(request.body))
    return reply.status(created ? 201 : 200).send()
  })

  app.post<NameParams & { Body: unknown }>('/artifactory/api/security/users/:name', { config: { access: 'admin' } }, async (request, reply) => {
    await users.update(request.params.name, userInput(request.body))
    return reply.status(200).send()
  })

  app.delete<NameParams>('/artifactory/api/security/users/:name', { config: { access: 'admin' } }, async (request, reply) => {
    await users.delete(request.params.name)
    return reply.type('text/plain; charset=utf-8').send(`User '${request.params.name}' has been removed successfully.`)
  })

  // Tokens. Artifactory accepts form-encoded or JSON bodies here.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  app.post<{ Body: Record<string, unknown> | undefined }>('/access/api/v1/tokens', { config: { access: 'authenticated' } }, async (request) => {
    const principal = request.principal
    if (principal.kind !== 'user') throw new TroveError('UNAUTHORIZED', 'authentication is required')
    const body = request.body ?? {}
    const subject = optionalString(body, 'username') ?? principal.name
    if (subject !== principal.name && !principal.isAdmin) throw denied('only administrators create tokens for other users')
    await users.require(subject)
    const rawExpiry = body.expires_in
    const expiresIn = rawExpiry === undefined || rawExpiry === '' ? undefined : typeof rawExpiry === 'number' || (typeof rawExpiry === 'string' && /^\d+$/.test(rawExpiry)) ? Number(rawExpiry) : Number.NaN
    if (expiresIn !== undefined && !Number.isSafeInteger(expiresIn)) throw new TroveError('BAD_REQUEST', 'expires_in must be a whole number of seconds')
    const created = await tokens.create({
      subject,
      description: optionalString(body, 'description'),
      scope: optionalString(body, 'scope'),
      expiresInSecs: expiresIn,
    })
    return {
      token_id: created.id,
      access_token: created.token,
      expires_in: created.expiresAt ? Math.round((created.expiresAt - created.createdAt) / 1000) : 0,
      scope: created.scope,
      token_type: 'Bearer',
    }
  })

  app.get('/access/api/v1/tokens', { config: { access: 'authenticated' } }, async (request) => {
    const principal = request.principal
    const list = await tokens.list(principal.kind === 'user' && principal.isAdmin ? undefined : principalUser(request))
    return {
      tokens: list.map((t) => ({
        token_id: t.id,
        subject: t.subject,
        description: t.description,
        scope: t.scope,
        issued_at: Math.floor(t.createdAt / 1000),
        expiry: t.expiresAt ? Math.floor(t.expiresAt / 1000) : undefined,
        last_used: t.lastUsedAt ? Math.floor(t.lastUsedAt / 1000) : undefined,
        issuer: 'trove',
        refreshable: false,
      })),
    }
  })

  app.delete<{ Params: { id: string } }>('/access/api/v1/tokens/:id', { config: { access: 'authenticated' } }, async (request, reply) => {
    const token = await tokens.get(request.params.id)
    const principal = request.principal
    // Another user's token is reported missing, not forbidden: ids are not to be probed.
    if (!token || (principal.kind === 'user' && !principal.isAdmin && token.subject !== principal.name)) {
      throw notFound(`token '${request.params.id}' does not exist`)
    }
    await tokens.revoke(token.id)
    return reply.status(200).send()
  })
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

function userBody(user: User) {
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
    if (b[field] !== undefined && typeof b[field] !== 'boolean') throw new TroveError('BAD_REQUEST', `${field} must be true or false`)
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
  if (typeof value !== 'string') throw new TroveError('BAD_REQUEST', `${field} must be a string`)
  return value
}
