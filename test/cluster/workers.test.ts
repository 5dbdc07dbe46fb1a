/**
 * One node of several processes (issue 22, item 2): `trove serve` with `TROVE_WORKERS=2` on SQLite
 * runs two serving workers on one port and a process for the background jobs. Requests land on
 * either worker; what one stores or switches the other sees at once; concurrent first pulls
 * through a remote make one upstream GET whichever worker takes them; a second node on the same
 * SQLite database is still refused; a worker killed with kill -9 is restarted; SIGTERM drains all.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { get as httpGet } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterNodes } from '../../src/api/system.js'
import { CLUSTER_ADMIN_AUTH, CLUSTER_ADMIN_PASSWORD } from '../helpers/cluster.js'
import { TroveNode } from '../helpers/trove-node.js'
import { api, deploy, download, sha256, startCountingUpstream, waitFor } from './cluster-support.js'

const START_TIMEOUT_MS = 240_000

/** Which process answers a request on a connection of its own (node:cluster hands connections round-robin). */
function answeringProcess(url: string): Promise<{ id: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const request = httpGet(`${url}/api/v1/system/nodes`, { agent: false, headers: { authorization: CLUSTER_ADMIN_AUTH } }, (response) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
      response.once('end', () => {
        const self = (JSON.parse(text) as ClusterNodes).nodes.find((n) => n.isSelf)
        if (self === undefined) reject(new Error(`no node is marked as self: ${text}`))
        else resolve({ id: self.id, pid: self.pid })
      })
    })
    request.once('error', reject)
    request.setTimeout(30_000, () => request.destroy(new Error('GET /api/v1/system/nodes timed out')))
  })
}

/** The status of a GET on a connection of its own. */
function statusOnNewConnection(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { agent: false, headers: { authorization: CLUSTER_ADMIN_AUTH } }, (response) => {
      response.resume().once('end', () => resolve(response.statusCode ?? 0))
    })
    request.once('error', reject)
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`GET ${url} timed out`)))
  })
}

/** The distinct processes that answered `count` requests, each on a new connection. */
async function answeringProcesses(url: string, count: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>()
  for (let i = 0; i < count; i++) {
    const { id, pid } = await answeringProcess(url)
    seen.set(id, pid)
  }
  return seen
}

