/**
 * What a credential may create (issue #13, item 1; docs/access.md, "Tokens"): a token it creates
 * has rights within its own and expires no later than it does. Checked over real HTTP on every
 * metadata backend as a property of every pair (caller credential × requested scope), for a
 * user's own tokens and a service account's, and through every other door that hands out a
 * credential: refresh, registry tokens from /v2/token, npm login and npm's .npmrc endpoint, and
 * PyPI's Basic credentials with a token as the password. Tokens written before the bound existed
 * keep working after the upgrade.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import { Migrator } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { csrfTokenFor } from '../../src/http/console-session.js'
import { openMetadataStore } from '../../src/metadata/database.js'
import { migrationProvider } from '../../src/metadata/migrations/index.js'
import { createTestDatabase, metadataBackends } from '../helpers/postgres.js'
import { buildWheel } from '../helpers/python.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createUser, expectRestError, type ApiCall } from './admin-http.js'

const backends = await metadataBackends()

const BOSS_PASSWORD = 'boss-password-1'
const LEAD_PASSWORD = 'lead-password-1'
/** The lifetime of the callers' expiring tokens; the matrix asks for less, the expiry checks for more. */
const CALLER_LIFETIME_SECS = 300

/** A caller's credential: how it is sent, and what the rule says it holds. */
interface Credential {
  readonly headers: Record<string, string>
  /** Everything (a login or an unrestricted token), or the scope of its token. */
  readonly scope: 'all' | string
  /** When the credential expires, ms; `undefined`: never (a login stands for the password). */
  readonly expiresAt?: number
}

/**
 * The relation the docs state, written independently of the server's code: a scope is the set
 * of "atoms" it can grant (`*` for user and admin, a group, a project's action), and one scope
 * holds another when its atoms include the other's. Role actions as DESIGN.md lists them.
 */
