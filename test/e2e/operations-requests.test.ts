/**
 * Self-service requests (issue #20) over real HTTP: a user asks for a project, the naming and
 * upstream (SSRF) rules apply at once, an admin approves it with an edited quota and it exists as
 * the admin API would have made it; the requester leads it and deploys into it. A remote
 * repository request is declined with a reason the requester sees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditPage, ServiceRequestBody } from '../../src/api/operations.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createUser, expectRestError, type ApiCall } from './admin-http.js'

describe('self-service requests', () => {
  let server: TestServer
  let call: ApiCall
  const auth: Record<string, string> = {}

  beforeAll(async () => {
    server = await startTestServer({ settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    call = apiClient(server)
    for (const name of ['dev', 'lead', 'other']) auth[name] = await createUser(call, name)
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'taken' } })).status).toBe(201)
  })

  afterAll(async () => {
    await server?.close()
  })

  const submit = (json: unknown, who = auth.dev) => call('POST', '/api/v1/requests', { auth: who, json })
  let shop: ServiceRequestBody

  it('checks the naming and upstream rules when the request is made, storing nothing bad', async () => {
    await expectRestError(await submit({ kind: 'project', key: 'Bad-Key', purpose: 'x' }), 400, /invalid project key/, 'key')
    await expectRestError(await submit({ kind: 'project', key: 'taken', purpose: 'x' }), 400, /already exists/, 'key')
    await expectRestError(await submit({ kind: 'project', key: 'shop', purpose: 'x', members: [{ name: 'ghost', roles: ['Developer'] }] }), 400, /no such user 'ghost'/, 'members[0].name')
    await expectRestError(await submit({ kind: 'remote-repository', key: 'internal', packageType: 'generic', url: 'http://10.0.0.1/', why: 'x' }), 400, /private/, 'url')
    await expectRestError(await submit({ kind: 'remote-repository', key: 'cobol-remote', packageType: 'cobol', url: 'http://127.0.0.1:9/', why: 'x' }), 400, /not supported/, 'packageType')
    await expectRestError(await submit({ kind: 'coffee' }), 400, /kind/, 'kind')
    await expectRestError(await submit({ kind: 'project', key: 'shop', purpose: 'x' }, null as never), 401, /authentication/)
    expect(((await (await call('GET', '/api/v1/requests')).json()) as { requests: unknown[] }).requests).toEqual([])
  })

  it('lets a user request a project and see their own requests only', async () => {
    const res = await submit({ kind: 'project', key: 'shop', name: 'Web shop', purpose: 'the storefront team', quotaBytes: 1000, members: [{ name: 'lead', roles: ['Developer'] }] })
    expect(res.status, await res.clone().text()).toBe(201)
    shop = (await res.json()) as ServiceRequestBody
    expect(shop).toMatchObject({ kind: 'project', requester: 'dev', status: 'pending', request: { key: 'shop', quotaBytes: 1000 } })
    const mine = (await (await call('GET', '/api/v1/requests', { auth: auth.dev })).json()) as { requests: ServiceRequestBody[] }
    expect(mine.requests.map((r) => r.id)).toEqual([shop.id])
    expect(((await (await call('GET', '/api/v1/requests', { auth: auth.other })).json()) as { requests: unknown[] }).requests).toEqual([])
    expect((await call('GET', `/api/v1/requests/${shop.id}`, { auth: auth.other })).status).toBe(404)
    await expectRestError(await call('POST', `/api/v1/requests/${shop.id}/approve`, { auth: auth.dev, json: {} }), 403, /not an administrator/)
  })

  it('creates the project on approval, with the admin’s edit, as the admin API does; the requester deploys into it', async () => {
    const res = await call('POST', `/api/v1/requests/${shop.id}/approve`, { json: { quotaBytes: 5000 } })
    expect(res.status, await res.clone().text()).toBe(200)
    expect((await res.json()) as ServiceRequestBody).toMatchObject({ status: 'approved', decidedBy: 'admin', granted: { project: 'shop', storageQuotaBytes: 5000 } })
    const project = (await (await call('GET', '/access/api/v1/projects/shop')).json()) as Record<string, unknown>
    expect(project).toMatchObject({ project_key: 'shop', display_name: 'Web shop', description: 'the storefront team', storage_quota_bytes: 5000 })
    expect(((await (await call('GET', '/access/api/v1/projects/shop/users')).json()) as { members: unknown[] }).members).toEqual(
      expect.arrayContaining([{ name: 'dev', roles: ['Project Admin'] }, { name: 'lead', roles: ['Developer'] }]),
    )
    // The requester leads it: creates a repository in it and deploys.
    expect((await call('PUT', '/artifactory/api/repositories/shop-files', { auth: auth.dev, json: { rclass: 'local', packageType: 'generic' } })).status).toBe(200)
    expect((await call('PUT', '/artifactory/shop-files/site.zip', { auth: auth.dev, body: 'site' })).status).toBe(201)
    await expectRestError(await call('POST', `/api/v1/requests/${shop.id}/approve`, { json: {} }), 409, /already approved/)
    const audit = (await (await call('GET', '/api/v1/audit?action=request.approve')).json()) as AuditPage
    expect(audit.events.map((e) => [e.actor, e.outcome, e.target, e.project])).toEqual([
      ['admin', 'failure', shop.id, null],
      ['admin', 'success', shop.id, 'shop'],
      ['dev', 'denied', shop.id, null],
    ])
  })

  it('declines a remote repository request with the reason the requester sees', async () => {
    const res = await submit({ kind: 'remote-repository', key: 'cache-remote', packageType: 'generic', url: 'http://127.0.0.1:9/files/', why: 'build caching' })
    expect(res.status, await res.clone().text()).toBe(201)
    const asked = (await res.json()) as ServiceRequestBody
    const queue = (await (await call('GET', '/api/v1/requests?status=pending')).json()) as { requests: ServiceRequestBody[] }
    expect(queue.requests.map((r) => r.id)).toEqual([asked.id])
    await expectRestError(await call('POST', `/api/v1/requests/${asked.id}/decline`, { json: {} }), 400, /reason is required/, 'reason')
    expect((await call('POST', `/api/v1/requests/${asked.id}/decline`, { json: { reason: 'use the shared generic cache' } })).status).toBe(200)
    const seen = (await (await call('GET', `/api/v1/requests/${asked.id}`, { auth: auth.dev })).json()) as ServiceRequestBody
    expect(seen).toMatchObject({ status: 'declined', reason: 'use the shared generic cache', decidedBy: 'admin' })
    expect((await call('GET', '/artifactory/api/repositories/cache-remote')).status).toBe(404)
  })
})
