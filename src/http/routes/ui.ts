import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { lookup as lookupMimeType } from 'mime-types'
import type { UiMe, UiRepositoryList } from '../../api/ui.js'
import { TroveError } from '../../core/errors.js'
import { LOGIN_BOUND } from '../../core/auth/token-minting.js'
import type { CreatedToken, TokenService } from '../../core/auth/token-service.js'
import type { CoreServices } from '../../core/services.js'
import { CSRF_COOKIE, SESSION_COOKIE, csrfTokenFor, parseCookies, serializeCookie, sessionTokenOf } from '../console-session.js'
import { baseUrlOf } from '../urls.js'

/** How long a console session lasts; after it the console asks for the password again. */
export const SESSION_SECS = 12 * 60 * 60
export const SESSION_DESCRIPTION = 'console session'

/** The account a console login names. */
function loginTarget(request: FastifyRequest): string {
  const body = request.body as Record<string, unknown> | null
  const name = body?.user ?? body?.username
  return typeof name === 'string' && name !== '' ? name.slice(0, 256) : '(none)'
}

/**
 * `dist/web`, the console's build (`vite build`): three folders up from this module both in
 * `src/http/routes` (tests, tsx) and in `dist/http/routes` (the build).
 */
const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../dist/web/', import.meta.url))

/** Vite names these files after their content: a new build gives new names, so they never go stale. */
const HASHED_ASSETS = 'assets/'
const IMMUTABLE = 'public, max-age=31536000, immutable'

/**
 * Content-Security-Policy of the console's pages: its own scripts and styles only, no framing.
 * Stored artifacts are downloaded with their own sandboxing policy (see artifacts.ts).
 */
const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * The web console: its static files under `/ui/` (any other path below it is a client-side route
 * and gets `index.html`), `/` redirecting there, and the session endpoints under `/api/v1/ui/`.
 */
export async function uiRoutes(app: FastifyInstance, services: CoreServices, options: { webRoot?: string } = {}): Promise<void> {
  const webRoot = resolve(options.webRoot ?? DEFAULT_WEB_ROOT)
  const { users, tokens } = services
  const isSecure = (request: FastifyRequest) => baseUrlOf(request, services.config.baseUrl).startsWith('https:')

  const redirectToConsole = async (_request: FastifyRequest, reply: FastifyReply) => reply.redirect('/ui/', 302)
  app.get('/', { config: { access: 'public' } }, redirectToConsole)
  app.get('/ui', { config: { access: 'public' } }, redirectToConsole)

  app.get('/ui/*', { config: { access: 'public' } }, async (request, reply) => {
    const relative = staticPath(request)
    const file = relative === undefined ? undefined : await regularFile(webRoot, relative)
    if (file) return sendFile(reply, file.path, file.size, relative!.startsWith(HASHED_ASSETS) ? IMMUTABLE : 'no-cache')
    // A missing build file is a 404; any other path is one of the console's own routes.
    if (relative === undefined || relative.startsWith(HASHED_ASSETS)) throw new TroveError('NOT_FOUND', `no such file: ${request.url.split('?')[0]}`)
    const index = await regularFile(webRoot, 'index.html')
    if (!index) {
      return reply
        .status(404)
        .type('text/plain; charset=utf-8')
        .send(`The web console is not built (no ${join(webRoot, 'index.html')}): run 'npm run build'.\n`)
    }
    return sendFile(reply, index.path, index.size, 'no-cache')
  })

  // --- Session. Login and logout stay open in read-only mode: an admin must be able to sign in to switch it off.

  app.post<{ Body: unknown }>('/api/v1/ui/login', { config: { audit: { action: 'auth.login', target: loginTarget }, access: 'public', allowWhenReadOnly: true } }, async (request, reply) => {
    // JSON only: an HTML form from another site can post text/plain or form data, never JSON (without CORS).
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
      throw new TroveError('BAD_REQUEST', 'send {"user","password"} as application/json')
    }
    const body = request.body as Record<string, unknown> | null
    const name = body?.user ?? body?.username
    const password = body?.password
    if (typeof name !== 'string' || name === '' || typeof password !== 'string' || password === '') {
      throw new TroveError('BAD_REQUEST', 'user and password are required')
    }
    request.audit.actor = name.slice(0, 256)
    const user = await services.loginLimiter.checkPassword(name, password, request.ip)
    if (!user) throw new TroveError('UNAUTHORIZED', 'wrong user name or password, or the account is disabled')
    // Signing in again replaces the session this browser had.
    await revokeSession(parseCookies(request.headers.cookie).get(SESSION_COOKIE))
    const session = await createSession(tokens, user.name)
    setSessionCookies(reply, session.token, SESSION_SECS, isSecure(request))
    request.log.info({ user: user.name, tokenId: session.id }, 'console login')
    const me: UiMe = {
      authenticated: true,
      name: user.name,
      admin: user.isAdmin,
      ...(user.email ? { email: user.email } : {}),
      sessionExpiresAt: new Date(session.expiresAt ?? 0).toISOString(),
      sessionTokenId: session.id,
    }
    return me
  })

  app.post('/api/v1/ui/logout', { config: { audit: { action: 'auth.logout', target: () => 'console session' }, access: 'public', allowWhenReadOnly: true } }, async (request, reply) => {
    await revokeSession(parseCookies(request.headers.cookie).get(SESSION_COOKIE))
    setSessionCookies(reply, '', 0, isSecure(request))
    return reply.status(204).send()
  })

  app.get('/api/v1/ui/me', { config: { access: 'public' } }, async (request, reply) => {
    const principal = request.principal
    if (principal.kind !== 'user') return { authenticated: false, name: 'anonymous', admin: false } satisfies UiMe
    const user = await users.get(principal.name)
    const session = sessionTokenOf(request)
    let sessionExpiresAt: string | undefined
    if (session !== undefined && principal.tokenId !== undefined) {
      const token = await tokens.get(principal.tokenId)
      if (token?.expiresAt) {
        sessionExpiresAt = new Date(token.expiresAt).toISOString()
        // Hands the script its CSRF token again, should that cookie have been lost.
        const remaining = Math.max(0, Math.floor((token.expiresAt - Date.now()) / 1000))
        reply.header('set-cookie', serializeCookie(CSRF_COOKIE, csrfTokenFor(session), { maxAgeSecs: remaining, isHttpOnly: false, isSecure: isSecure(request) }))
      }
    }
    const me: UiMe = {
      authenticated: true,
      name: principal.name,
      admin: principal.isAdmin,
      ...(user?.email ? { email: user.email } : {}),
      ...(sessionExpiresAt ? { sessionExpiresAt, sessionTokenId: principal.tokenId } : {}),
    }
    return me
  })

  // Single sign-on buttons for the login page: /api/v1/ui/sso-providers, in routes/sso.ts.

  // The repositories the caller may read, with their file counts and sizes (what storageinfo gives admins).
  app.get<{ Querystring: { type?: string; packageType?: string } }>(
    '/api/v1/ui/repositories',
    { config: { access: 'public' } },
    async (request) => {
      const all = await services.repositories.list({ rclass: request.query.type, packageType: request.query.packageType })
      const principal = request.principal
      const [readable, usage, roles] = await Promise.all([
        services.authorizer.readableRepositories(principal, all.map((r) => r.key)),
        services.artifacts.usage(),
        principal.kind === 'user' ? services.groups.groupsOf(principal.name).then((groups) => services.projects.rolesOf(principal.name, groups)) : new Map<string, Set<string>>(),
      ])
      const base = baseUrlOf(request, services.config.baseUrl)
      const body: UiRepositoryList = {
        repositories: all
          .filter((r) => readable.has(r.key))
          .map((r) => ({
            key: r.key,
            rclass: r.rclass,
            packageType: r.packageType,
            description: r.config.description ?? '',
            url: `${base}/artifactory/${r.key}`,
            anonymousRead: r.config.anonymousRead === true,
            filesCount: usage.get(r.key)?.files ?? 0,
            usedSpaceInBytes: usage.get(r.key)?.bytes ?? 0,
            ...(typeof r.config.projectKey === 'string' ? { projectKey: r.config.projectKey } : {}),
            projectRoles: typeof r.config.projectKey === 'string' ? [...(roles.get(r.config.projectKey) ?? [])].sort() : [],
          })),
      }
      return body
    },
  )

  async function revokeSession(token: string | undefined): Promise<void> {
    if (!token) return
    const record = await tokens.verify(token)
    if (record) await tokens.revoke(record.id).catch(() => {}) // gone already: a concurrent logout
  }
}