const ROLE_ACTIONS: Record<string, string[]> = {
  'Project Admin': ['read', 'annotate', 'deploy', 'delete', 'manage'],
  Developer: ['read', 'annotate', 'deploy', 'delete'],
  Contributor: ['read', 'annotate', 'deploy'],
  Viewer: ['read'],
}
function atoms(scope: string): Set<string> {
  const result = new Set<string>()
  for (const entry of scope.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []) {
    const [, kind, rest = ''] = /^applied-permissions\/(\w+):?(.*)$/.exec(entry)!
    if (kind === 'user' || kind === 'admin') result.add('*')
    else if (kind === 'groups') for (const g of rest.split(',')) result.add(`group:${g}`)
    else {
      const [project, roles] = [rest.slice(0, rest.indexOf(':')), rest.slice(rest.indexOf(':') + 1)]
      for (const role of roles.split(',')) for (const action of ROLE_ACTIONS[role.replace(/"/g, '')]!) result.add(`${project}:${action}`)
    }
  }
  return result
}
function holds(credential: Credential, requested: string): boolean {
  if (credential.scope === 'all') return true
  const held = atoms(credential.scope)
  if (held.has('*')) return true
  return [...atoms(requested)].every((a) => a !== '*' && held.has(a))
}

const REQUESTED = [
  'applied-permissions/user',
  'applied-permissions/admin',
  'applied-permissions/groups:ga',
  'applied-permissions/groups:gb',
  'applied-permissions/groups:ga,gb',
  'applied-permissions/roles:team:"Project Admin"',
  'applied-permissions/roles:team:Developer',
  'applied-permissions/roles:team:Viewer',
  'applied-permissions/roles:rival:Viewer',
  'applied-permissions/roles:team:Viewer applied-permissions/groups:ga',
]

interface TokenBody {
  token_id: string
  access_token: string
  refresh_token?: string
  expires_in: number
  scope: string
}

describe.each(backends)('what a credential may create (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall
  const boss: Record<string, Credential> = {}
  const lead: Record<string, Credential> = {}
  let bossPassword: string

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  const mint = (headers: Record<string, string>, body: Record<string, unknown>) =>
    fetch(`${server.url}/access/api/v1/tokens`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  async function minted(headers: Record<string, string>, body: Record<string, unknown>): Promise<TokenBody> {
    const res = await mint(headers, body)
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as TokenBody
  }
  /** A token of `who`, created with the password, and the credential it makes. */
  async function tokenCredential(password: string, scope: string, expiresIn?: number, send: (t: string) => Record<string, string> = bearer): Promise<Credential> {
    const body = await minted({ authorization: password }, { scope, ...(expiresIn ? { expires_in: expiresIn } : {}) })
    const unrestricted = scope === 'applied-permissions/user' || scope === 'applied-permissions/admin'
    return { headers: send(body.access_token), scope: unrestricted ? 'all' : scope, ...(expiresIn ? { expiresAt: Date.now() + expiresIn * 1000 } : {}) }
  }
  /** The stored record of a token, as the admin lists it. */
  async function record(tokenId: string): Promise<{ scope: string; expiry?: number }> {
    const list = (await (await call('GET', '/access/api/v1/tokens')).json()) as { tokens: { token_id: string; scope: string; expiry?: number }[] }
    return list.tokens.find((t) => t.token_id === tokenId)!
  }
  async function consoleLogin(user: string, password: string): Promise<Record<string, string>> {
    const res = await fetch(`${server.url}/api/v1/ui/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) })
    expect(res.status, await res.clone().text()).toBe(200)
    const session = /trove_session=([^;]+)/.exec(res.headers.getSetCookie().join('\n'))![1]!
    return sessionHeaders(decodeURIComponent(session))
  }
  /** What the console's script sends: the cookie, and the CSRF token derived from it. */
  const sessionHeaders = (token: string) => ({ cookie: `trove_session=${encodeURIComponent(token)}`, 'x-csrf-token': csrfTokenFor(token) })

  beforeAll(async () => {
    server = await startTestServer({ backend, settings: { oci: { tokenExpirySecs: 3600 } } })
    call = apiClient(server)
    // boss: an administrator, also a Developer of team and a member of ga and gb. lead: team's Project Admin.
    bossPassword = await createUser(call, 'boss', BOSS_PASSWORD, true)
    const leadPassword = await createUser(call, 'lead', LEAD_PASSWORD)
    await createUser(call, 'alice')
    for (const key of ['team', 'rival']) expect((await call('POST', '/access/api/v1/projects', { json: { project_key: key, storage_quota_bytes: -1 } })).status).toBe(201)
    expect((await call('PUT', '/access/api/v1/projects/team/users/boss', { json: { roles: ['Developer'] } })).status).toBe(200)
    expect((await call('PUT', '/access/api/v1/projects/team/users/lead', { json: { roles: ['Project Admin'] } })).status).toBe(200)
    for (const group of ['ga', 'gb']) expect((await call('PUT', `/artifactory/api/security/groups/${group}`, { json: { userNames: ['boss', 'lead'] } })).status).toBe(201)
    expect((await call('PUT', '/access/api/v1/projects/team/service-accounts/team-ci', { auth: leadPassword, json: { roles: ['Contributor'] } })).status).toBe(201)
    for (const [key, packageType] of [['team-docker', 'docker'], ['team-pypi', 'pypi']]) {
      const res = await call('PUT', `/artifactory/api/repositories/${key}`, { json: { rclass: 'local', packageType, projectKey: 'team' } })
      expect(res.status, await res.clone().text()).toBe(200)
    }
    expect((await call('PUT', '/artifactory/api/repositories/npm-local', { json: { rclass: 'local', packageType: 'npm' } })).status).toBe(200)

    boss.password = { headers: { authorization: bossPassword }, scope: 'all' }
    boss['console session'] = { headers: await consoleLogin('boss', BOSS_PASSWORD), scope: 'all' }
    boss['user token'] = await tokenCredential(bossPassword, 'applied-permissions/user')
    boss['admin token'] = await tokenCredential(bossPassword, 'applied-permissions/admin')
    boss['user token, expiring'] = await tokenCredential(bossPassword, 'applied-permissions/user', CALLER_LIFETIME_SECS)
    boss['groups:ga,gb token'] = await tokenCredential(bossPassword, 'applied-permissions/groups:ga,gb')
    boss['groups:ga token'] = await tokenCredential(bossPassword, 'applied-permissions/groups:ga')
    boss['roles:team:Developer token'] = await tokenCredential(bossPassword, 'applied-permissions/roles:team:Developer')
    boss['roles:team:Developer token, expiring'] = await tokenCredential(bossPassword, 'applied-permissions/roles:team:Developer', CALLER_LIFETIME_SECS)
    boss['roles:team:Viewer token'] = await tokenCredential(bossPassword, 'applied-permissions/roles:team:Viewer')
    boss['roles:rival:Viewer token'] = await tokenCredential(bossPassword, 'applied-permissions/roles:rival:Viewer')
    const asBasic = (token: string) => ({ authorization: basicAuth('boss', token) })
    boss['roles:team:Viewer token as a Basic password'] = await tokenCredential(bossPassword, 'applied-permissions/roles:team:Viewer', undefined, asBasic)
    boss['roles:team:Viewer token in the session cookie'] = await tokenCredential(bossPassword, 'applied-permissions/roles:team:Viewer', undefined, sessionHeaders)

    lead.password = { headers: { authorization: leadPassword }, scope: 'all' }
    lead['user token'] = await tokenCredential(leadPassword, 'applied-permissions/user')
    lead['roles:team:"Project Admin" token'] = await tokenCredential(leadPassword, 'applied-permissions/roles:team:"Project Admin"')
    lead['roles:team:"Project Admin" token, expiring'] = await tokenCredential(leadPassword, 'applied-permissions/roles:team:"Project Admin"', CALLER_LIFETIME_SECS)
    lead['roles:team:Developer token'] = await tokenCredential(leadPassword, 'applied-permissions/roles:team:Developer')
    lead['groups:ga token'] = await tokenCredential(leadPassword, 'applied-permissions/groups:ga')
  })

  afterAll(async () => {
    await server?.close()
  })

  describe('a user creating their own tokens', () => {
    const callers = () => Object.keys(boss)
    it('every caller × every requested scope: created exactly when the caller holds the scope', async () => {
      const outcomes: string[] = []
      const expected: string[] = []
      for (const caller of callers()) {
        for (const scope of REQUESTED) {
          const res = await mint(boss[caller]!.headers, { scope, expires_in: 60, description: `${caller} → ${scope}` })
          const text = await res.text()
          outcomes.push(`${caller} → ${scope}: ${res.status}`)
          expected.push(`${caller} → ${scope}: ${holds(boss[caller]!, scope) ? 200 : 403}`)
          if (res.status === 200) {
            const body = JSON.parse(text) as TokenBody
            expect(body.scope).toBe(scope)
            expect(body.expires_in).toBe(60)
          } else if (res.status === 403) {
            // Artifactory's REST error body, saying what the credential may not do.
            expect(JSON.parse(text).errors[0].message).toMatch(/cannot create a token scoped .*within its own scope/)
          }
        }
      }
      expect(outcomes).toEqual(expected)
    })

    it('refuses a token without expiry, or outliving the caller, from an expiring credential; a login or a lasting token may', async () => {
      for (const caller of callers()) {
        const credential = boss[caller]!
        const own = credential.scope === 'all' ? 'applied-permissions/user' : credential.scope
        for (const expiresIn of [undefined, 0, 3600]) {
          const res = await mint(credential.headers, { scope: own, ...(expiresIn !== undefined ? { expires_in: expiresIn } : {}) })
          if (credential.expiresAt === undefined) {
            expect(res.status, `${caller}, expires_in ${expiresIn}: ${await res.clone().text()}`).toBe(200)
            await res.body?.cancel()
          } else {
            await expectRestError(res, 403, /expires at .*must expire no later \(send expires_in of at most \d+ seconds\)/)
          }
        }
      }
      // Within its own lifetime, an expiring token may.
      const inside = await minted(boss['user token, expiring']!.headers, { expires_in: CALLER_LIFETIME_SECS - 30 })
      expect((await record(inside.token_id)).expiry! * 1000).toBeLessThanOrEqual(boss['user token, expiring']!.expiresAt! + 1000)
    })

    it("an admin's Viewer-scoped token cannot become an admin token, nor create users, nor mint for others", async () => {
      const viewer = boss['roles:team:Viewer token']!.headers
      await expectRestError(await mint(viewer, { scope: 'applied-permissions/admin', expires_in: 60 }), 403, /roles:team:Viewer.*cannot create a token scoped 'applied-permissions\/admin'/)
      await expectRestError(await mint(viewer, {}), 403, /cannot create a token scoped 'applied-permissions\/user'/)
      await expectRestError(await mint(viewer, { username: 'alice', scope: 'applied-permissions/roles:team:Viewer', expires_in: 60 }), 403, /only administrators/)
      await expectRestError(await call('PUT', '/artifactory/api/security/users/mallory', { auth: viewer.authorization!, json: { password: 'mallory-password-1' } }), 403)
      expect((await call('GET', '/artifactory/api/security/users/mallory')).status).toBe(404)
      // An unrestricted admin credential still creates tokens for others.
      expect((await minted(boss['admin token']!.headers, { username: 'alice', expires_in: 60 })).scope).toBe('applied-permissions/user')
    })
  })

  describe("a Project Admin creating a service account's tokens", () => {
    const requested = ['applied-permissions/user', 'applied-permissions/roles:team:Contributor', 'applied-permissions/roles:team:"Project Admin"', 'applied-permissions/roles:rival:Viewer']
    /** Whether the credential administers team: a login, an unrestricted token, or one holding team's Project Admin role. */
    const administers = (c: Credential) => holds(c, 'applied-permissions/roles:team:"Project Admin"')

    it('every caller × every requested scope: created exactly when the caller administers the project and holds the scope', async () => {
      const outcomes: string[] = []
      const expected: string[] = []
      for (const [caller, credential] of Object.entries(lead)) {
        for (const scope of requested) {
          const res = await mint(credential.headers, { username: 'team-ci', scope, expires_in: 60 })
          await res.body?.cancel()
          outcomes.push(`${caller} → ${scope}: ${res.status}`)
          expected.push(`${caller} → ${scope}: ${administers(credential) && holds(credential, scope) ? 200 : 403}`)
        }
      }
      expect(outcomes).toEqual(expected)
    })

    it("bounds the service account's token by the Project Admin's expiry, and the service account's own tokens by theirs", async () => {
      await expectRestError(await mint(lead['roles:team:"Project Admin" token, expiring']!.headers, { username: 'team-ci', scope: 'applied-permissions/roles:team:Viewer' }), 403, /must expire no later/)
      const ci = await minted(lead.password!.headers, { username: 'team-ci', scope: 'applied-permissions/roles:team:Contributor', expires_in: 120 })
      const asCi = bearer(ci.access_token)
      await expectRestError(await mint(asCi, { scope: 'applied-permissions/user', expires_in: 60 }), 403, /within its own scope/)
      await expectRestError(await mint(asCi, { scope: 'applied-permissions/roles:team:Developer', expires_in: 60 }), 403, /within its own scope/)
      await expectRestError(await mint(asCi, { scope: 'applied-permissions/roles:team:Viewer', expires_in: 600 }), 403, /must expire no later/)
      expect((await minted(asCi, { scope: 'applied-permissions/roles:team:Viewer', expires_in: 60 })).scope).toBe('applied-permissions/roles:team:Viewer')
    })
  })

  it('keeps the bound through refresh: the new token ends no later than the credential that created the first, then refresh stops', async () => {
    // 1. A short-lived token, created with the password; it creates a refreshable token within its life.
    const parent = await minted({ authorization: bossPassword }, { expires_in: 6, scope: 'applied-permissions/roles:team:Developer' })
    const parentExpiry = (await record(parent.token_id)).expiry!
    const child = await minted(bearer(parent.access_token), { expires_in: 5, refreshable: true, scope: 'applied-permissions/roles:team:Viewer' })
    // 2. Later, a refresh would give another 5 seconds: it is cut to the parent's expiry.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const refreshed = await minted({}, { grant_type: 'refresh_token', refresh_token: child.refresh_token, access_token: child.access_token })
    expect(refreshed.scope).toBe('applied-permissions/roles:team:Viewer')
    expect(refreshed.expires_in).toBeLessThan(5)
    expect((await record(refreshed.token_id)).expiry!).toBeLessThanOrEqual(parentExpiry)
    // 3. Once the parent's time has passed, the chain cannot be refreshed any more.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, parentExpiry * 1000 - Date.now()) + 1100))
    await expectRestError(await mint({}, { grant_type: 'refresh_token', refresh_token: refreshed.refresh_token }), 401, /can no longer be refreshed/)
  })

  describe('registry tokens from /v2/token', () => {
    const registryToken = async (headers: Record<string, string>, scope: string) => {
      const res = await fetch(`${server.url}/v2/token?service=trove&scope=${encodeURIComponent(scope)}`, { headers })
      expect(res.status, await res.clone().text()).toBe(200)
      const body = (await res.json()) as { token: string; expires_in: number }
      return { ...body, claims: decodeJwt(body.token) as { exp: number; tid?: string; access: { name: string; actions: string[] }[] } }
    }
    const everything = 'repository:team-docker/app:pull,push,delete'

    it("carry at most the access token's rights and expiry, and trading one for another extends neither", async () => {
      const unrestricted = await registryToken(boss['user token']!.headers, everything)
      expect(unrestricted.claims.access).toEqual([{ type: 'repository', name: 'team-docker/app', actions: ['pull', 'push', 'delete'] }])
      const developer = boss['roles:team:Developer token, expiring']!
      const first = await registryToken(developer.headers, 'repository:team-docker/app:pull,push,delete,*')
      expect(first.claims.access[0]!.actions.sort()).toEqual(['delete', 'pull', 'push'])
      expect(first.claims.exp * 1000).toBeLessThanOrEqual(developer.expiresAt! + 1000)
      expect(first.expires_in).toBeLessThanOrEqual(CALLER_LIFETIME_SECS)
      const narrow = await registryToken(boss['roles:team:Viewer token']!.headers, everything)
      expect(narrow.claims.access).toEqual([{ type: 'repository', name: 'team-docker/app', actions: ['pull'] }])
      // The registry token presented again: nothing more, no longer, still tied to the access token.
      const second = await registryToken(bearer(first.token), everything)
      expect(second.claims.exp).toBeLessThanOrEqual(first.claims.exp)
      expect(second.claims.tid).toBe(first.claims.tid)
      const fromNarrow = await registryToken(bearer(narrow.token), everything)
      expect(fromNarrow.claims.access).toEqual([{ type: 'repository', name: 'team-docker/app', actions: ['pull'] }])
      // A registry token creates no access token, and a Viewer's pushes nothing.
      await expectRestError(await mint(bearer(narrow.token), { scope: 'applied-permissions/roles:team:Viewer', expires_in: 60 }), 401)
      const push = await fetch(`${server.url}/v2/team-docker/app/blobs/uploads/`, { method: 'POST', headers: bearer(narrow.token) })
      expect(push.status, await push.text()).toBe(403)
    })
  })

  describe('npm', () => {
    const npmLogin = (headers: Record<string, string>, password: string) =>
      fetch(`${server.url}/artifactory/api/npm/npm-local/-/user/org.couchdb.user:boss`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'boss', password }),
      })
    /** The token `GET /api/npm/auth` wrote into the `.npmrc` lines, with its stored record. */
    async function npmrcToken(headers: Record<string, string>) {
      const res = await fetch(`${server.url}/artifactory/api/npm/auth`, { headers })
      const text = await res.text()
      expect(res.status, text).toBe(200)
      const token = /:_authToken=(\S+)/.exec(text)![1]!
      const listed = (await (await call('GET', '/access/api/v1/tokens')).json()) as { tokens: { token_id: string; scope: string; expiry?: number; description: string }[] }
      const mine = listed.tokens.filter((t) => t.description === 'npm: .npmrc from /api/npm/auth').at(-1)!
      return { token, record: mine }
    }

    it('logs in with the password only: a token as the password is refused, whatever else the request carries', async () => {
      const res = await npmLogin({}, BOSS_PASSWORD)
      expect(res.status, await res.clone().text()).toBe(201)
      const { token } = (await res.json()) as { token: string }
      expect((await (await fetch(`${server.url}/artifactory/api/npm/npm-local/-/whoami`, { headers: bearer(token) })).json())).toEqual({ username: 'boss' })
      const viewerToken = boss['roles:team:Viewer token']!.headers.authorization!.slice('Bearer '.length)
      for (const headers of [{}, boss['roles:team:Viewer token']!.headers]) {
        const refused = await npmLogin(headers, viewerToken)
        expect(refused.status, await refused.text()).toBe(401)
      }
    })

    it(".npmrc for a cookie caller: a session gets a user token; any other token only its own scope and lifetime", async () => {
      const fromSession = await npmrcToken(boss['console session']!.headers)
      expect(fromSession.record.scope).toBe('applied-permissions/user')
      expect(fromSession.record.expiry).toBeUndefined()
      const expiring = await tokenCredential(bossPassword, 'applied-permissions/roles:team:Viewer', CALLER_LIFETIME_SECS, sessionHeaders)
      const fromToken = await npmrcToken(expiring.headers)
      expect(fromToken.record.scope).toBe('applied-permissions/roles:team:Viewer')
      expect(fromToken.record.expiry! * 1000).toBeLessThanOrEqual(expiring.expiresAt! + 1000)
    })
  })

  it("PyPI's Basic credentials with a token as the password grant what the token grants, no more", async () => {
    const wheel = await buildWheel({ name: 'minting', version: '1.0.0' })
    const upload = (authorization: string) => {
      const form = new FormData()
      const fields = { ':action': 'file_upload', protocol_version: '1', metadata_version: '2.1', name: 'minting', version: '1.0.0', filetype: 'bdist_wheel', pyversion: 'py3', sha256_digest: wheel.sha256 }
      for (const [key, value] of Object.entries(fields)) form.append(key, value)
      form.append('content', new Blob([wheel.bytes]), wheel.filename)
      return fetch(`${server.url}/artifactory/api/pypi/team-pypi`, { method: 'POST', headers: { authorization }, body: form })
    }
    const token = (c: Credential) => c.headers.authorization!.slice('Bearer '.length)
    const viewer = await upload(basicAuth('boss', token(boss['roles:team:Viewer token']!)))
    expect(viewer.status, await viewer.text()).toBe(403)
    const otherName = await upload(basicAuth('alice', token(boss['roles:team:Developer token']!)))
    expect(otherName.status, await otherName.text()).toBe(401)
    const developer = await upload(basicAuth('boss', token(boss['roles:team:Developer token']!)))
    expect(developer.status, await developer.text()).toBeLessThan(300)
  })
})

describe.each(backends)('tokens written before the minting bound (%s)', (backend) => {
  it('keep working after the upgrade: an old token authenticates and refreshes, an old session creates tokens within its life', async () => {
    // 1. A database as the version before migration 011 left it, holding a refreshable token and a console session.
    const dir = await mkdtemp(join(tmpdir(), 'trove-upgrade-'))
    const database = backend === 'postgres' ? await createTestDatabase() : { url: join(dir, 'trove.db'), drop: async () => {} }
    const store = openMetadataStore(database.url)
    const migrated = await new Migrator({ db: store.db, provider: migrationProvider(store.engine) }).migrateTo('010-scan-policies')
    expect(migrated.error).toBeUndefined()
    const hash = (text: string) => createHash('sha256').update(text).digest('hex')
    const now = Date.now()
    const old = { subject: 'dev', scope: 'applied-permissions/user', last_used_at: null }
    await store.db.insertInto('users').values({ name: 'dev', email: null, password_hash: null, is_admin: 0, is_disabled: 0, attributes: '{}', created_at: now, updated_at: now }).execute()
    await store.db
      .insertInto('tokens')
      .values([
        { ...old, id: 'old-refreshable', token_hash: hash('trv_old-refreshable'), description: 'ci', created_at: now, expires_at: now + 3_600_000, refresh_hash: hash('trvr_old-refresh') },
        { ...old, id: 'old-session', token_hash: hash('trv_old-session'), description: 'console session', created_at: now, expires_at: now + 43_200_000 },
      ])
      .execute()
    await store.close()
    // 2. This version starts on it.
    const server = await startTestServer({ backend, settings: { database: { url: database.url } } })
    try {
      const whoami = await fetch(`${server.url}/api/v1/ui/me`, { headers: { authorization: 'Bearer trv_old-refreshable' } })
      expect(((await whoami.json()) as { name: string }).name).toBe('dev')
      const refresh = await fetch(`${server.url}/access/api/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'trvr_old-refresh' }),
      })
      expect(refresh.status, await refresh.clone().text()).toBe(200)
      expect(((await refresh.json()) as TokenBody).expires_in).toBe(3600)
      // The old session is no session to this version (nothing marks it): it creates tokens within its own life.
      const session = { cookie: 'trove_session=trv_old-session', 'x-csrf-token': csrfTokenFor('trv_old-session'), 'content-type': 'application/json' }
      const within = await fetch(`${server.url}/access/api/v1/tokens`, { method: 'POST', headers: session, body: JSON.stringify({ expires_in: 3600 }) })
      expect(within.status, await within.text()).toBe(200)
      await expectRestError(await fetch(`${server.url}/access/api/v1/tokens`, { method: 'POST', headers: session, body: '{}' }), 403, /must expire no later/)
    } finally {
      await server.close()
      await database.drop()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
