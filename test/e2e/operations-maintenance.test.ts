/**
 * Maintenance windows (issue #20) on one node: a window announced for tomorrow shows in the
 * header of every answer and in `npm-notice`, which the real npm client prints during `npm
 * install`; a window with an hour's notice is refused unless forced with a reason; an outage
 * answers 503 except for the console and the system API, where an admin ends it early; windows
 * survive a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditPage, MaintenanceList, MaintenanceWindowBody } from '../../src/api/operations.js'
import { createTrove, type Trove } from '../../src/main.js'
import { ClientHome } from '../conformance/npm/clients.js'
import { createTestBlobstore, type TestBlobstore } from '../helpers/blobstore.js'
import { requireClients } from '../helpers/clients.js'
import { npmPackage } from '../helpers/npm.js'
import { ADMIN_PASSWORD, basicAuth, testConfig } from '../helpers/server.js'
import { expectRestError } from './admin-http.js'

const HOUR = 3600 * 1000
const hasNpm = await requireClients('the npm-notice check of maintenance windows', ['npm'])
const adminAuth = basicAuth('admin', ADMIN_PASSWORD)

describe('maintenance windows on one node', () => {
  let dataDir: string
  let blobstore: TestBlobstore
  let trove: Trove
  let url: string
  let home: ClientHome

  const start = async () => {
    trove = await createTrove(testConfig({ dataDir, blobstore }), { logger: pino({ level: 'silent' }) })
    url = await trove.listen()
  }
  const call = (method: string, path: string, options: { auth?: string | null; json?: unknown; body?: string } = {}) => {
    const headers: Record<string, string> = {}
    const auth = options.auth === undefined ? adminAuth : options.auth
    if (auth !== null) headers.authorization = auth
    if (options.json !== undefined) headers['content-type'] = 'application/json'
    return fetch(`${url}${path}`, { method, headers, body: options.json !== undefined ? JSON.stringify(options.json) : options.body })
  }
  const schedule = (body: Record<string, unknown>) => call('POST', '/api/v1/system/maintenance', { json: body })
  const iso = (ms: number) => new Date(ms).toISOString()

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'trove-maintenance-'))
    blobstore = await createTestBlobstore(dataDir)
    home = await ClientHome.create()
    await start()
  })

  afterAll(async () => {
    await trove?.close()
    await blobstore?.close()
    await home?.remove()
    await rm(dataDir, { recursive: true, force: true })
  })

  let tomorrow: MaintenanceWindowBody

  it('announces a window for tomorrow: listed, and named in the header of every answer, errors and the login page included', async () => {
    expect((await call('GET', '/artifactory/api/system/ping')).headers.get('x-trove-maintenance')).toBeNull()
    const startsAt = Date.now() + 25 * HOUR
    const res = await schedule({ kind: 'read-only', message: 'Database upgrade — pushes paused', start: iso(startsAt), end: iso(startsAt + 2 * HOUR) })
    expect(res.status, await res.clone().text()).toBe(201)
    tomorrow = (await res.json()) as MaintenanceWindowBody
    expect(tomorrow).toMatchObject({ kind: 'read-only', state: 'scheduled', createdBy: 'admin', forcedReason: null })

    const list = (await (await call('GET', '/api/v1/system/maintenance', { auth: null })).json()) as MaintenanceList
    expect(list.current).toMatchObject({ id: tomorrow.id, state: 'scheduled', createdBy: '' })
    expect(list.noticeSecs).toBe(24 * 3600)

    for (const [path, auth] of [['/artifactory/api/system/ping', null], ['/api/v1/ui/me', null], ['/artifactory/no-such-repo/x', null], ['/artifactory/api/repositories', adminAuth], ['/artifactory/api/repositories', basicAuth('admin', 'not-the-password')]] as const) {
      const answer = await call('GET', path, { auth })
      expect(answer.headers.get('x-trove-maintenance'), path).toContain(`id="${tomorrow.id}"`)
      expect(answer.headers.get('x-trove-maintenance')).toContain('state="scheduled"')
      // Header values are ASCII: the dash of the message is replaced, the rest kept.
      expect(answer.headers.get('npm-notice'), path).toMatch(/^Trove maintenance \(read-only\) scheduled, .*: Database upgrade \? pushes paused$/)
    }
    // Announced is not started: writes still work.
    expect((await call('PUT', '/artifactory/api/repositories/files', { json: { rclass: 'local', packageType: 'generic' } })).status).toBe(200)
  })

  it('refuses a window with an hour of notice unless forced with a reason, and refuses non-admins', async () => {
    const soon = { kind: 'read-only', message: 'quick fix', start: iso(Date.now() + HOUR), end: iso(Date.now() + 2 * HOUR) }
    await expectRestError(await schedule(soon), 400, /at least 24 h of notice/, 'start')
    await expectRestError(await schedule({ ...soon, force: true }), 400, /reason/, 'start')
    await expectRestError(await schedule({ ...soon, start: 'tomorrow' }), 400, /ISO 8601/, 'start')
    await expectRestError(await schedule({ ...soon, kind: 'nap' }), 400, /kind must be/, 'kind')
    await expectRestError(await schedule({ ...soon, end: soon.start }), 400, /end must be after start/, 'end')
    expect((await call('PUT', '/artifactory/api/security/users/joe', { json: { password: 'joe-password-1', email: 'j@example.test' } })).status).toBe(201)
    await expectRestError(await call('POST', '/api/v1/system/maintenance', { auth: basicAuth('joe', 'joe-password-1'), json: soon }), 403, /not an administrator/)
    const windows = (await (await call('GET', '/api/v1/system/maintenance')).json()) as MaintenanceList
    expect(windows.windows.map((w) => w.id)).toEqual([tomorrow.id])

    const forced = await schedule({ ...soon, force: true, reason: 'security patch' })
    expect(forced.status).toBe(201)
    const body = (await forced.json()) as MaintenanceWindowBody
    expect(body.forcedReason).toBe('security patch')
    // Cancelled again (it starts before it ends): announced once more, then gone from the banner.
    const cancelled = await call('PATCH', `/api/v1/system/maintenance/${body.id}`, { json: { endNow: true } })
    expect(((await cancelled.json()) as MaintenanceWindowBody).state).toBe('cancelled')
    const audit = (await (await call('GET', '/api/v1/audit?action=maintenance.')).json()) as AuditPage
    expect(audit.events.map((e) => [e.action, e.outcome, e.actor])).toEqual([
      ['maintenance.change', 'success', 'admin'],
      ['maintenance.create', 'success', 'admin'],
      ['maintenance.create', 'denied', 'joe'],
      ['maintenance.create', 'failure', 'admin'],
      ['maintenance.create', 'failure', 'admin'],
      ['maintenance.create', 'failure', 'admin'],
      ['maintenance.create', 'failure', 'admin'],
      ['maintenance.create', 'failure', 'admin'],
      ['maintenance.create', 'success', 'admin'],
    ])
  })

  it.skipIf(!hasNpm)('makes npm install print the notice in the terminal', async () => {
    expect((await call('PUT', '/artifactory/api/repositories/npm-local', { json: { rclass: 'local', packageType: 'npm', anonymousRead: true } })).status).toBe(200)
    const pkg = await npmPackage({ name: 'left-pad-ops', version: '1.0.0' })
    expect((await call('PUT', '/artifactory/api/npm/npm-local/left-pad-ops', { json: pkg.body })).status).toBe(201)
    await home.writeNpmrc([`registry=${url}/artifactory/api/npm/npm-local/`])
    const project = await home.folder('app', { 'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'left-pad-ops': '1.0.0' } }) })
    const result = await home.run('npm', ['install', '--no-audit', '--no-fund'], { cwd: project })
    expect(result.code, result.output).toBe(0)
    expect(result.output).toMatch(/npm notice Trove maintenance \(read-only\) scheduled, .*Database upgrade \? pushes paused/)
  })

  it('keeps its windows across a restart', async () => {
    await trove.close()
    await start()
    const list = (await (await call('GET', '/api/v1/system/maintenance')).json()) as MaintenanceList
    expect(list.current?.id).toBe(tomorrow.id)
    expect((await call('GET', '/artifactory/api/system/ping')).headers.get('x-trove-maintenance')).toContain(tomorrow.id)
  })

  it('in an outage answers 503 but to the console and the system API, where an admin ends it early', async () => {
    const res = await schedule({ kind: 'outage', message: 'storage move', start: iso(Date.now()), end: iso(Date.now() + HOUR), force: true, reason: 'disk failing' })
    expect(res.status).toBe(201)
    const outage = (await res.json()) as MaintenanceWindowBody
    // Every node reads the windows at most a second late.
    await until(async () => (await call('GET', '/artifactory/api/repositories')).status === 503)
    const refused = await call('GET', '/artifactory/api/repositories')
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(refused.headers.get('x-trove-maintenance')).toContain(`id="${outage.id}"`)
    await expectRestError(refused, 503, /down for maintenance until .*: storage move/)
    expect((await call('GET', '/api/v1/system/maintenance', { auth: null })).status).toBe(200)
    expect((await call('GET', '/api/v1/ui/me', { auth: null })).status).toBe(200)

    const ended = await call('PATCH', `/api/v1/system/maintenance/${outage.id}`, { json: { endNow: true } })
    expect(ended.status, await ended.clone().text()).toBe(200)
    expect(((await ended.json()) as MaintenanceWindowBody).state).toBe('ended')
    expect((await call('GET', '/artifactory/api/repositories')).status).toBe(200)
    await expectRestError(await call('PATCH', `/api/v1/system/maintenance/${outage.id}`, { json: { endNow: true } }), 409, /already ended/)
  })
})

async function until(condition: () => Promise<boolean>, what = 'the condition'): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what} did not come true within a minute`)
}