/**
 * A console session for a user who has just proved who they are (password or single sign-on): it
 * stands for that login, so it creates tokens as a password would (see token-minting.ts).
 */
export function createSession(tokens: TokenService, subject: string): Promise<CreatedToken> {
  return tokens.create({ subject, description: SESSION_DESCRIPTION, expiresInSecs: SESSION_SECS, bound: LOGIN_BOUND, isSession: true })
}

export function setSessionCookies(reply: FastifyReply, sessionToken: string, maxAgeSecs: number, isSecure: boolean): void {
  reply.header('set-cookie', [
    serializeCookie(SESSION_COOKIE, sessionToken, { maxAgeSecs, isHttpOnly: true, isSecure }),
    serializeCookie(CSRF_COOKIE, sessionToken === '' ? '' : csrfTokenFor(sessionToken), { maxAgeSecs, isHttpOnly: false, isSecure }),
  ])
}

/** The build file a `/ui/…` URL names, decoded and checked; `undefined` for one that could escape the folder. */
function staticPath(request: FastifyRequest): string | undefined {
  const url = request.raw.url ?? ''
  const query = url.indexOf('?')
  const encoded = (query === -1 ? url : url.slice(0, query)).slice('/ui/'.length)
  if (encoded === '') return 'index.html'
  let segments: string[]
  try {
    segments = encoded.split('/').map(decodeURIComponent)
  } catch {
    return undefined
  }
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0'))) return undefined
  return segments.join('/')
}

async function regularFile(root: string, relative: string): Promise<{ path: string; size: number } | undefined> {
  const path = resolve(root, relative)
  if (!path.startsWith(root + sep)) return undefined
  try {
    const info = await stat(path)
    return info.isFile() ? { path, size: info.size } : undefined
  } catch {
    return undefined
  }
}

function sendFile(reply: FastifyReply, path: string, size: number, cacheControl: string): FastifyReply {
  const type = lookupMimeType(path) || 'application/octet-stream'
  reply
    .header('cache-control', cacheControl)
    .header('content-length', size)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .type(/^text\/|javascript|json|svg/.test(type) ? `${type}; charset=utf-8` : type)
  if (path.endsWith('.html')) reply.header('content-security-policy', CONSOLE_CSP).header('x-frame-options', 'DENY')
  return reply.send(createReadStream(path))
}
