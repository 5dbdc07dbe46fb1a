/**
 * OpenID Connect sign-in against a real OpenID provider on 127.0.0.1 (the `oidc-provider`
 * package, started here with a client registered for Trove), its login and consent pages driven
 * over plain HTTP with a cookie jar as a browser would: users created at the first sign-in with
 * the provider's groups, admin by group, a console session that creates tokens for command-line
 * clients; a wrong state, a replayed code, a callback in another browser and an ID token for
 * another audience are refused with a clear page and no session.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import Provider from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createUser } from './admin-http.js'
import { CookieJar, expectRefusal, listen, locationOf } from './sso-support.js'

const backends = await metadataBackends()

interface Account {
  readonly preferred_username: string
  readonly email: string
  groups: string[]
}

describe.each(backends)('OpenID Connect sign-in (%s)', (backend) => {
  let trove: TestServer
  let idp: Awaited<ReturnType<typeof listen>>
  const accounts = new Map<string, Account>([
    ['sub-alice', { preferred_username: 'alice', email: 'alice@corp.test', groups: ['devs', 'trove-admins'] }],
    ['sub-bob', { preferred_username: 'bob', email: 'bob@corp.test', groups: ['devs'] }],
    ['sub-carol', { preferred_username: 'carol', email: 'carol@corp.test', groups: [] }],
  ])
  /** When set, the provider's token endpoint answers this instead (the audience test). */
  let tokenOverride: Record<string, unknown> | undefined

  beforeAll(async () => {
    let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
    idp = await listen((req, res) => {
      if (tokenOverride && req.method === 'POST' && req.url === '/token') {
        req.resume()
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(tokenOverride))
        return
      }
      handler!(req, res)
    })
    trove = await startTestServer({
      backend,
      settings: {
        sso: {
          providers: [
            {
              id: 'corp',
              name: 'Corp SSO',
              issuer: idp.url,
              clientId: 'trove',
              scopes: ['openid', 'profile', 'email', 'groups'],
              adminGroups: ['trove-admins'],
            },
          ],
        },
      },
      // The secret through the environment, as an operator would keep it out of the YAML file.
      env: { TROVE_SSO_CORP_CLIENT_SECRET: 'trove-client-secret' },
    })
    const provider = new Provider(idp.url, {
      clients: [
        { client_id: 'trove', client_secret: 'trove-client-secret', redirect_uris: [`${trove.url}/auth/sso/corp/callback`], application_type: 'native' },
        { client_id: 'other-app', client_secret: 'other-secret', redirect_uris: ['http://127.0.0.1:1/callback'], application_type: 'native' },
      ],
      claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email'], groups: ['groups'] },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      findAccount: async (_ctx: unknown, sub: string) => {
        const account = accounts.get(sub)
        return account && { accountId: sub, claims: async () => ({ sub, ...account }) }
      },
      features: { devInteractions: { enabled: true } },
    })
    handler = provider.callback()
  }, 60_000)

  afterAll(async () => {
    await trove?.close()
    await idp?.close()
  })

  /** Drives the provider's login and consent pages as `sub` until it redirects back to `redirectPrefix`. */
  async function authorize(jar: CookieJar, authorizationUrl: string, sub: string, redirectPrefix: string): Promise<string> {
    let url = authorizationUrl
    for (let hop = 0; hop < 12; hop++) {
      if (url.startsWith(redirectPrefix)) return url
      const res = await jar.fetch(url)
      if (res.status >= 300 && res.status < 400) {
        url = locationOf(res, url)
        continue
      }
      const page = await res.text()
      expect(res.status, page).toBe(200)
      const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1] ?? (page.includes('name="login"') ? 'login' : undefined)
      expect(prompt, page).toBeDefined()
      const form = new URLSearchParams(prompt === 'login' ? { prompt, login: sub, password: 'any' } : { prompt: prompt! })
      const submitted = await jar.fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() })
      url = locationOf(submitted, url)
    }
    throw new Error('the provider did not redirect back')
  }

  /** Starts a sign-in at Trove: its redirect to the provider. */
  async function begin(jar: CookieJar, query = ''): Promise<URL> {
    const res = await jar.fetch(`${trove.url}/auth/sso/corp/login${query}`)
    expect(res.status).toBe(302)
    expect(res.headers.getSetCookie().find((c) => c.startsWith('trove_sso='))).toMatch(/HttpOnly/)
    const url = new URL(locationOf(res, trove.url))
    expect(url.origin).toBe(idp.url)
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    expect(url.searchParams.get('state')).toBeTruthy()
    expect(url.searchParams.get('nonce')).toBeTruthy()
    return url
  }

  /** A whole sign-in; returns the callback URL the provider sent the browser to (not yet visited). */
  async function toCallback(jar: CookieJar, sub: string, query = ''): Promise<string> {
    return authorize(jar, (await begin(jar, query)).href, sub, `${trove.url}/auth/sso/corp/callback`)
  }

  it('lists the provider for the login page', async () => {
    for (const path of ['/api/v1/ui/sso-providers', '/ui/api/sso/providers']) {
      const res = await fetch(`${trove.url}${path}`)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ providers: [{ id: 'corp', name: 'Corp SSO', loginUrl: '/auth/sso/corp/login' }] })
    }
    expect((await fetch(`${trove.url}/auth/sso/nope/login`)).status).toBe(404)
  })

  it('creates the user at the first sign-in, with groups and admin by group, and a console session that makes tokens', async () => {
    const jar = new CookieJar()
    const callback = await toCallback(jar, 'sub-alice', '?redirect=/ui/tokens')
    const done = await jar.fetch(callback)
    expect(done.status, await done.clone().text()).toBe(302)
    expect(done.headers.get('location')).toBe('/ui/tokens')
    const session = jar.get(trove.url, 'trove_session')
    const csrf = jar.get(trove.url, 'trove_csrf')
    expect(session).toBeTruthy()
    expect(csrf).toBeTruthy()

    const me = await jar.fetch(`${trove.url}/api/v1/ui/me`)
    expect(await me.json()).toMatchObject({ authenticated: true, name: 'alice', admin: true, email: 'alice@corp.test' })
    const user = await trove.trove.services.users.get('alice')
    expect(user).toMatchObject({ name: 'alice', isAdmin: true, hasPassword: false, email: 'alice@corp.test' })
    expect(await trove.trove.services.sso.groupsOf('alice')).toEqual(['devs', 'trove-admins'])
    // An admin reads which identity signs in as alice (the console's user page), and nobody else can.
    const identities = await fetch(`${trove.url}/api/v1/ui/users/alice/sso`, { headers: { authorization: basicAuth('admin', ADMIN_PASSWORD) } })
    expect(identities.status).toBe(200)
    expect(await identities.json()).toMatchObject({ identities: [{ provider: 'corp', subject: 'sub-alice', email: 'alice@corp.test', groups: ['devs', 'trove-admins'] }] })
    expect((await fetch(`${trove.url}/api/v1/ui/users/nobody/sso`, { headers: { authorization: basicAuth('admin', ADMIN_PASSWORD) } })).status).toBe(404)
    expect((await fetch(`${trove.url}/api/v1/ui/users/alice/sso`)).status).toBe(401)

    // The console creates a token for command-line clients (cookie + CSRF header) ...
    const created = await jar.fetch(`${trove.url}/access/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf!), 'x-requested-with': 'XMLHttpRequest' },
      body: JSON.stringify({ description: 'laptop' }),
    })
    expect(created.status, await created.clone().text()).toBe(200)
    const token = ((await created.json()) as { access_token: string }).access_token
    // ... which a client then uses (an admin-only call, alice being admin by group), while a password never works.
    expect((await fetch(`${trove.url}/artifactory/api/security/users`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    expect((await fetch(`${trove.url}/artifactory/api/security/users`, { headers: { authorization: basicAuth('alice', token) } })).status).toBe(200)
    expect((await fetch(`${trove.url}/artifactory/api/security/users`, { headers: { authorization: basicAuth('alice', 'a-password') } })).status).toBe(401)
  })

  it('updates groups and the admin flag at the next sign-in', async () => {
    accounts.get('sub-alice')!.groups = ['devs', 'ops']
    const jar = new CookieJar()
    expect((await jar.fetch(await toCallback(jar, 'sub-alice'))).status).toBe(302)
    expect(await (await jar.fetch(`${trove.url}/api/v1/ui/me`)).json()).toMatchObject({ name: 'alice', admin: false })
    expect(await trove.trove.services.sso.groupsOf('alice')).toEqual(['devs', 'ops'])
    expect((await trove.trove.services.users.list()).filter((u) => u.name.startsWith('alice'))).toHaveLength(1)
  })

  it('refuses a wrong state, a used state and a callback in another browser, with no session', async () => {
    const jar = new CookieJar()
    const callback = new URL(await toCallback(jar, 'sub-bob'))
    const wrong = new URL(callback)
    wrong.searchParams.set('state', 'not-the-state')
    await expectRefusal(await jar.fetch(wrong.href), 400, /state mismatch/)

    // Another browser (no sign-in cookie, or another one) holding the real callback URL.
    const other = new CookieJar()
    await expectRefusal(await other.fetch(callback.href), 400, /another browser/)
    expect(await trove.trove.services.users.get('bob')).toBeUndefined()
    // That attempt used the state up: the right browser cannot finish it either.
    await expectRefusal(await jar.fetch(callback.href), 400, /already used/)
    expect(await trove.trove.services.users.get('bob')).toBeUndefined()
  })

  it('refuses a replayed authorization code', async () => {
    const jar = new CookieJar()
    const first = new URL(await toCallback(jar, 'sub-bob'))
    expect((await jar.fetch(first.href)).status).toBe(302)
    const bobSession = jar.get(trove.url, 'trove_session')

    // The same callback again: its state is gone.
    await expectRefusal(await jar.fetch(first.href), 400, /already used/)
    // The old code with a fresh state of this browser: the provider refuses the code.
    const fresh = await begin(jar)
    const replay = new URL(`${trove.url}/auth/sso/corp/callback`)
    replay.searchParams.set('code', first.searchParams.get('code')!)
    replay.searchParams.set('state', fresh.searchParams.get('state')!)
    replay.searchParams.set('iss', idp.url)
    await expectRefusal(await jar.fetch(replay.href), 401, /refused the authorization code: invalid_grant/)
    expect(jar.get(trove.url, 'trove_session')).toBe(bobSession)
  })

  it('refuses an ID token issued for another audience', async () => {
    const jar = new CookieJar()
    const start = await begin(jar)
    // A real ID token of this provider, for the client 'other-app', with the nonce Trove expects.
    const verifier = randomBytes(32).toString('base64url')
    const otherAuth = new URL(`${idp.url}/auth`)
    otherAuth.search = new URLSearchParams({
      client_id: 'other-app',
      redirect_uri: 'http://127.0.0.1:1/callback',
      response_type: 'code',
      scope: 'openid',
      state: 'other-state',
      nonce: start.searchParams.get('nonce')!,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString()
    const otherCallback = new URL(await authorize(new CookieJar(), otherAuth.href, 'sub-carol', 'http://127.0.0.1:1/callback'))
    const tokenRes = await fetch(`${idp.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth('other-app', 'other-secret') },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: otherCallback.searchParams.get('code')!, redirect_uri: 'http://127.0.0.1:1/callback', code_verifier: verifier }).toString(),
    })
    expect(tokenRes.status).toBe(200)
    const otherTokens = (await tokenRes.json()) as { id_token: string }
    expect(JSON.parse(Buffer.from(otherTokens.id_token.split('.')[1]!, 'base64url').toString()).aud).toBe('other-app')

    // Trove's callback; the provider's token endpoint answers with that token.
    tokenOverride = { ...otherTokens }
    try {
      const callback = new URL(`${trove.url}/auth/sso/corp/callback`)
      callback.search = new URLSearchParams({ code: 'any-code', state: start.searchParams.get('state')!, iss: idp.url }).toString()
      await expectRefusal(await jar.fetch(callback.href), 401, /unexpected JWT &#34;aud&#34; \(audience\) claim value \(expected &#34;trove&#34;\)/)
    } finally {
      tokenOverride = undefined
    }
    expect(await trove.trove.services.users.get('carol')).toBeUndefined()
  })

  it('does not sign in over a local user of the same name', async () => {
    await createUser(apiClient(trove), 'carol', 'carol-local-password')
    const jar = new CookieJar()
    await expectRefusal(await jar.fetch(await toCallback(jar, 'sub-carol')), 403, /already exists and is not linked/)
    expect(await trove.trove.services.users.get('carol')).toMatchObject({ hasPassword: true, isAdmin: false })
  })
})
