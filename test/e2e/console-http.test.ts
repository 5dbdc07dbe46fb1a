/**
 * The web console's server side, as a browser meets it: logging in sets an httpOnly session
 * cookie and a readable CSRF cookie; the cookie alone authenticates reads, a state-changing call
 * also needs the CSRF header; logging out revokes the session; the console's files are served
 * under /ui/ with every other path there falling back to index.html.
 */
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONSOLE_BUILD, requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createRepository, createUser, expectRestError, type ApiCall } from './admin-http.js'

const backends = await metadataBackends()

const WEB_ROOT = fileURLToPath(new URL('../../dist/web/', import.meta.url))
const isWebBuilt = await requireClients("the console's static file tests", [CONSOLE_BUILD])

interface Cookie {
  readonly name: string
  readonly value: string
  readonly attributes: ReadonlyMap<string, string>
}

function parseSetCookie(header: string): Cookie {
  const [pair = '', ...rest] = header.split(';').map((s) => s.trim())
  const eq = pair.indexOf('=')
  const attributes = new Map(
    rest.map((a) => {
      const i = a.indexOf('=')
      return i === -1 ? [a.toLowerCase(), ''] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)]
    }),
  )
  return { name: pair.slice(0, eq), value: decodeURIComponent(pair.slice(eq + 1)), attributes }
}

function cookiesOf(res: Response): Map<string, Cookie> {
  return new Map(res.headers.getSetCookie().map(parseSetCookie).map((c) => [c.name, c]))
}