describe('a node of two serving workers on SQLite', () => {
  let dataDir: string
  let env: Record<string, string>
  let node: TroveNode

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'trove-workers-'))
    env = { TROVE_DATA_DIR: dataDir, TROVE_ADMIN_PASSWORD: CLUSTER_ADMIN_PASSWORD, TROVE_WORKERS: '2', TROVE_ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' }
    node = await TroveNode.start('workers', env, { startTimeoutMs: START_TIMEOUT_MS })
    await api(node.url, 'PUT', '/artifactory/api/repositories/generic-local', { key: 'generic-local', rclass: 'local', packageType: 'generic' })
  }, START_TIMEOUT_MS + 30_000)

  afterAll(async () => {
    await node?.kill()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('lists its processes (two serving on the port, one running the jobs) and answers from both workers', async () => {
    // Bounded: the jobs process starts once both workers listen.
    const serving = async () => ((await api(node.url, 'GET', '/api/v1/system/nodes')) as ClusterNodes).nodes.filter((n) => n.state === 'serving').length
    await waitFor('three processes serving', async () => (await serving()) === 3, 60_000, 200)
    const { nodes } = (await api(node.url, 'GET', '/api/v1/system/nodes')) as ClusterNodes
    expect(nodes.map((n) => n.state)).toEqual(['serving', 'serving', 'serving'])
    expect(nodes.filter((n) => n.address === `127.0.0.1:${node.port}`)).toHaveLength(2)
    expect(new Set(nodes.map((n) => n.pid)).size).toBe(3)
    expect((await answeringProcesses(node.url, 8)).size).toBe(2)
  })

  it('serves from every worker what one stored, and refuses writes on every worker once read-only is on', async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({ path: `generic-local/spread/f${i}.bin`, content: randomBytes(32 * 1024 + i) }))
    for (const file of files) expect((await deploy(node.url, file.path, file.content)).status).toBe(201)
    const reads = await Promise.all(files.flatMap((file) => [download(node.url, file.path), download(node.url, file.path)]))
    for (const [i, read] of reads.entries()) expect(read.sha256).toBe(sha256(files[Math.floor(i / 2)]!.content))

    await api(node.url, 'PUT', '/api/v1/system/read-only', { enabled: true, message: 'workers maintenance' })
    try {
      const refused = await Promise.all(Array.from({ length: 6 }, (_, i) => deploy(node.url, `generic-local/ro/refused-${i}.bin`, randomBytes(1024))))
      for (const r of refused) {
        expect(r.status, r.text).toBe(503)
        expect(r.text).toContain('workers maintenance')
      }
    } finally {
      await api(node.url, 'PUT', '/api/v1/system/read-only', { enabled: false })
    }
    expect((await deploy(node.url, 'generic-local/ro/after.bin', randomBytes(1024))).status).toBe(201)
  })

  it('makes one upstream GET for 20 concurrent first pulls of one file, whichever worker takes them', async () => {
    const content = randomBytes(2 * 1024 * 1024)
    const upstream = await startCountingUpstream(new Map([['/big/blob.bin', content]]), 500)
    try {
      await api(node.url, 'PUT', '/artifactory/api/repositories/generic-remote', { key: 'generic-remote', rclass: 'remote', packageType: 'generic', url: upstream.url })
      const pulls = await Promise.all(Array.from({ length: 20 }, () => download(node.url, 'generic-remote/big/blob.bin')))
      for (const pull of pulls) {
        expect(pull.status).toBe(200)
        expect(pull.sha256).toBe(sha256(content))
      }
      expect(upstream.gets.get('/big/blob.bin')).toBe(1)
    } finally {
      await upstream.close()
    }
  })

  it('refuses a second node on the same SQLite database, with workers or without', async () => {
    for (const workers of ['2', '1']) {
      const second = await TroveNode.start(`second node, ${workers} worker(s)`, { ...env, TROVE_WORKERS: workers }, { startTimeoutMs: START_TIMEOUT_MS }).catch((err: Error) => err)
      expect(second).toBeInstanceOf(Error)
      expect((second as Error).message).toMatch(/exited during start \(2\)/)
      expect((second as Error).message).toContain('another Trove node is running on the SQLite database')
    }
    expect((await fetch(`${node.url}/api/v1/system/readiness`)).status).toBe(200)
  }, 2 * START_TIMEOUT_MS)

  it('restarts a worker killed with kill -9 while the other keeps serving', async () => {
    const before = await answeringProcesses(node.url, 6)
    const [victimId, victimPid] = [...before.entries()][0]!
    process.kill(victimPid, 'SIGKILL')
    // The other worker answers meanwhile. A kept-alive connection the killed worker held is gone
    // with it, and a connection the primary handed over in the moment before it saw the death can
    // hang: so, as a client with a timeout does, new connections with 5 s each, three at most.
    let status = 0
    for (let attempt = 0; attempt < 3 && status !== 200; attempt++) {
      status = await statusOnNewConnection(`${node.url}/artifactory/generic-local/spread/f0.bin`, 5_000).catch(() => 0)
    }
    expect(status).toBe(200)
    await waitFor(
      'a new worker in place of the killed one',
      async () => {
        const now = await answeringProcesses(node.url, 4)
        return now.size === 2 && !now.has(victimId)
      },
      START_TIMEOUT_MS,
      500,
    )
  }, START_TIMEOUT_MS + 30_000)

  it('drains every process at SIGTERM and exits 0', async () => {
    const { nodes } = (await api(node.url, 'GET', '/api/v1/system/nodes')) as ClusterNodes
    const pids = nodes.filter((n) => n.state !== 'unresponsive').map((n) => n.pid)
    expect(await node.stop()).toBe(0)
    for (const pid of pids) expect(isRunning(pid), `pid ${pid}`).toBe(false)
  })
})

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
