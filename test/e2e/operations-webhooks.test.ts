/**
 * Outgoing webhooks (issue #20) against a real receiver on 127.0.0.1: it is down when the first
 * event is sent, so the delivery fails and is retried through the job queue; once it is up it gets
 * the signed JSON (HMAC-SHA256 of the body), with a `text` for chat. A Project Admin's webhook gets
 * its project's deploys and the maintenance announcements, not other projects' events.
 */
import { createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreatedWebhookBody, WebhookDeliveryBody } from '../../src/api/operations.js'
import { publishBody } from '../helpers/npm.js'
import { freePort } from '../helpers/ports.js'
import { fixtureRecords, lodashTarball, packageJsonOf } from '../helpers/scanning.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createUser, expectRestError, type ApiCall } from './admin-http.js'

interface Received {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

describe('webhooks', () => {
  let server: TestServer
  let call: ApiCall
  let receiver: Server | undefined
  let port: number
  const received: Received[] = []
  const auth: Record<string, string> = {}
  const SECRET = 'a-shared-secret-of-the-team'

  const startReceiver = () =>
    new Promise<void>((resolve) => {
      receiver = createServer((req, res) => {
        let body = ''
        req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
        req.on('end', () => {
          received.push({ path: req.url ?? '', headers: req.headers, body })
          res.writeHead(204).end()
        })
      })
      receiver.listen(port, '127.0.0.1', () => resolve())
    })

  beforeAll(async () => {
    server = await startTestServer({ settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] }, operations: { maintenanceNoticeSecs: 0 } } })
    call = apiClient(server)
    port = await freePort()
    for (const name of ['lead', 'dev']) auth[name] = await createUser(call, name)
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'web' } })).status).toBe(201)
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'api' } })).status).toBe(201)
    expect((await call('PUT', '/access/api/v1/projects/web/users/lead', { json: { roles: ['Project Admin'] } })).status).toBe(200)
    for (const key of ['web-files', 'api-files']) expect((await call('PUT', `/artifactory/api/repositories/${key}`, { json: { rclass: 'local', packageType: 'generic' } })).status).toBe(200)
  })

  afterAll(async () => {
    await server?.close()
    await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)))
  })

  async function deliveries(id: string, who?: string): Promise<readonly WebhookDeliveryBody[]> {
    const res = await call('GET', `/api/v1/webhooks/${id}/deliveries`, who ? { auth: who } : {})
    expect(res.status, await res.clone().text()).toBe(200)
    return ((await res.json()) as { deliveries: WebhookDeliveryBody[] }).deliveries
  }

  let system: CreatedWebhookBody

  it('refuses bad webhooks and non-admins, changing nothing', async () => {
    await expectRestError(await call('POST', '/api/v1/webhooks', { json: { name: 'x', url: 'ftp://127.0.0.1/', events: ['maintenance.started'] } }), 400, /http or https/, 'url')
    await expectRestError(await call('POST', '/api/v1/webhooks', { json: { name: 'x', url: `http://127.0.0.1:${port}/`, events: ['coffee.ready'] } }), 400, /unknown: coffee.ready/, 'events')
    await expectRestError(await call('POST', '/api/v1/webhooks', { auth: auth.dev, json: { name: 'x', url: `http://127.0.0.1:${port}/`, events: ['maintenance.started'] } }), 403, /not an administrator/)
    await expectRestError(await call('POST', '/api/v1/webhooks', { auth: auth.dev, json: { name: 'x', url: `http://127.0.0.1:${port}/`, events: ['artifact.deployed'], project: 'web' } }), 403, /not a Project Admin/)
    expect(((await (await call('GET', '/api/v1/webhooks')).json()) as { webhooks: unknown[] }).webhooks).toEqual([])
  })

  it('retries a delivery while the receiver is down, and delivers it signed once it is up', async () => {
    const res = await call('POST', '/api/v1/webhooks', { json: { name: 'ops chat', url: `http://127.0.0.1:${port}/ops`, events: ['maintenance.announced', 'maintenance.started'], secret: SECRET } })
    expect(res.status, await res.clone().text()).toBe(201)
    system = (await res.json()) as CreatedWebhookBody
    expect(system.secret).toBe(SECRET)
    expect(JSON.stringify(await (await call('GET', `/api/v1/webhooks/${system.id}`)).json())).not.toContain(SECRET)

    const start = new Date(Date.now() + 48 * 3600_000).toISOString()
    const end = new Date(Date.now() + 50 * 3600_000).toISOString()
    expect((await call('POST', '/api/v1/system/maintenance', { json: { kind: 'read-only', message: 'Upgrade to 2.0', start, end } })).status).toBe(201)

    // 1. The receiver is down: the first attempt fails and stays pending for a retry.
    await until(async () => (await deliveries(system.id)).some((d) => d.attempts >= 1), 'a first attempt')
    const failed = (await deliveries(system.id))[0]!
    expect(failed).toMatchObject({ event: 'maintenance.announced', status: 'pending', responseStatus: null })
    expect(failed.error).toMatch(/ECONNREFUSED|connect/)

    // 2. Up: the job queue's retry delivers it.
    await startReceiver()
    await until(async () => (await deliveries(system.id))[0]!.status === 'delivered', 'the delivery')
    const delivered = (await deliveries(system.id))[0]!
    expect(delivered.attempts).toBeGreaterThanOrEqual(2)
    expect(delivered.responseStatus).toBe(204)

    expect(received).toHaveLength(1)
    const got = received[0]!
    expect(got.path).toBe('/ops')
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.headers['x-trove-event']).toBe('maintenance.announced')
    expect(got.headers['x-trove-signature-256']).toBe(`sha256=${createHmac('sha256', SECRET).update(got.body).digest('hex')}`)
    const payload = JSON.parse(got.body) as { event: string; text: string; data: Record<string, unknown>; project: null }
    expect(payload).toMatchObject({ event: 'maintenance.announced', project: null, data: { kind: 'read-only', message: 'Upgrade to 2.0', start, end } })
    expect(payload.text).toMatch(/^Maintenance announced \(read-only\), .*: Upgrade to 2\.0$/)
  })

  it("sends a project's deploys to its Project Admin's webhook only", async () => {
    const res = await call('POST', '/api/v1/webhooks', { auth: auth.lead, json: { name: 'web team', url: `http://127.0.0.1:${port}/web`, events: ['artifact.deployed', 'maintenance.announced'], project: 'web' } })
    expect(res.status, await res.clone().text()).toBe(201)
    const hook = (await res.json()) as CreatedWebhookBody
    expect(hook.secret.length).toBeGreaterThanOrEqual(16)
    // The lead sees their project's webhooks, not the system's.
    expect(((await (await call('GET', '/api/v1/webhooks?project=web', { auth: auth.lead })).json()) as { webhooks: { id: string }[] }).webhooks.map((w) => w.id)).toEqual([hook.id])
    expect((await call('GET', `/api/v1/webhooks/${system.id}`, { auth: auth.lead })).status).toBe(404)

    expect((await call('PUT', '/artifactory/api-files/other.txt', { body: 'other' })).status).toBe(201)
    expect((await call('PUT', '/artifactory/web-files/app-1.0.txt', { body: 'app' })).status).toBe(201)
    await until(async () => received.some((r) => r.path === '/web'), 'the project delivery')
    // Give a wrongly routed delivery the time to arrive too: the deliveries of both webhooks are settled.
    await until(async () => (await deliveries(hook.id)).every((d) => d.status === 'delivered'), 'settled deliveries')
    const web = received.filter((r) => r.path === '/web').map((r) => JSON.parse(r.body) as { event: string; project: string; data: { path: string }; text: string })
    expect(web).toHaveLength(1)
    expect(web[0]).toMatchObject({ event: 'artifact.deployed', project: 'web', data: { path: 'app-1.0.txt' }, text: 'Deployed web-files/app-1.0.txt' })
    expect(received.filter((r) => r.path === '/web')[0]!.headers['x-trove-signature-256']).toBe(
      `sha256=${createHmac('sha256', hook.secret).update(received.find((r) => r.path === '/web')!.body).digest('hex')}`,
    )
  })

  it("tells a project's webhook about its quota levels and a download a policy blocked", async () => {
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'small', storage_quota_bytes: 100 } })).status).toBe(201)
    expect((await call('PUT', '/artifactory/api/repositories/small-files', { json: { rclass: 'local', packageType: 'generic' } })).status).toBe(200)
    expect((await call('PUT', '/artifactory/api/repositories/small-npm', { json: { rclass: 'local', packageType: 'npm' } })).status).toBe(200)
    const res = await call('POST', '/api/v1/webhooks', { json: { name: 'small', url: `http://127.0.0.1:${port}/small`, events: ['quota.warning', 'quota.exceeded', 'download.blocked', 'scan.findings'], minSeverity: 'high', project: 'small' } })
    expect(res.status, await res.clone().text()).toBe(201)
    const events = () => received.filter((r) => r.path === '/small').map((r) => JSON.parse(r.body) as { event: string; project: string; text: string; data: Record<string, unknown> })

    // 1. Past 80 %: a warning; then an upload that does not fit: refused, and said so.
    expect((await call('PUT', '/artifactory/small-files/a.bin', { body: 'x'.repeat(85) })).status).toBe(201)
    await until(async () => events().length === 1, 'the warning')
    expect(events()[0]).toMatchObject({ event: 'quota.warning', project: 'small', data: { usedBytes: 85, quotaBytes: 100 }, text: 'Project small uses 85% of its storage quota' })
    expect((await call('PUT', '/artifactory/small-files/b.bin', { body: 'y'.repeat(30) })).status).toBe(413)
    await until(async () => events().length === 2, 'the refusal')
    expect(events()[1]).toMatchObject({ event: 'quota.exceeded', project: 'small', data: { quotaBytes: 100 } })

    // 2. A download a policy blocks (lodash 4.17.15 has high advisories in the fixtures).
    expect((await call('PUT', '/access/api/v1/projects/small', { json: { storage_quota_bytes: -1 } })).status).toBe(200)
    expect((await call('POST', '/api/v1/vulndb/import', { json: await fixtureRecords() })).status).toBe(200)
    const tarball = await lodashTarball()
    expect((await call('PUT', '/artifactory/api/npm/small-npm/lodash', { json: publishBody({ tarball, manifest: await packageJsonOf(tarball) }) })).status).toBe(201)
    const critical = await call('POST', '/api/v1/webhooks', { json: { name: 'critical only', url: `http://127.0.0.1:${port}/critical`, events: ['scan.findings'], minSeverity: 'critical' } })
    expect(critical.status).toBe(201)
    await server.trove.services.jobs.runDue()
    // 3. The scan's findings, at or above each webhook's minimum severity.
    await until(async () => events().some((e) => e.event === 'scan.findings'), 'the scan findings')
    const found = events().find((e) => e.event === 'scan.findings')!
    expect(found).toMatchObject({ project: 'small', data: { repository: 'small-npm', path: 'lodash/-/lodash-4.17.15.tgz' } })
    expect(['high', 'critical']).toContain(found.data.worst)
    // Both webhooks' deliveries were written together, before either was sent: the log is complete now.
    const criticalId = ((await critical.json()) as CreatedWebhookBody).id
    expect((await deliveries(criticalId)).map((d) => d.event)).toEqual(found.data.worst === 'critical' ? ['scan.findings'] : [])
    expect((await call('PUT', '/api/v1/scan/policies/no-high', { json: { repositories: ['small-npm'], minSeverity: 'high' } })).status).toBe(201)
    expect((await call('GET', '/artifactory/api/npm/small-npm/lodash/-/lodash-4.17.15.tgz')).status).toBe(403)
    await until(async () => events().some((e) => e.event === 'download.blocked'), 'the blocked download')
    expect(events().find((e) => e.event === 'download.blocked')).toMatchObject({ project: 'small', data: { repository: 'small-npm', path: 'lodash/-/lodash-4.17.15.tgz' } })

    // 4. The delivery log is kept as long as the audit log: past it, finished deliveries go.
    expect((await deliveries(system.id)).length).toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 5))
    expect(await server.trove.services.webhooks.prune(1)).toBeGreaterThan(0)
    expect(await deliveries(system.id)).toEqual([])
  })
})

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 900; i++) {
    if (await condition()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what} did not come true within 90 s`)
}
