import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { UiSsoProviders } from '../../api/ui.js'
import { TroveError } from '../../core/errors.js'
import type { CoreServices } from '../../core/services.js'
import { SESSION_COOKIE, parseCookies } from '../console-session.js'
import { baseUrlOf } from '../urls.js'
import { SESSION_SECS, createSession, setSessionCookies } from './ui.js'

/**
 * The browser's sign-in cookie: a random value whose hash is stored with each sign-in it begins,
 * so that a callback is accepted only in the browser that began the sign-in (no login CSRF).
 * SameSite=Lax, not Strict: the callback is a top-level navigation coming from the provider's site.
 */
const SSO_COOKIE = 'trove_sso'
const SSO_COOKIE_PATH = '/auth/sso/'

type ProviderParams = { Params: { provider: string }; Querystring: Record<string, string | undefined> }

/**
 * Single sign-on for the web console: the providers the login page shows, the redirect to a
 * provider, and its callback, which ends in a console session exactly like the password login's.
 * Everything is reachable in read-only mode (GET only): an admin must be able to sign in then.
 */
export async function ssoRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const { sso, tokens } = services
  const isSecure = (request: FastifyRequest) => baseUrlOf(request, services.config.baseUrl).startsWith('https:')

  const providers = async (): Promise<UiSsoProviders> => ({
    providers: sso.list().map((p) => ({ id: p.id, name: p.name, loginUrl: `/auth/sso/${encodeURIComponent(p.id)}/login` })),
  })
  // The console's own path for it, and the one documented for other login pages.
  app.get('/api/v1/ui/sso-providers', { config: { access: 'public' } }, providers)
  app.get('/ui/api/sso/providers', { config: { access: 'public' } }, providers)

  // A user's page in the console: which provider identities sign in as them.
  app.get<{ Params: { name: string } }>('/api/v1/ui/users/:name/sso', { config: { access: 'admin' } }, async (request) => {
    if (!(await services.users.get(request.params.name))) throw new TroveError('NOT_FOUND', `user '${request.params.name}' does not exist`)
    return { identities: await sso.identitiesOf(request.params.name) }
  })

  app.get<ProviderParams>('/auth/sso/:provider/login', { config: { access: 'public' } }, async (request, reply) => {
    const provider = request.params.provider
    const base = baseUrlOf(request, services.config.baseUrl)
    // One cookie per browser, kept across sign-ins, so that two tabs signing in at once both work.
    const browserSecret = parseCookies(request.headers.cookie).get(SSO_COOKIE) || randomBytes(32).toString('base64url')
    const url = await sso.begin(provider, {
      redirectUri: `${base}/auth/sso/${encodeURIComponent(provider)}/callback`,
      browserSecret,
      returnTo: consolePath(request.query.redirect),
    })
    const cookie = [`${SSO_COOKIE}=${browserSecret}`, `Path=${SSO_COOKIE_PATH}`, `Max-Age=${services.config.sso.loginTimeoutSecs}`, 'SameSite=Lax', 'HttpOnly']
    if (isSecure(request)) cookie.push('Secure')
    return reply.header('set-cookie', cookie.join('; ')).header('cache-control', 'no-store').redirect(url.href, 302)
  })

  app.get<ProviderParams>('/auth/sso/:provider/callback', { config: { audit: { action: 'auth.login', target: (r) => `sso:${(r.params as { provider: string }).provider}` }, access: 'public' } }, async (request, reply) => {
    const raw = request.raw.url ?? ''
    const query = new URLSearchParams(raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '')
    const cookies = parseCookies(request.headers.cookie)
    let result: Awaited<ReturnType<typeof sso.complete>>
    try {
      result = await sso.complete(request.params.provider, query, cookies.get(SSO_COOKIE))
    } catch (err) {
      if (!(err instanceof TroveError)) throw err
      request.log.warn({ provider: request.params.provider, err: err.message, cause: (err.cause as Error | undefined)?.message }, 'single sign-on refused')
      return sendErrorPage(reply, err)
    }
    // Signing in replaces the session this browser had, as the password login does.
    const previous = cookies.get(SESSION_COOKIE)
    const record = previous ? await tokens.verify(previous) : undefined
    if (record) await tokens.revoke(record.id).catch(() => {})
    request.audit.actor = result.user.name
    const session = await createSession(tokens, result.user.name)
    setSessionCookies(reply, session.token, SESSION_SECS, isSecure(request))
    request.log.info({ user: result.user.name, tokenId: session.id, provider: request.params.provider }, 'console login (single sign-on)')
    return reply.header('cache-control', 'no-store').redirect(result.returnTo, 302)
  })
}

/** Only a path of the console itself: an open redirect to another site would help phishing. */
function consolePath(wanted: string | undefined): string {
  if (wanted && /^\/ui\/[A-Za-z0-9/._~%-]*$/.test(wanted) && !wanted.includes('//')) return wanted
  return '/ui/'
}

/** The callback is a page the browser navigates to: the refusal is a small page, not JSON. */
function sendErrorPage(reply: FastifyReply, err: TroveError): FastifyReply {
  const message = escapeHtml(err.message)
  return reply
    .status(err.status)
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; base-uri 'none'; frame-ancestors 'none'")
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Sign-in refused - Trove</title></head>\n` +
        `<body><h1>Sign-in refused</h1>\n<p id="reason">${message}</p>\n<p>No session was created. <a href="/ui/">Back to the login page</a></p></body></html>\n`,
    )
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
