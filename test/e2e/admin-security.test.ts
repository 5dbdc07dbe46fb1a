import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createRepository, createUser, eventually, expectRestError, type ApiCall } from './admin-http.js'

const backends = await metadataBackends()

interface CreatedToken {
  token_id: string
  access_token: string
  expires_in: number
  scope: string
  token_type: string
}

interface ListedToken {
  token_id: string
  subject: string
  description: string
  scope: string
  issued_at: number
  expiry?: number
  last_used?: number
}

describe.each(backends)('users, authentication and tokens (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall

  beforeAll(async () => {
    server = await startTestServer({ backend })
    call = apiClient(server)
  })

  afterAll(async () => {
    await server?.close()
  })

  const userPath = (name: string) => `/artifactory/api/security/users/${name}`
  const bearer = (token: string) => `Bearer ${token}`
  /** Who the server thinks is calling: the user a self-readable record is shown for, or the status. */
  const whoAmI = async (auth: string | null, name: string) => (await call('GET', userPath(name), { auth })).status

  async function createToken(auth: string, body: Record<string, unknown> = {}): Promise<CreatedToken> {
    const res = await call('POST', '/access/api/v1/tokens', { auth, json: body })
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as CreatedToken
  }

  async function listTokens(auth: string): Promise<ListedToken[]> {
    const res = await call('GET', '/access/api/v1/tokens', { auth })
    expect(res.status, await res.clone().text()).toBe(200)
    return ((await res.json()) as { tokens: ListedToken[] }).tokens
  }

  describe('users API', () => {
    it('creates a user (201), who can read their own record but not another', async () => {
      const res = await call('PUT', userPath('uma'), { json: { email: 'uma@example.test', password: 'uma-password-1', groups: ['readers'], profileUpdatable: true } })
      expect(res.status).toBe(201)
      const uma = basicAuth('uma', 'uma-password-1')

      const own = await call('GET', userPath('uma'), { auth: uma })
      expect(own.status).toBe(200)
      const body = (await own.json()) as Record<string, unknown>
      expect(body).toMatchObject({ name: 'uma', email: 'uma@example.test', admin: false, realm: 'internal', groups: ['readers'], profileUpdatable: true })
      expect(JSON.stringify(body)).not.toMatch(/uma-password-1|scrypt/)
      expect(body).not.toHaveProperty('password')

      await expectRestError(await call('GET', userPath('admin'), { auth: uma }), 403, /own account/)
      await expectRestError(await call('GET', userPath('uma'), { auth: null }), 401)
      expect(await (await call('GET', userPath('uma'))).json()).toMatchObject({ name: 'uma', admin: false })
      await expectRestError(await call('GET', userPath('nobody-here')), 404, /nobody-here/)
    })

    it('replaces an existing user with PUT (200) and keeps the password when none is given', async () => {
      await createUser(call, 'paula')
      const res = await call('PUT', userPath('paula'), { json: { email: 'new@example.test' } })
      expect(res.status).toBe(200)
      expect(await (await call('GET', userPath('paula'))).json()).toMatchObject({ email: 'new@example.test' })
      expect(await whoAmI(basicAuth('paula', 'paula-password-1'), 'paula')).toBe(200)
    })

    it('lists users to admins only', async () => {
      const vic = await createUser(call, 'vic')
      const res = await call('GET', '/artifactory/api/security/users')
      expect(res.status).toBe(200)
      const list = (await res.json()) as { name: string; uri: string; realm: string }[]
      expect(list).toEqual(
        expect.arrayContaining([
          { name: 'admin', uri: `${server.url}/artifactory/api/security/users/admin`, realm: 'internal' },
          { name: 'vic', uri: `${server.url}/artifactory/api/security/users/vic`, realm: 'internal' },
        ]),
      )
      await expectRestError(await call('GET', '/artifactory/api/security/users', { auth: vic }), 403)
      await expectRestError(await call('GET', '/artifactory/api/security/users', { auth: null }), 401)
    })

    it('changes a password with POST: the old one fails, the new one works', async () => {
      const old = await createUser(call, 'walt', 'walt-password-old')
      expect(await whoAmI(old, 'walt')).toBe(200) // the old password is now verified (and cached)
      const res = await call('POST', userPath('walt'), { json: { password: 'walt-password-new' } })
      expect(res.status).toBe(200)
      await expectRestError(await call('GET', userPath('walt'), { auth: old }), 401, /bad credentials/)
      expect(await whoAmI(basicAuth('walt', 'walt-password-new'), 'walt')).toBe(200)
      // Fields not given are kept.
      expect(await (await call('GET', userPath('walt'))).json()).toMatchObject({ email: 'walt@example.test', admin: false })
    })

    it('refuses a short password on create and on update, changing nothing', async () => {
      await expectRestError(await call('PUT', userPath('shorty'), { json: { password: 'short' } }), 400, /at least 8/, 'password')
      expect((await call('GET', userPath('shorty'))).status).toBe(404)
      const xena = await createUser(call, 'xena')
      await expectRestError(await call('POST', userPath('xena'), { json: { password: '1234567' } }), 400, /at least 8/, 'password')
      expect(await whoAmI(xena, 'xena')).toBe(200)
    })

    it('refuses a new user without a password, and wrong field types', async () => {
      await expectRestError(await call('PUT', userPath('nopass'), { json: { email: 'n@example.test' } }), 400, /password/, 'password')
      await expectRestError(await call('PUT', userPath('typed'), { json: { password: 'long-enough-1', admin: 'yes' } }), 400, /admin/, 'admin')
      await expectRestError(await call('PUT', userPath('typed'), { json: { password: 12345678 } }), 400, /password/, 'password')
      await expectRestError(await call('PUT', userPath('typed'), { json: ['password'] }), 400, /JSON object/, null)
      expect((await call('GET', userPath('nopass'))).status).toBe(404)
      expect((await call('GET', userPath('typed'))).status).toBe(404)
    })

    it.each([
      ['has%20space', 'a space'],
      ['-dash', 'a leading dash'],
      ['anonymous', 'the anonymous name'],
      ['a'.repeat(65), 'too long'],
      ['semi%3Bcolon', 'a semicolon'],
    ])('refuses the invalid name %s (%s)', async (name) => {
      await expectRestError(await call('PUT', userPath(name), { json: { password: 'long-enough-1' } }), 400, /invalid user name/, 'name')
    })

    it('deletes a user, whose credentials stop working', async () => {
      const yves = await createUser(call, 'yves')
      const res = await call('DELETE', userPath('yves'))
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('yves')
      await expectRestError(await call('GET', userPath('yves'), { auth: yves }), 401)
      await expectRestError(await call('GET', userPath('yves')), 404)
      await expectRestError(await call('DELETE', userPath('yves')), 404)
    })

    it('never deletes, demotes or disables the admin', async () => {
      await expectRestError(await call('DELETE', userPath('admin')), 400, /cannot be deleted/)
      await expectRestError(await call('POST', userPath('admin'), { json: { admin: false } }), 400, /admin/)
      await expectRestError(await call('PUT', userPath('admin'), { json: { admin: false } }), 400, /admin/)
      await expectRestError(await call('POST', userPath('admin'), { json: { disabled: true } }), 400, /disabled/, 'disabled')
      expect(await (await call('GET', userPath('admin'))).json()).toMatchObject({ name: 'admin', admin: true })
      expect(await whoAmI(server.adminAuth, 'admin')).toBe(200)
    })

    it('lets an admin promote another admin, who then manages users', async () => {
      const zoe = await createUser(call, 'zoe')
      await expectRestError(await call('GET', '/artifactory/api/security/users', { auth: zoe }), 403)
      expect((await call('POST', userPath('zoe'), { json: { admin: true } })).status).toBe(200)
      expect((await call('GET', '/artifactory/api/security/users', { auth: zoe })).status).toBe(200)
      expect((await call('POST', userPath('zoe'), { json: { admin: false } })).status).toBe(200)
      await expectRestError(await call('GET', '/artifactory/api/security/users', { auth: zoe }), 403)
    })

    it('refuses user management to non-admins (403) and anonymous callers (401)', async () => {
      const mallory = await createUser(call, 'mallory')
      await expectRestError(await call('POST', userPath('mallory'), { auth: mallory, json: { admin: true } }), 403)
      await expectRestError(await call('PUT', userPath('eve'), { auth: mallory, json: { password: 'eve-password-1', admin: true } }), 403)
      await expectRestError(await call('DELETE', userPath('walt'), { auth: mallory }), 403)
      await expectRestError(await call('PUT', userPath('eve'), { auth: null, json: { password: 'eve-password-1' } }), 401)
      await expectRestError(await call('DELETE', userPath('mallory'), { auth: null }), 401)
      expect(await (await call('GET', userPath('mallory'))).json()).toMatchObject({ admin: false })
      expect((await call('GET', userPath('eve'))).status).toBe(404)
    })

    it('refuses a disabled user', async () => {
      const dora = await createUser(call, 'dora')
      expect((await call('POST', userPath('dora'), { json: { disabled: true } })).status).toBe(200)
      await expectRestError(await call('GET', userPath('dora'), { auth: dora }), 401)
      expect((await call('POST', userPath('dora'), { json: { disabled: false } })).status).toBe(200)
      expect(await whoAmI(dora, 'dora')).toBe(200)
    })
  })

  describe('HTTP authentication', () => {
    let hank: string

    beforeAll(async () => {
      hank = await createUser(call, 'hank')
    })

    it('accepts HTTP Basic with the password', async () => {
      expect(await whoAmI(hank, 'hank')).toBe(200)
      expect(await whoAmI(basicAuth('admin', ADMIN_PASSWORD), 'hank')).toBe(200)
    })

    it('answers a bad password with 401, WWW-Authenticate and a REST error body', async () => {
      const res = await call('GET', userPath('hank'), { auth: basicAuth('hank', 'wrong-password') })
      await expectRestError(res, 401, /bad credentials/)
      await expectRestError(await call('GET', userPath('hank'), { auth: basicAuth('ghost', 'whatever-1') }), 401, /bad credentials/)
    })

    it('refuses bad credentials even on a public route, so that clients learn they are wrong', async () => {
      await expectRestError(await call('GET', '/artifactory/api/system/ping', { auth: basicAuth('hank', 'wrong-password') }), 401)
      expect((await call('GET', '/artifactory/api/system/ping', { auth: null })).status).toBe(200)
    })

    it.each([
      ['Digest username="hank"', /unsupported authorization scheme 'digest'/],
      ['Negotiate abc', /unsupported authorization scheme/],
      ['Basic', /malformed/],
      [`Basic ${Buffer.from('no-colon').toString('base64')}`, /malformed/],
      [`Basic ${Buffer.from(':password-only').toString('base64')}`, /malformed/],
      ['Bearer ', /./],
      ['Bearer not-a-token', /invalid or expired token/],
      ['Bearer trv_not-a-real-token', /invalid or expired token/],
    ])('answers %j with 401', async (authorization, message) => {
      await expectRestError(await call('GET', userPath('hank'), { auth: authorization }), 401, message)
    })
  })

  describe('access tokens', () => {
    let tina: string
    let bob: string

    beforeAll(async () => {
      tina = await createUser(call, 'tina')
      bob = await createUser(call, 'bob')
    })

    it('creates a token from a JSON body, shows it once, and lists it without the secret', async () => {
      const created = await createToken(tina, { expires_in: 3600, description: 'ci pipeline' })
      expect(created).toMatchObject({ expires_in: 3600, token_type: 'Bearer', scope: expect.any(String) })
      expect(created.token_id).toMatch(/\S/)
      expect(created.access_token.length).toBeGreaterThanOrEqual(32)

      const res = await call('GET', '/access/api/v1/tokens', { auth: tina })
      const text = await res.text()
      expect(text).not.toContain(created.access_token)
      const listed = (JSON.parse(text) as { tokens: ListedToken[] }).tokens.find((t) => t.token_id === created.token_id)
      expect(listed).toMatchObject({ subject: 'tina', description: 'ci pipeline', scope: created.scope })
      expect(listed!.expiry! - listed!.issued_at).toBe(3600)
      expect(JSON.stringify(listed)).not.toContain('access_token')
    })

    it('creates a token from a form-encoded body', async () => {
      const res = await call('POST', '/access/api/v1/tokens', {
        auth: tina,
        body: new URLSearchParams({ expires_in: '0', description: 'from a form', username: 'tina' }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
      expect(res.status, await res.clone().text()).toBe(200)
      const created = (await res.json()) as CreatedToken
      expect(created.expires_in).toBe(0)
      const listed = (await listTokens(tina)).find((t) => t.token_id === created.token_id)
      expect(listed).toMatchObject({ description: 'from a form' })
      expect(listed!.expiry).toBeUndefined()
      expect(await whoAmI(bearer(created.access_token), 'tina')).toBe(200)
    })

    it('creates a token with no body at all', async () => {
      const res = await call('POST', '/access/api/v1/tokens', { auth: tina })
      expect(res.status, await res.clone().text()).toBe(200)
      const created = (await res.json()) as CreatedToken
      expect(await whoAmI(bearer(created.access_token), 'tina')).toBe(200)
    })

    it('authenticates with Bearer and with Basic user:token, only as its owner', async () => {
      const { access_token: token } = await createToken(tina)
      expect(await whoAmI(bearer(token), 'tina')).toBe(200)
      expect(await whoAmI(basicAuth('tina', token), 'tina')).toBe(200)
      // It is tina's: tina may not read bob's record with it.
      await expectRestError(await call('GET', userPath('bob'), { auth: bearer(token) }), 403)
      // Basic with another user's name and this token is refused outright.
      await expectRestError(await call('GET', userPath('bob'), { auth: basicAuth('bob', token) }), 401, /invalid or expired token/)
      await expectRestError(await call('GET', userPath('tina'), { auth: basicAuth('bob', token) }), 401)
      // A token is not a password: a similar-looking wrong secret fails.
      await expectRestError(await call('GET', userPath('tina'), { auth: bearer(`${token}x`) }), 401)
    })

    it('refuses bad expires_in values and anonymous callers', async () => {
      for (const expires_in of ['abc', -5, 1.5]) {
        await expectRestError(await call('POST', '/access/api/v1/tokens', { auth: tina, json: { expires_in } }), 400, /expires_in/, 'expires_in')
      }
      await expectRestError(await call('POST', '/access/api/v1/tokens', { auth: tina, json: { description: 7 } }), 400, /description/, 'description')
      await expectRestError(await call('POST', '/access/api/v1/tokens', { auth: null, json: {} }), 401)
      await expectRestError(await call('GET', '/access/api/v1/tokens', { auth: null }), 401)
    })

    it('stops accepting a token once it expires', async () => {
      const { access_token: token, expires_in } = await createToken(tina, { expires_in: 1 })
      expect(expires_in).toBe(1)
      // It may already have expired on a slow machine; what matters is that it stops working within 3 s.
      const hasExpired = await eventually(async () => (await whoAmI(bearer(token), 'tina')) === 401, 3000, 200)
      expect(hasExpired).toBe(true)
      await expectRestError(await call('GET', userPath('tina'), { auth: bearer(token) }), 401, /invalid or expired/)
      await expectRestError(await call('GET', userPath('tina'), { auth: basicAuth('tina', token) }), 401)
    })

    it('revokes a token: it no longer works nor is listed', async () => {
      const created = await createToken(tina, { description: 'to revoke' })
      expect(await whoAmI(bearer(created.access_token), 'tina')).toBe(200)
      const res = await call('DELETE', `/access/api/v1/tokens/${created.token_id}`, { auth: tina })
      expect(res.status).toBe(200)
      await expectRestError(await call('GET', userPath('tina'), { auth: bearer(created.access_token) }), 401)
      expect((await listTokens(tina)).map((t) => t.token_id)).not.toContain(created.token_id)
      await expectRestError(await call('DELETE', `/access/api/v1/tokens/${created.token_id}`, { auth: tina }), 404)
    })

    it('hides one user’s tokens from another, who cannot revoke them (404)', async () => {
      const tinas = await createToken(tina, { description: 'tina only' })
      const bobs = await createToken(bob, { description: 'bob only' })
      const seenByBob = await listTokens(bob)
      expect(seenByBob.map((t) => t.subject)).toEqual(seenByBob.map(() => 'bob'))
      expect(seenByBob.map((t) => t.token_id)).toContain(bobs.token_id)
      expect(seenByBob.map((t) => t.token_id)).not.toContain(tinas.token_id)

      await expectRestError(await call('DELETE', `/access/api/v1/tokens/${tinas.token_id}`, { auth: bob }), 404)
      expect(await whoAmI(bearer(tinas.access_token), 'tina')).toBe(200)
      // A token authenticates as its owner for this too.
      await expectRestError(await call('DELETE', `/access/api/v1/tokens/${tinas.token_id}`, { auth: bearer(bobs.access_token) }), 404)
      await expectRestError(await call('DELETE', '/access/api/v1/tokens/no-such-id', { auth: bob }), 404)

      // The admin sees and may revoke everyone's.
      const seenByAdmin = (await listTokens(server.adminAuth)).map((t) => t.token_id)
      expect(seenByAdmin).toEqual(expect.arrayContaining([tinas.token_id, bobs.token_id]))
      expect((await call('DELETE', `/access/api/v1/tokens/${bobs.token_id}`)).status).toBe(200)
      expect(await whoAmI(bearer(bobs.access_token), 'bob')).toBe(401)
    })

    it('lets the admin, and only the admin, create a token for another user', async () => {
      const res = await call('POST', '/access/api/v1/tokens', { json: { username: 'bob', description: 'made for bob' } })
      expect(res.status).toBe(200)
      const forBob = (await res.json()) as CreatedToken
      expect(await whoAmI(bearer(forBob.access_token), 'bob')).toBe(200)
      expect(await whoAmI(bearer(forBob.access_token), 'tina')).toBe(403) // it is bob's, not the admin's
      expect((await listTokens(bob)).find((t) => t.token_id === forBob.token_id)).toMatchObject({ subject: 'bob', description: 'made for bob' })

      await expectRestError(await call('POST', '/access/api/v1/tokens', { auth: tina, json: { username: 'bob' } }), 403)
      await expectRestError(await call('POST', '/access/api/v1/tokens', { json: { username: 'ghost' } }), 404, /ghost/)
      expect((await listTokens(bob)).filter((t) => t.subject !== 'bob')).toEqual([])
    })

    it('records when a token was last used', async () => {
      const created = await createToken(tina, { description: 'usage' })
      const before = (await listTokens(tina)).find((t) => t.token_id === created.token_id)!
      expect(before.last_used).toBeUndefined()
      expect(await whoAmI(bearer(created.access_token), 'tina')).toBe(200)
      const after = (await listTokens(tina)).find((t) => t.token_id === created.token_id)!
      expect(after.last_used).toBeGreaterThanOrEqual(after.issued_at)
      expect(after.last_used).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000))
    })

    it('stops accepting the tokens of a deleted user, even when the name is taken again', async () => {
      const gus = await createUser(call, 'gus')
      const { access_token: token } = await createToken(gus)
      expect(await whoAmI(bearer(token), 'gus')).toBe(200)
      expect((await call('DELETE', userPath('gus'))).status).toBe(200)
      await expectRestError(await call('GET', userPath('gus'), { auth: bearer(token) }), 401)
      await createUser(call, 'gus', 'gus-password-2')
      await expectRestError(await call('GET', userPath('gus'), { auth: bearer(token) }), 401)
      expect((await listTokens(basicAuth('gus', 'gus-password-2'))).length).toBe(0)
    })

    it('stops accepting the tokens of a disabled user', async () => {
      const ida = await createUser(call, 'ida')
      const { access_token: token } = await createToken(ida)
      expect((await call('POST', userPath('ida'), { json: { disabled: true } })).status).toBe(200)
      await expectRestError(await call('GET', userPath('ida'), { auth: bearer(token) }), 401)
    })

    it('grants through a token exactly what its owner may do on repositories', async () => {
      await createRepository(call, 'token-local')
      const { access_token: token } = await createToken(tina)
      const put = (auth: string) => call('PUT', '/artifactory/token-local/a.txt', { auth, body: 'a' })
      await expectRestError(await put(bearer(token)), 403)
      expect((await call('PUT', '/api/v1/repositories/token-local/grants/tina', { json: { actions: ['read', 'deploy'] } })).status).toBe(200)
      expect((await put(bearer(token))).status).toBe(201)
      expect((await call('GET', '/artifactory/token-local/a.txt', { auth: basicAuth('tina', token) })).status).toBe(200)
    })
  })
})
