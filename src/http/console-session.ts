import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { TroveError } from '../core/errors.js'

/**
 * The web console's session: an httpOnly cookie holding a Trove access token (created at login,
 * revoked at logout), and a CSRF token the console's script reads from a second cookie and echoes
 * in a header on every state-changing call (double submit). The CSRF token is derived from the
 * session token, so it needs no storage and a cookie planted by another site cannot match it.
 */
export const SESSION_COOKIE = 'trove_session'
export const CSRF_COOKIE = 'trove_csrf'
export const CSRF_HEADER = 'x-csrf-token'

/** Cookies of a `Cookie` header (RFC 6265 §5.4); the first of a repeated name wins. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=')
    if (eq <= 0) continue
    const name = pair.slice(0, eq).trim()
    let value = pair.slice(eq + 1).trim()
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1)
    if (name !== '' && !cookies.has(name)) {
      try {
        cookies.set(name, decodeURIComponent(value))
      } catch {
        cookies.set(name, value)
      }
    }
  }
  return cookies
}

/**
 * The session token the console's cookie carries, when the request has no `Authorization` header
 * (an explicit credential always wins over the ambient cookie).
 */
export function sessionTokenOf(request: FastifyRequest): string | undefined {
  if (request.headers.authorization) return undefined
  const token = parseCookies(request.headers.cookie).get(SESSION_COOKIE)
  return token === undefined || token === '' ? undefined : token
}

export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`trove-console-csrf\0${sessionToken}`).digest('base64url')
}

/** Refuses (403) a cookie-authenticated state-changing request whose CSRF header does not match. */
export function requireCsrfToken(request: FastifyRequest, sessionToken: string): void {
  const given = request.headers[CSRF_HEADER]
  const expected = Buffer.from(csrfTokenFor(sessionToken))
  const actual = Buffer.from(typeof given === 'string' ? given : '')
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new TroveError('DENIED', `a console request that changes something must carry the ${CSRF_COOKIE} cookie's value in ${CSRF_HEADER}`)
  }
}

export interface CookieOptions {
  readonly maxAgeSecs: number
  readonly isHttpOnly: boolean
  readonly isSecure: boolean
}

/** A `Set-Cookie` value: Path=/ and SameSite=Strict always; Max-Age 0 deletes. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', `Max-Age=${options.maxAgeSecs}`, 'SameSite=Strict']
  if (options.isHttpOnly) parts.push('HttpOnly')
  if (options.isSecure) parts.push('Secure')
  return parts.join('; ')
}

/**
 * Whether the console's script made the request: it sends `X-Requested-With: XMLHttpRequest`, and
 * its 401s must not carry `WWW-Authenticate: Basic`, which would make the browser open its own
 * password dialog over the console's login page.
 */
export function isConsoleRequest(request: FastifyRequest): boolean {
  return request.headers['x-requested-with'] === 'XMLHttpRequest'
}
