/**
 * Faults of a three-node cluster under a 64-client mixed load through nginx (issue 15): a node
 * killed with SIGKILL loses no acknowledged upload and serves no corrupt byte, and a rolling
 * restart (SIGTERM, drain, start) of every node fails no request.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type Cluster } from '../helpers/cluster.js'
import { requireClients } from '../helpers/clients.js'
import { POSTGRES } from '../helpers/postgres.js'
import { startMoto, type MotoServer } from '../helpers/s3.js'
import { api, deploy, download, sha256 } from './cluster-support.js'
import { MixedLoad, type StoredFile } from './mixed-load.js'

const isRunnable = await requireClients('the cluster fault suite', ['nginx', 'moto_server', POSTGRES])
const CLIENTS = 64

describe.skipIf(!isRunnable)('a three-node cluster under load', () => {
  let moto: MotoServer
  let cluster: Cluster
  const known: StoredFile[] = []

  beforeAll(async () => {
    moto = await startMoto()
    cluster = await startCluster(moto)
    await api(cluster.url, 'PUT', '/artifactory/api/repositories/load-local', { key: 'load-local', rclass: 'local', packageType: 'generic' })
    for (let i = 0; i < 12; i++) {
      const content = randomBytes(48 * 1024 + i * 4096)
      const path = `load-local/known/k${i}.bin`
      expect((await deploy(cluster.url, path, content)).status).toBe(201)
      known.push({ path, sha256: sha256(content) })
    }
  }, 180_000)

  afterAll(async () => {
    await cluster?.close()
    await moto?.stop()
  })

  /** Every acknowledged upload reads back, byte for byte, through the balancer. */
  async function expectAllStored(files: readonly StoredFile[]): Promise<void> {
    for (let i = 0; i < files.length; i += 16) {
      const results = await Promise.all(files.slice(i, i + 16).map(async (f) => ({ f, r: await download(cluster.url, f.path) })))
      for (const { f, r } of results) {
        expect(r.status, f.path).toBe(200)
        expect(r.sha256, f.path).toBe(f.sha256)
      }
    }
  }

  it('kill -9 of one node: no acknowledged upload lost, no corrupt byte served, reads keep succeeding', { timeout: 240_000 }, async () => {
    const load = new MixedLoad(cluster.url, 'load-local', known)
    load.start(CLIENTS)
    await sleep(3000)
    const victim = cluster.nodes[1]!
    await victim.kill()
    await sleep(4000)
    await load.stop()

    expect(load.corrupt).toEqual([])
    expect(load.failedReads).toEqual([])
    expect(load.reads).toBeGreaterThan(CLIENTS)
    expect(load.acknowledged.length).toBeGreaterThan(CLIENTS / 2)
    // Only uploads in flight on the killed node may fail: at most one per client.
    expect(load.failedUploads.length).toBeLessThanOrEqual(CLIENTS)
    await expectAllStored(load.acknowledged)

    await victim.restart()
    expect((await download(victim.url, load.acknowledged[0]!.path)).sha256).toBe(load.acknowledged[0]!.sha256)
  })

  it('a rolling restart of all three nodes fails no request', { timeout: 300_000 }, async () => {
    const load = new MixedLoad(cluster.url, 'load-local', known)
    load.start(CLIENTS)
    await sleep(2000)
    // Node by node: out of the balancer, SIGTERM (drain), start, back in.
    for (const node of cluster.nodes) {
      await cluster.nginx.setDown(node.port, true)
      expect(await node.stop()).toBe(0)
      await node.restart()
      await cluster.nginx.setDown(node.port, false)
      await sleep(1000)
    }
    await load.stop()

    expect(load.corrupt).toEqual([])
    expect(load.failedReads).toEqual([])
    expect(load.failedUploads).toEqual([])
    expect(load.acknowledged.length).toBeGreaterThan(CLIENTS)
    await expectAllStored(load.acknowledged)
  })
})