describe.each(backends)('web console sessions (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall

  /** Logs in as the console does; returns the cookies it set. */
  const login = async (user: string, password: string, extraHeaders: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}/api/v1/ui/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-requested-with': 'XMLHttpRequest', ...extraHeaders },
      body: JSON.stringify({ user, password }),
    })
    return { res, cookies: cookiesOf(res) }
  }

  /** A browser session: the cookie header, and the CSRF token the script would read. */
  const sessionOf = (cookies: Map<string, Cookie>) => {
    const session = cookies.get('trove_session')!.value
    const csrf = cookies.get('trove_csrf')!.value
    return { session, csrf, cookie: `trove_session=${encodeURIComponent(session)}; trove_csrf=${encodeURIComponent(csrf)}` }
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    call = apiClient(server)
  })
  afterAll(async () => server?.close())

  it('refuses a wrong password with 401, without cookies and without the Basic dialog for the console', async () => {
    const { res, cookies } = await login('admin', 'not-the-password')
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBeNull()
    expect(cookies.size).toBe(0)
    // Without the console's marker the REST API keeps Artifactory's Basic challenge.
    const plain = await fetch(`${server.url}/api/v1/ui/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"admin","password":"nope-nope"}' })
    expect(plain.status).toBe(401)
    expect(plain.headers.get('www-authenticate')).toMatch(/^Basic/)
  })

  it('takes JSON only (an HTML form from another site cannot log a browser in)', async () => {
    const res = await fetch(`${server.url}/api/v1/ui/login`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ user: 'admin', password: ADMIN_PASSWORD }) })
    await expectRestError(res, 400, /application\/json/)
  })

  it('logs in: an httpOnly SameSite=Strict session cookie, a readable CSRF cookie, and a console session token', async () => {
    const { res, cookies } = await login('admin', ADMIN_PASSWORD)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ authenticated: true, name: 'admin', admin: true, sessionExpiresAt: expect.any(String) })

    const session = cookies.get('trove_session')!
    expect(session.value).toMatch(/^trv_/)
    expect(session.attributes.get('path')).toBe('/')
    expect(session.attributes.has('httponly')).toBe(true)
    expect(session.attributes.get('samesite')).toBe('Strict')
    expect(Number(session.attributes.get('max-age'))).toBe(12 * 3600)
    expect(session.attributes.has('secure')).toBe(false) // plain HTTP here; Secure under https

    const csrf = cookies.get('trove_csrf')!
    expect(csrf.value).not.toBe('')
    expect(csrf.value).not.toContain(session.value)
    expect(csrf.attributes.has('httponly')).toBe(false)
    expect(csrf.attributes.get('samesite')).toBe('Strict')
    expect(csrf.attributes.get('path')).toBe('/')

    // The session is an ordinary access token: listed, with an expiry, revocable.
    const tokens = (await (await call('GET', '/access/api/v1/tokens')).json()) as { tokens: { description: string; expiry?: number; subject: string }[] }
    const listed = tokens.tokens.filter((t) => t.description === 'console session')
    expect(listed.length).toBeGreaterThan(0)
    expect(listed.every((t) => t.subject === 'admin' && typeof t.expiry === 'number')).toBe(true)
  })

  it('the cookie authenticates reads; me says who and until when', async () => {
    const { cookie } = sessionOf((await login('admin', ADMIN_PASSWORD)).cookies)
    const me = await fetch(`${server.url}/api/v1/ui/me`, { headers: { cookie } })
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({ authenticated: true, name: 'admin', admin: true })
    const users = await fetch(`${server.url}/artifactory/api/security/users`, { headers: { cookie } })
    expect(users.status).toBe(200)
    const anonymous = await fetch(`${server.url}/api/v1/ui/me`)
    expect(await anonymous.json()).toEqual({ authenticated: false, name: 'anonymous', admin: false })
  })

  it('a state-changing call authenticated by the cookie needs the CSRF header: 403 without or with a wrong one, works with it', async () => {
    const { cookie, csrf } = sessionOf((await login('admin', ADMIN_PASSWORD)).cookies)
    const createToken = (headers: Record<string, string>) =>
      fetch(`${server.url}/access/api/v1/tokens`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: '{"description":"from the console"}' })

    await expectRestError(await createToken({}), 403, /x-csrf-token/)
    await expectRestError(await createToken({ 'x-csrf-token': 'forged' }), 403)
    await expectRestError(await createToken({ 'x-csrf-token': `${csrf}x` }), 403)
    const ok = await createToken({ 'x-csrf-token': csrf })
    expect(ok.status, await ok.clone().text()).toBe(200)
    expect(((await ok.json()) as { access_token: string }).access_token).toMatch(/^trv_/)

    // Every state-changing method: a repository PUT and DELETE through the cookie.
    const put = (headers: Record<string, string>) =>
      fetch(`${server.url}/artifactory/api/repositories/via-cookie`, { method: 'PUT', headers: { cookie, 'content-type': 'application/json', ...headers }, body: '{"rclass":"local","packageType":"generic"}' })
    await expectRestError(await put({}), 403)
    expect((await call('GET', '/artifactory/api/repositories/via-cookie')).status).toBe(404) // nothing happened
    expect((await put({ 'x-csrf-token': csrf })).status).toBe(200)
    const del = await fetch(`${server.url}/artifactory/api/repositories/via-cookie`, { method: 'DELETE', headers: { cookie } })
    await expectRestError(del, 403)
    expect((await fetch(`${server.url}/artifactory/api/repositories/via-cookie`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } })).status).toBe(200)
  })

  it('an Authorization header wins over the cookie, and needs no CSRF header', async () => {
    await createUser(call, 'carol')
    const { cookie } = sessionOf((await login('carol', 'carol-password-1')).cookies)
    const res = await fetch(`${server.url}/access/api/v1/tokens`, {
      method: 'POST',
      headers: { cookie, authorization: server.adminAuth, 'content-type': 'application/json' },
      body: '{"description":"admin via basic"}',
    })
    expect(res.status).toBe(200)
    const tokens = (await (await call('GET', '/access/api/v1/tokens')).json()) as { tokens: { description: string; subject: string }[] }
    expect(tokens.tokens.find((t) => t.description === 'admin via basic')?.subject).toBe('admin')
  })

  it('logs out: the session token is revoked and both cookies are cleared', async () => {
    const { cookie, csrf, session } = sessionOf((await login('admin', ADMIN_PASSWORD)).cookies)
    // Logging out changes state too: the CSRF header is required.
    await expectRestError(await fetch(`${server.url}/api/v1/ui/logout`, { method: 'POST', headers: { cookie } }), 403)
    const res = await fetch(`${server.url}/api/v1/ui/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })
    expect(res.status).toBe(204)
    const cleared = cookiesOf(res)
    expect(cleared.get('trove_session')?.value).toBe('')
    expect(cleared.get('trove_session')?.attributes.get('max-age')).toBe('0')
    expect(cleared.get('trove_csrf')?.attributes.get('max-age')).toBe('0')

    // The old cookie is now anonymous (not an error: the login page must stay reachable) …
    expect(await (await fetch(`${server.url}/api/v1/ui/me`, { headers: { cookie } })).json()).toMatchObject({ authenticated: false })
    await expectRestError(await fetch(`${server.url}/artifactory/api/security/users`, { headers: { cookie } }), 401)
    // … and the token itself is gone, whoever presents it.
    await expectRestError(await fetch(`${server.url}/artifactory/api/security/users`, { headers: { authorization: `Bearer ${session}` } }), 401)
    // Logging in again with the stale cookie still present works.
    const again = await login('admin', ADMIN_PASSWORD, { cookie })
    expect(again.res.status).toBe(200)
  })

  it('logging in again replaces the session this browser had', async () => {
    const first = sessionOf((await login('admin', ADMIN_PASSWORD)).cookies)
    const second = await login('admin', ADMIN_PASSWORD, { cookie: first.cookie, 'x-csrf-token': first.csrf })
    expect(second.res.status).toBe(200)
    expect(await (await fetch(`${server.url}/api/v1/ui/me`, { headers: { cookie: first.cookie } })).json()).toMatchObject({ authenticated: false })
    expect(await (await fetch(`${server.url}/api/v1/ui/me`, { headers: { cookie: sessionOf(second.cookies).cookie } })).json()).toMatchObject({ authenticated: true })
  })

  it('a disabled user cannot log in, and their session stops working', async () => {
    await createUser(call, 'dave')
    const { cookie } = sessionOf((await login('dave', 'dave-password-1')).cookies)
    expect((await call('POST', '/artifactory/api/security/users/dave', { json: { disabled: true } })).status).toBe(200)
    expect((await login('dave', 'dave-password-1')).res.status).toBe(401)
    expect(await (await fetch(`${server.url}/api/v1/ui/me`, { headers: { cookie } })).json()).toMatchObject({ authenticated: false })
  })

  it('lists the repositories a user may read, with their file counts and sizes', async () => {
    await createRepository(call, 'console-visible')
    await createRepository(call, 'console-hidden')
    const bob = await createUser(call, 'bob')
    expect((await call('PUT', '/api/v1/repositories/console-visible/grants/bob', { json: { actions: ['read'] } })).status).toBe(200)
    const put = await call('PUT', '/artifactory/console-visible/a/b.txt', { body: 'twelve bytes' })
    expect(put.status).toBe(201)

    const { cookie } = sessionOf((await login('bob', 'bob-password-1')).cookies)
    const list = (await (await fetch(`${server.url}/api/v1/ui/repositories`, { headers: { cookie } })).json()) as { repositories: { key: string; filesCount: number; usedSpaceInBytes: number; rclass: string; packageType: string }[] }
    expect(list.repositories.map((r) => r.key)).toEqual(['console-visible'])
    expect(list.repositories[0]).toMatchObject({ rclass: 'local', packageType: 'generic', filesCount: 1, usedSpaceInBytes: 12 })
    expect(bob).toBeTruthy()

    const all = (await (await call('GET', '/api/v1/ui/repositories?packageType=generic')).json()) as { repositories: { key: string }[] }
    expect(all.repositories.map((r) => r.key)).toEqual(expect.arrayContaining(['console-visible', 'console-hidden']))
    const anonymous = (await (await fetch(`${server.url}/api/v1/ui/repositories`)).json()) as { repositories: unknown[] }
    expect(anonymous.repositories).toEqual([])
  })

  it('has a place for single sign-on buttons: no providers until they are configured', async () => {
    const res = await fetch(`${server.url}/api/v1/ui/sso-providers`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ providers: [] })
  })

  it('read-only mode: logging in and out still work, writes through the cookie get 503', async () => {
    const { cookie, csrf } = sessionOf((await login('admin', ADMIN_PASSWORD)).cookies)
    expect((await call('PUT', '/api/v1/system/read-only', { json: { enabled: true, message: 'console test maintenance' } })).status).toBe(200)
    try {
      const during = await login('admin', ADMIN_PASSWORD)
      expect(during.res.status).toBe(200)
      const write = await fetch(`${server.url}/access/api/v1/tokens`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: '{}' })
      await expectRestError(write, 503, /console test maintenance/)
      const { cookie: c2, csrf: x2 } = sessionOf(during.cookies)
      expect((await fetch(`${server.url}/api/v1/ui/logout`, { method: 'POST', headers: { cookie: c2, 'x-csrf-token': x2 } })).status).toBe(204)
    } finally {
      expect((await call('PUT', '/api/v1/system/read-only', { json: { enabled: false } })).status).toBe(200)
    }
  })
})

