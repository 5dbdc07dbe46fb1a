/**
 * A maintenance window on a cluster of two nodes sharing one PostgreSQL (issue #20): scheduled on
 * one node with a short test notice, it makes both nodes read-only at its start and writable again
 * at its end by themselves; the start and the end are each recorded once for the whole cluster.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditPage, MaintenanceWindowBody } from '../../src/api/operations.js'
import { createTrove, type Trove } from '../../src/main.js'
import { createTestBlobstore, type TestBlobstore } from '../helpers/blobstore.js'
import { requireClients } from '../helpers/clients.js'
import { POSTGRES, createTestDatabase, type TestDatabase } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, basicAuth, testConfig } from '../helpers/server.js'

const hasPostgres = await requireClients('the two-node maintenance window test', [POSTGRES])
const adminAuth = basicAuth('admin', ADMIN_PASSWORD)

describe.skipIf(!hasPostgres)('a maintenance window on two nodes', () => {
  let database: TestDatabase
  let dataDir: string
  let blobstore: TestBlobstore
  const nodes: { trove: Trove; url: string }[] = []

  const call = (node: number, method: string, path: string, json?: unknown) =>
    fetch(`${nodes[node]!.url}${path}`, {
      method,
      headers: { authorization: adminAuth, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: json !== undefined ? JSON.stringify(json) : undefined,
    })
  const deployBody = (node: number, name: string) =>
    fetch(`${nodes[node]!.url}/artifactory/shared/${name}`, { method: 'PUT', headers: { authorization: adminAuth }, body: name }).then((r) => r.status)

  beforeAll(async () => {
    database = await createTestDatabase()
    dataDir = await mkdtemp(join(tmpdir(), 'trove-maintenance-cluster-'))
    blobstore = await createTestBlobstore(dataDir)
    // A short notice for the test; both nodes share the database and the blob store.
    const config = testConfig({ dataDir, databaseUrl: database.url, blobstore, settings: { operations: { maintenanceNoticeSecs: 2 } } })
    for (let i = 0; i < 2; i++) {
      const trove = await createTrove(config, { logger: pino({ level: 'silent' }) })
      nodes.push({ trove, url: await trove.listen() })
    }
    expect((await call(0, 'PUT', '/artifactory/api/repositories/shared', { rclass: 'local', packageType: 'generic' })).status).toBe(200)
  })

  afterAll(async () => {
    for (const node of nodes) await node.trove.close()
    await blobstore?.close()
    await database?.drop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('switches both nodes to read-only at the start and back at the end, each transition recorded once', async () => {
    // 1. Scheduled on node 0 with the (test) notice: a few seconds ahead, a few seconds long.
    const start = Date.now() + 4000
    const res = await call(0, 'POST', '/api/v1/system/maintenance', { kind: 'read-only', message: 'cluster test', start: new Date(start).toISOString(), end: new Date(start + 5000).toISOString() })
    expect(res.status, await res.clone().text()).toBe(201)
    const window = (await res.json()) as MaintenanceWindowBody

    // 2. Announced on node 1 too (each node reads the table), while it still takes writes.
    const announced = await call(1, 'GET', '/artifactory/api/system/ping')
    expect(announced.headers.get('x-trove-maintenance') ?? (await waitForHeader(1))).toContain(window.id)

    // 3. Both nodes refuse writes once it starts, by themselves.
    for (const node of [0, 1]) await until(async () => (await deployBody(node, `during-${node}.txt`)) === 503, `node ${node} read-only`)
    const refused = await fetch(`${nodes[1]!.url}/artifactory/shared/x.txt`, { method: 'PUT', headers: { authorization: adminAuth }, body: 'x' })
    expect(refused.status).toBe(503)
    expect(await refused.text()).toMatch(/read-only for maintenance until .*: cluster test/)
    expect((await call(1, 'GET', '/artifactory/api/repositories')).status).toBe(200)

    // 4. And take writes again after its end.
    for (const node of [0, 1]) await until(async () => (await deployBody(node, `after-${node}.txt`)) === 201, `node ${node} writable`)

    // 5. One start and one end for the whole cluster, by the system.
    await until(async () => (await auditOf('maintenance.end')).length === 1, 'the end recorded')
    const starts = await auditOf('maintenance.start')
    expect(starts.map((e) => [e.actor, e.target])).toEqual([['system', window.id]])
    expect(await auditOf('maintenance.end')).toHaveLength(1)
  })

  async function auditOf(action: string) {
    return ((await (await call(0, 'GET', `/api/v1/audit?action=${action}`)).json()) as AuditPage).events
  }

  async function waitForHeader(node: number): Promise<string> {
    let header: string | null = null
    await until(async () => (header = (await call(node, 'GET', '/artifactory/api/system/ping')).headers.get('x-trove-maintenance')) !== null, 'the header')
    return header!
  }
})

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what} did not come true within a minute`)
}
