/**
 * GitHub OAuth sign-in. GitHub.com cannot run here, so its side is a small fake on 127.0.0.1: a
 * test double of a third-party service, speaking what Trove uses of it (the authorize redirect,
 * the token endpoint with its 200-with-error answers and PKCE check, `/user`, `/user/orgs` with a
 * `Link` next page, `/user/teams`). Trove is real and reached over HTTP as a browser would.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { CookieJar, expectRefusal, listen, locationOf } from './sso-support.js'

const backends = await metadataBackends()

interface GitHubUser {
  readonly id: number
  readonly login: string
  readonly email: string | null
  readonly orgs: string[][] // pages
  readonly teams: { slug: string; org: string }[]
}

const CLIENT_ID = 'gh-client'
const CLIENT_SECRET = 'gh-secret'

/** The fake GitHub: who "approves" the next authorization is `approving`. */
function fakeGitHub(users: Map<string, GitHubUser>) {
  const state = { approving: 'dave', codes: new Map<string, { login: string; redirectUri: string; challenge: string }>(), tokens: new Map<string, string>() }
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
  const handler = (req: IncomingMessage, res: ServerResponse, base: () => string) => {
    const url = new URL(req.url ?? '/', base())
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const redirect = new URL(url.searchParams.get('redirect_uri')!)
      if (url.searchParams.get('client_id') !== CLIENT_ID) return json(res, 404, { error: 'unknown client' })
      const code = randomBytes(10).toString('hex')
      state.codes.set(code, { login: state.approving, redirectUri: redirect.href, challenge: url.searchParams.get('code_challenge') ?? '' })
      redirect.searchParams.set('code', code)
      redirect.searchParams.set('state', url.searchParams.get('state') ?? '')
      return res.writeHead(302, { location: redirect.href }).end()
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        const form = new URLSearchParams(body)
        if (form.get('client_id') !== CLIENT_ID || form.get('client_secret') !== CLIENT_SECRET) return json(res, 200, { error: 'incorrect_client_credentials' })
        const grant = state.codes.get(form.get('code') ?? '')
        state.codes.delete(form.get('code') ?? '') // single use, as GitHub's
        const challenge = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url')
        if (!grant || grant.redirectUri !== form.get('redirect_uri') || grant.challenge !== challenge) {
          return json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' })
        }
        const token = `gho_${randomBytes(12).toString('hex')}`
        state.tokens.set(token, grant.login)
        json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:org,read:user,user:email' })
      })
      return
    }
    const login = state.tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''))
    const user = login === undefined ? undefined : users.get(login)
    if (!user) return json(res, 401, { message: 'Bad credentials' })
    if (url.pathname === '/api/user') return json(res, 200, { id: user.id, login: user.login, email: user.email })
    if (url.pathname === '/api/user/orgs') {
      const page = Number(url.searchParams.get('page') ?? '1')
      const next: Record<string, string> = page < user.orgs.length ? { link: `<${base()}/api/user/orgs?per_page=100&page=${page + 1}>; rel="next"` } : {}
      return json(res, 200, (user.orgs[page - 1] ?? []).map((o) => ({ login: o })), next)
    }
    if (url.pathname === '/api/user/teams') return json(res, 200, user.teams.map((t) => ({ slug: t.slug, organization: { login: t.org } })))
    return json(res, 404, { message: 'Not Found' })
  }
  return { state, handler }
}

describe.each(backends)('GitHub sign-in (%s)', (backend) => {
  let trove: TestServer
  let github: Awaited<ReturnType<typeof listen>>
  const users = new Map<string, GitHubUser>([
    ['dave', { id: 1001, login: 'dave', email: 'dave@corp.test', orgs: [['acme'], ['tools']], teams: [{ slug: 'platform', org: 'acme' }] }],
    ['eve', { id: 1002, login: 'eve', email: null, orgs: [['elsewhere']], teams: [] }],
  ])
  const fake = fakeGitHub(users)

  beforeAll(async () => {
    github = await listen((req, res) => fake.handler(req, res, () => github.url))
    trove = await startTestServer({
      backend,
      settings: {
        sso: {
          providers: [
            {
              id: 'github',
              type: 'github',
              clientId: CLIENT_ID,
              clientSecret: CLIENT_SECRET,
              authorizeUrl: `${github.url}/login/oauth/authorize`,
              tokenUrl: `${github.url}/login/oauth/access_token`,
              apiUrl: `${github.url}/api`,
              allowedOrganizations: ['acme'],
              adminGroups: ['acme/platform'],
            },
          ],
        },
      },
    })
  }, 60_000)

  afterAll(async () => {
    await trove?.close()
    await github?.close()
  })

  /** Trove's login → the fake's authorize → the callback URL (not yet visited). */
  async function toCallback(jar: CookieJar, login: string): Promise<URL> {
    fake.state.approving = login
    const start = await jar.fetch(`${trove.url}/auth/sso/github/login`)
    expect(start.status).toBe(302)
    const authorize = new URL(locationOf(start, trove.url))
    expect(authorize.origin + authorize.pathname).toBe(`${github.url}/login/oauth/authorize`)
    expect(authorize.searchParams.get('scope')).toBe('read:user user:email read:org')
    const approved = await jar.fetch(authorize.href)
    return new URL(locationOf(approved, authorize.href))
  }

  it('signs a member of an allowed organisation in, with organisations and teams as groups', async () => {
    const providers = await (await fetch(`${trove.url}/api/v1/ui/sso-providers`)).json()
    expect(providers).toEqual({ providers: [{ id: 'github', name: 'GitHub', loginUrl: '/auth/sso/github/login' }] })

    const jar = new CookieJar()
    const done = await jar.fetch((await toCallback(jar, 'dave')).href)
    expect(done.status, await done.clone().text()).toBe(302)
    expect(done.headers.get('location')).toBe('/ui/')
    expect(await (await jar.fetch(`${trove.url}/api/v1/ui/me`)).json()).toMatchObject({ authenticated: true, name: 'dave', admin: true })
    expect(await trove.trove.services.sso.groupsOf('dave')).toEqual(['acme', 'acme/platform', 'tools'])
    expect(await trove.trove.services.users.get('dave')).toMatchObject({ hasPassword: false, email: 'dave@corp.test' })
  })

  it('refuses a user outside the allowed organisations', async () => {
    const jar = new CookieJar()
    await expectRefusal(await jar.fetch((await toCallback(jar, 'eve')).href), 403, /not a member of &#39;acme&#39;/)
    expect(await trove.trove.services.users.get('eve')).toBeUndefined()
  })

  it('refuses a wrong state and a replayed code', async () => {
    const jar = new CookieJar()
    const callback = await toCallback(jar, 'dave')
    const wrong = new URL(callback)
    wrong.searchParams.set('state', 'forged')
    await expectRefusal(await jar.fetch(wrong.href), 400, /state mismatch/)

    const first = await toCallback(jar, 'dave')
    expect((await jar.fetch(first.href)).status).toBe(302)
    await expectRefusal(await jar.fetch(first.href), 400, /already used/)
    // The used code with a fresh state: GitHub answers bad_verification_code.
    const fresh = await toCallback(jar, 'dave')
    const replay = new URL(fresh)
    replay.searchParams.set('code', first.searchParams.get('code')!)
    const session = jar.get(trove.url, 'trove_session')
    await expectRefusal(await jar.fetch(replay.href), 401, /refused the authorization code: bad_verification_code/)
    expect(jar.get(trove.url, 'trove_session')).toBe(session)
  })
})