describe.each(backends)('web console files (%s)', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({ backend })
  })
  afterAll(async () => server?.close())

  it('redirects / and /ui to /ui/', async () => {
    for (const path of ['/', '/ui']) {
      const res = await fetch(`${server.url}${path}`, { redirect: 'manual' })
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe('/ui/')
    }
  })

  it.skipIf(!isWebBuilt)('serves index.html at /ui/ and for every client route, never cached, with a strict CSP', async () => {
    for (const path of ['/ui/', '/ui/index.html', '/ui/repositories/generic-local/releases/1.0/build.tar.gz', '/ui/admin/system', '/ui/search?name=x']) {
      const res = await fetch(`${server.url}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(res.headers.get('cache-control')).toBe('no-cache')
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      expect(await res.text()).toContain('<div id="root"></div>')
    }
  })

  it.skipIf(!isWebBuilt)('serves hashed assets with a long cache, and a missing asset is a 404, not index.html', async () => {
    const script = readdirSync(`${WEB_ROOT}assets`).find((f) => f.endsWith('.js'))!
    const res = await fetch(`${server.url}/ui/assets/${script}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^(text|application)\/javascript; charset=utf-8$/)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const head = await fetch(`${server.url}/ui/assets/${script}`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(1000)
    await expectRestError(await fetch(`${server.url}/ui/assets/index-missing.js`), 404)
  })

  it('never serves a file outside the console folder', async () => {
    for (const path of ['/ui/%2e%2e/%2e%2e/package.json', '/ui/..%2f..%2fpackage.json', '/ui/assets/%2e%2e/%2e%2e/%2e%2e/package.json']) {
      const res = await fetch(`${server.url}${path}`)
      const text = await res.text()
      expect(text, path).not.toContain('"name": "trove"')
      expect([200, 400, 404], path).toContain(res.status)
    }
  })
})
