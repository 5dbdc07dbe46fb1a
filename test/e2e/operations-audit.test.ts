/**
 * The audit log (issue #20) over real HTTP, on SQLite and PostgreSQL: each audited action appears
 * exactly once with the right actor, address and outcome, a service account's token included;
 * sign-ins succeed and fail on the record; Project Admins see their project's events only; the log
 * pages, exports as JSON lines, is pruned by age, and no API changes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEventBody, AuditPage } from '../../src/api/operations.js'
import { metadataBackends } from '../helpers/postgres.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createUser, expectRestError, type ApiCall } from './admin-http.js'

const backends = await metadataBackends()

describe.each(backends)('audit log (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall
  const auth: Record<string, string> = {}

  async function events(query: string, who?: string): Promise<readonly AuditEventBody[]> {
    const res = await call('GET', `/api/v1/audit?${query}`, who === undefined ? {} : { auth: who })
    expect(res.status, await res.clone().text()).toBe(200)
    return ((await res.json()) as AuditPage).events
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    call = apiClient(server)
    for (const name of ['lead', 'dev']) auth[name] = await createUser(call, name)
  })

  afterAll(async () => {
    await server?.close()
  })

  it('records a user change once, with the admin, how they signed in, the address and the outcome', async () => {
    await createUser(call, 'carol')
    const found = await events('action=user.put&target=carol')
    expect(found).toHaveLength(1)
    expect(found[0]).toMatchObject({ actor: 'admin', actorVia: 'password', address: '127.0.0.1', outcome: 'success', status: 201, project: null })
    // A refused change is recorded as denied, with the user who tried.
    await expectRestError(await call('DELETE', '/artifactory/api/security/users/carol', { auth: auth.dev }), 403, /not an administrator/)
    const deletes = await events('action=user.delete&target=carol')
    expect(deletes).toHaveLength(1)
    expect(deletes[0]).toMatchObject({ actor: 'dev', outcome: 'denied', status: 403 })
  })

  it('records console sign-ins, successful and failed, and refused Basic credentials', async () => {
    const login = (password: string) => call('POST', '/api/v1/ui/login', { auth: null, json: { user: 'lead', password } })
    expect((await login('wrong-password')).status).toBe(401)
    expect((await login('lead-password-1')).status).toBe(200)
    const logins = await events('action=auth.login&actor=lead')
    expect(logins.map((e) => e.outcome)).toEqual(['success', 'denied'])
    expect((await call('GET', '/artifactory/api/repositories', { auth: basicAuth('dev', 'not-it') })).status).toBe(401)
    const basic = await events('action=auth.sign-in&actor=dev')
    expect(basic).toHaveLength(1)
    expect(basic[0]).toMatchObject({ target: 'dev', outcome: 'denied', status: 401, address: '127.0.0.1' })
  })

  it("names a service account and its token as the actor of what the token does, under the project", async () => {
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'web', admin_privileges: { manage_members: true, manage_resources: true } } })).status).toBe(201)
    expect((await call('PUT', '/access/api/v1/projects/web/users/lead', { json: { roles: ['Project Admin'] } })).status).toBe(200)
    expect((await call('PUT', '/access/api/v1/projects/web/service-accounts/web-ci', { auth: auth.lead, json: { roles: ['Project Admin'] } })).status).toBe(201)
    const tokenRes = await call('POST', '/access/api/v1/tokens', { auth: auth.lead, json: { username: 'web-ci', description: 'ci' } })
    expect(tokenRes.status, await tokenRes.clone().text()).toBe(200)
    const token = (await tokenRes.json()) as { access_token: string; token_id: string }

    const created = await events(`action=token.create&target=web-ci`)
    expect(created).toHaveLength(1)
    expect(created[0]).toMatchObject({ actor: 'lead', outcome: 'success', details: { tokenId: token.token_id } })

    const res = await call('PUT', '/artifactory/api/repositories/web-libs', { auth: `Bearer ${token.access_token}`, json: { rclass: 'local', packageType: 'generic' } })
    expect(res.status, await res.clone().text()).toBe(200)
    const repo = await events('action=repository.create&target=web-libs')
    expect(repo).toHaveLength(1)
    expect(repo[0]).toMatchObject({ actor: 'web-ci', actorVia: 'token', actorToken: token.token_id, project: 'web', outcome: 'success' })

    // A delete through the artifact API is recorded by the same token, whatever route served it.
    expect((await call('PUT', '/artifactory/web-libs/a.txt', { auth: `Bearer ${token.access_token}`, body: 'hello' })).status).toBe(201)
    expect((await call('DELETE', '/artifactory/web-libs/a.txt', { auth: `Bearer ${token.access_token}` })).status).toBe(204)
    const deletes = await events('action=artifact.delete&actor=web-ci')
    expect(deletes).toHaveLength(1)
    expect(deletes[0]).toMatchObject({ target: '/artifactory/web-libs/a.txt', actorToken: token.token_id, outcome: 'success' })

    // Only an admin (or the account's Project Admin) revokes another account's token: dev's attempt is refused (as a missing token), on the record.
    expect((await call('DELETE', `/access/api/v1/tokens/${token.token_id}`, { auth: auth.dev })).status).toBe(404)
    expect((await call('DELETE', `/access/api/v1/tokens/${token.token_id}`)).status).toBe(200)
    const revoked = await events(`action=token.revoke&target=${token.token_id}`)
    expect(revoked.map((e) => [e.actor, e.outcome])).toEqual([['admin', 'success'], ['dev', 'failure']])
    expect(revoked[0]!.details).toEqual({ subject: 'web-ci' })
  })

  it("shows a Project Admin their project's events only, and others nothing", async () => {
    const mine = await events('project=web', auth.lead)
    expect(mine.length).toBeGreaterThanOrEqual(3)
    expect(new Set(mine.map((e) => e.project))).toEqual(new Set(['web']))
    await expectRestError(await call('GET', '/api/v1/audit', { auth: auth.lead }), 403, /project=/)
    await expectRestError(await call('GET', '/api/v1/audit?project=web', { auth: auth.dev }), 403, /not a Project Admin/)
    await expectRestError(await call('GET', '/api/v1/audit', { auth: null }), 401, /authentication/)
  })

  it('pages newest first, exports JSON lines, and refuses bad filters', async () => {
    const all = await events('limit=1000')
    const first = (await (await call('GET', '/api/v1/audit?limit=2')).json()) as AuditPage
    expect(first.events.map((e) => e.id)).toEqual(all.slice(0, 2).map((e) => e.id))
    const second = (await (await call('GET', `/api/v1/audit?limit=2&before=${first.next}`)).json()) as AuditPage
    expect(second.events.map((e) => e.id)).toEqual(all.slice(2, 4).map((e) => e.id))

    const exported = await call('GET', '/api/v1/audit/export?action=token.')
    expect(exported.headers.get('content-type')).toMatch(/application\/x-ndjson/)
    const lines = (await exported.text()).trim().split('\n').map((l) => JSON.parse(l) as AuditEventBody)
    expect(lines.map((e) => e.action).sort()).toEqual(['token.create', 'token.revoke', 'token.revoke'])

    await expectRestError(await call('GET', '/api/v1/audit?limit=0'), 400, /limit/, 'limit')
    await expectRestError(await call('GET', '/api/v1/audit?outcome=maybe'), 400, /outcome/, 'outcome')
    await expectRestError(await call('GET', '/api/v1/audit?from=yesterday'), 400, /from/, 'from')
  })

  it('has no API that changes or deletes an event; only age removes them', async () => {
    const before = await events('limit=1000')
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      expect((await call(method, `/api/v1/audit/${before[0]!.id}`, { json: {} })).status).toBe(404)
      expect((await call(method, '/api/v1/audit', { json: {} })).status).toBe(404)
    }
    expect((await events('limit=1000')).map((e) => e.id)).toEqual(before.map((e) => e.id))

    const db = server.trove.services.metadata.db
    await db.insertInto('audit_events').values({ id: '000000000000001-old', at: 1, actor: 'x', actor_via: null, actor_token: null, address: null, action: 'user.put', target: 'x', project: null, outcome: 'success', status: 201, details: null }).execute()
    expect(await server.trove.services.audit.prune(24 * 3600 * 1000)).toBe(1)
    expect((await events('limit=1000')).map((e) => e.id)).toEqual(before.map((e) => e.id))
  })
})
