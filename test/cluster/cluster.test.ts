/**
 * Three Trove nodes on one PostgreSQL and one S3 bucket (moto) behind Debian's nginx, all on
 * 127.0.0.1 (issue 15): the nodes know each other, cluster-wide switches hold on every node at
 * once, concurrent first pulls through different nodes make one upstream request, a node that
 * loses its database turns unready and recovers, and SIGTERM drains.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterNodes } from '../../src/api/system.js'
import { CLUSTER_ADMIN_AUTH, startCluster, type Cluster } from '../helpers/cluster.js'
import { requireClients } from '../helpers/clients.js'
import { POSTGRES } from '../helpers/postgres.js'
import { startMoto, type MotoServer } from '../helpers/s3.js'
import { api, deploy, download, sha256, startCountingUpstream, waitFor } from './cluster-support.js'

const isRunnable = await requireClients('the cluster suite', ['nginx', 'moto_server', POSTGRES])
const MiB = 1024 * 1024

describe.skipIf(!isRunnable)('a three-node cluster behind nginx', () => {
  let moto: MotoServer
  let cluster: Cluster

  beforeAll(async () => {
    moto = await startMoto()
    cluster = await startCluster(moto)
    await api(cluster.url, 'PUT', '/artifactory/api/repositories/generic-local', { key: 'generic-local', rclass: 'local', packageType: 'generic' })
  }, 180_000)

  afterAll(async () => {
    await cluster?.close()
    await moto?.stop()
  })

  it('lists its three nodes, serving, on any node', async () => {
    for (const node of cluster.nodes) {
      const { nodes } = (await api(node.url, 'GET', '/api/v1/system/nodes')) as ClusterNodes
      expect(nodes.filter((n) => n.state === 'serving').map((n) => n.address).sort()).toEqual(cluster.nodes.map((n) => `127.0.0.1:${n.port}`).sort())
      expect(nodes.filter((n) => n.isSelf).map((n) => n.address)).toEqual([`127.0.0.1:${node.port}`])
      for (const n of nodes) {
        expect(n.version).toMatch(/^\d+\.\d+\.\d+/)
        expect(Date.parse(n.lastHeartbeat)).toBeGreaterThanOrEqual(Date.parse(n.startedAt))
      }
    }
    // Admins only.
    expect((await fetch(`${cluster.url}/api/v1/system/nodes`)).status).toBe(401)
  })

  it('takes each request on any node: what one node stored, every node serves', async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({ path: `generic-local/spread/f${i}.bin`, content: randomBytes(64 * 1024 + i) }))
    for (const file of files) expect((await deploy(cluster.url, file.path, file.content)).status).toBe(201)
    for (const node of cluster.nodes) {
      for (const file of files) expect((await download(node.url, file.path)).sha256).toBe(sha256(file.content))
    }
  })

  it('refuses writes on every node from the first request after read-only is switched on through one', async () => {
    const [first, ...others] = cluster.nodes
    await api(first!.url, 'PUT', '/api/v1/system/read-only', { enabled: true, message: 'cluster maintenance' })
    try {
      // No waiting: the very next write on each other node is refused.
      for (const node of others) {
        const refused = await deploy(node.url, 'generic-local/ro/refused.bin', randomBytes(1024))
        expect(refused.status, refused.text).toBe(503)
        expect(refused.text).toContain('cluster maintenance')
      }
      expect((await download(others[0]!.url, 'generic-local/spread/f0.bin')).status).toBe(200)
    } finally {
      await api(others[1]!.url, 'PUT', '/api/v1/system/read-only', { enabled: false })
    }
    for (const node of cluster.nodes) expect((await deploy(node.url, `generic-local/ro/after-${node.port}.bin`, randomBytes(1024))).status).toBe(201)
  })

  it('makes exactly one upstream GET for 50 concurrent first pulls of one file spread over the nodes', async () => {
    const content = randomBytes(3 * MiB)
    const upstream = await startCountingUpstream(new Map([['/big/blob.bin', content]]), 500)
    try {
      await api(cluster.url, 'PUT', '/artifactory/api/repositories/generic-remote', { key: 'generic-remote', rclass: 'remote', packageType: 'generic', url: upstream.url })
      const pulls = await Promise.all(Array.from({ length: 50 }, () => download(cluster.url, 'generic-remote/big/blob.bin')))
      for (const pull of pulls) {
        expect(pull.status).toBe(200)
        expect(pull.sha256).toBe(sha256(content))
      }
      expect(upstream.gets.get('/big/blob.bin')).toBe(1)
      // Every node answers from the cache now.
      for (const node of cluster.nodes) expect((await download(node.url, 'generic-remote/big/blob.bin')).sha256).toBe(sha256(content))
      expect(upstream.gets.get('/big/blob.bin')).toBe(1)
    } finally {
      await upstream.close()
    }
  })

  it('takes over a remote download whose node died before caching it', async () => {
    const content = randomBytes(256 * 1024)
    // The first GET stalls (the node downloading it is killed meanwhile); later ones answer.
    const upstream = await startCountingUpstream(new Map([['/slow.bin', content]]), 4000)
    const [leader, follower] = cluster.nodes
    try {
      await api(cluster.url, 'PUT', '/artifactory/api/repositories/generic-remote2', { key: 'generic-remote2', rclass: 'remote', packageType: 'generic', url: upstream.url })
      const lost = download(leader!.url, 'generic-remote2/slow.bin').catch(() => undefined)
      await waitFor('the first node asks upstream', async () => upstream.gets.get('/slow.bin') === 1, 20_000)
      const waiting = download(follower!.url, 'generic-remote2/slow.bin')
      await sleep(300)
      await leader!.kill()
      await lost
      const taken = await waiting
      expect(taken.status).toBe(200)
      expect(taken.sha256).toBe(sha256(content))
      expect(upstream.gets.get('/slow.bin')).toBe(2)
    } finally {
      await upstream.close()
      if (!leader!.isRunning) await leader!.restart()
    }
  })

  it('turns a node that loses PostgreSQL unready, and ready again without a restart when it is back', async () => {
    const node = cluster.nodes[2]!
    const proxy = cluster.databaseProxies[2]!
    const readiness = async () => {
      const response = await fetch(`${node.url}/api/v1/system/readiness`, { signal: AbortSignal.timeout(10_000) })
      return { status: response.status, body: (await response.json()) as { checks: { name: string; status: string }[] } }
    }
    expect((await readiness()).status).toBe(200)
    expect((await deploy(cluster.url, 'generic-local/outage/before.bin', randomBytes(4096))).status).toBe(201)
    await proxy.stop()
    const cutAt = Date.now()
    try {
      await waitFor('readiness 503', async () => (await readiness()).status === 503, 20_000)
      const down = await readiness()
      expect(down.body.checks).toContainEqual(expect.objectContaining({ name: 'metadata', status: 'DOWN' }))
      // The balancer keeps serving through the other nodes meanwhile (the cut-off node answers 503, which it retries elsewhere).
      for (let i = 0; i < 6; i++) expect((await download(cluster.url, 'generic-local/outage/before.bin')).status).toBe(200)
      const direct = await fetch(`${node.url}/artifactory/generic-local/outage/before.bin`, { headers: { authorization: CLUSTER_ADMIN_AUTH } })
      expect(direct.status).toBe(503)
      // Ten seconds without its database, as the fault says.
      await sleep(Math.max(0, 10_000 - (Date.now() - cutAt)))
    } finally {
      await proxy.start()
    }
    await waitFor('readiness 200 again', async () => (await readiness()).status === 200, 20_000)
    expect(node.isRunning).toBe(true)
    expect((await deploy(node.url, 'generic-local/after-outage.bin', randomBytes(4096))).status).toBe(201)
  })

  it('drains on SIGTERM: an upload in flight completes, the process exits 0, the others carry on', async () => {
    const node = cluster.nodes[1]!
    const content = randomBytes(4 * MiB)
    // A slow upload: its body trickles in while the node is told to stop.
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (let offset = 0; offset < content.length; offset += 256 * 1024) {
          controller.enqueue(content.subarray(offset, offset + 256 * 1024))
          await sleep(100)
        }
        controller.close()
      },
    })
    const upload = fetch(`${node.url}/artifactory/generic-local/drain/in-flight.bin`, {
      method: 'PUT',
      headers: { authorization: CLUSTER_ADMIN_AUTH, 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit)
    await sleep(500)
    const exit = node.stop()
    const response = await upload
    expect(response.status, await response.text()).toBe(201)
    expect(await exit).toBe(0)
    expect((await download(cluster.url, 'generic-local/drain/in-flight.bin')).sha256).toBe(sha256(content))
    const { nodes } = (await api(cluster.url, 'GET', '/api/v1/system/nodes')) as ClusterNodes
    expect(nodes.map((n) => n.address)).not.toContain(`127.0.0.1:${node.port}`)
    await node.restart()
  })
})
