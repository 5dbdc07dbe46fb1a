/**
 * A job taken over in a cluster (issue 15): two real `trove serve` nodes on one PostgreSQL and one
 * S3 bucket (moto). A cleanup policy run (a job of the shared queue, long because it deletes 150
 * releases one by one) is killed with SIGKILL on the node that holds its lease, mid-run; the other
 * node sees the dead node's heartbeat go stale (`cluster.nodeTimeoutSecs`, 2 s here, far below the
 * 5-minute job lease), takes the job over and finishes it: what the policy keeps is left, every
 * release is whole or gone, and the run finished once (one job, one audit event, no version
 * deleted or logged twice).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import type { ClusterNodes } from '../../src/api/system.js'
import { CLUSTER_ADMIN_AUTH, startCluster, type Cluster } from '../helpers/cluster.js'
import { requireClients } from '../helpers/clients.js'
import { POSTGRES } from '../helpers/postgres.js'
import { buildWheel, uploadDist } from '../helpers/python.js'
import { startMoto, type MotoServer } from '../helpers/s3.js'
import { api, waitFor } from './cluster-support.js'

const isRunnable = await requireClients('the cluster job takeover suite', ['moto_server', 'nginx', POSTGRES])
const RELEASES = 150
const KEEP = 5
/** Two wheels per release, each with its `.metadata` beside it: four files. */
const TAGS = ['py3-none-any', 'py2.py3-none-any']
const FILES_PER_RELEASE = 4
const POLICY = '/artifactory/api/cleanup/packages/policies/takeover'
const RUN_JOB = 'cleanup-policy-run'

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
})

describe('a job whose node is killed mid-run', () => {
  if (isRunnable)
    it('is taken over by another node after the node timeout and finishes once', { timeout: 600_000 }, async () => {
      const moto: MotoServer = await startMoto()
      cleanups.push(() => moto.stop())
      const cluster: Cluster = await startCluster(moto, { nodes: 2, env: { TROVE_CLUSTER_NODE_TIMEOUT_SECS: '2' } })
      cleanups.push(() => cluster.close())
      const db = new pg.Client({ connectionString: cluster.database.url })
      await db.connect()
      cleanups.push(() => db.end())
      const [first] = cluster.nodes

      /** Files per release folder of the project, as the storage API lists them. */
      const releases = async (base: string) => {
        const listing = (await api(base, 'GET', '/artifactory/api/storage/pylocal/proj?list&deep=1')) as { files: { uri: string }[] }
        const counts = new Map<string, number>()
        for (const { uri } of listing.files) {
          const version = uri.split('/')[1]!
          counts.set(version, (counts.get(version) ?? 0) + 1)
        }
        return counts
      }

      // 1. 150 releases of 4 files each, uploaded as twine does, spread over both nodes.
      await api(first!.url, 'PUT', '/artifactory/api/repositories/pylocal', { key: 'pylocal', rclass: 'local', packageType: 'pypi' })
      const upload = async (r: number) => {
        const node = cluster.nodes[r % cluster.nodes.length]!
        for (const tag of TAGS) {
          const release = { name: 'proj', version: `1.${r}.0` }
          const res = await uploadDist(`${node.url}/artifactory/api/pypi/pylocal`, CLUSTER_ADMIN_AUTH, release, await buildWheel({ ...release, tag }))
          expect(res.status, res.text).toBe(200)
        }
      }
      // Six at a time, but the newest (those the policy keeps: the last uploaded) one by one, in order.
      const PARALLEL = RELEASES - KEEP
      for (let r = 0; r < PARALLEL; r += 6) await Promise.all(Array.from({ length: Math.min(6, PARALLEL - r) }, (_, i) => upload(r + i)))
      for (let r = PARALLEL; r < RELEASES; r++) await upload(r)
      expect((await releases(first!.url)).size).toBe(RELEASES)

      // 2. A run, started on the first node; whichever node leases its job is killed once a release is gone.
      await api(first!.url, 'PUT', POLICY, { searchCriteria: { repos: ['pylocal'], keepLastNVersions: KEEP } })
      const started = (await api(first!.url, 'POST', `${POLICY}/run`)) as { runId: string }
      const runId = String(started.runId)
      const folders = async () => ((await api(first!.url, 'GET', '/artifactory/api/storage/pylocal/proj')) as { children: unknown[] }).children.length
      for (let i = 0; i < 6000 && (await folders()) === RELEASES; i++) await sleep(5)
      const jobRows = async () =>
        (await db.query<{ id: string; status: string; attempts: number; lease_owner: string | null; result: string | null }>(
          `SELECT id, status, attempts, lease_owner, result FROM jobs WHERE kind = $1 AND payload::jsonb ->> 'runId' = $2`,
          [RUN_JOB, runId],
        )).rows
      const [leased] = await jobRows()
      expect(leased?.status).toBe('running')
      const { nodes } = (await api(first!.url, 'GET', '/api/v1/system/nodes')) as ClusterNodes
      const holderAddress = nodes.find((n) => n.id === leased!.lease_owner)?.address
      const victim = cluster.nodes.find((n) => `127.0.0.1:${n.port}` === holderAddress)
      expect(victim, `the job's lease owner ${leased!.lease_owner} is one of the nodes: ${JSON.stringify(nodes)}`).toBeDefined()
      await victim!.kill()
      const survivor = cluster.nodes.find((n) => n !== victim)!

      // 3. Mid-run: some releases gone, not all, and every one whole or gone.
      const atKill = await releases(survivor.url)
      expect(atKill.size).toBeLessThan(RELEASES)
      expect(atKill.size, 'the run was killed before its end').toBeGreaterThan(KEEP)
      for (const [version, files] of atKill) expect(files, version).toBe(FILES_PER_RELEASE)

      // 4. The survivor takes the job over (the node timeout, not the 5-minute lease) and finishes the run.
      let run: Record<string, unknown> = {}
      await waitFor(
        'the run finished on the surviving node',
        async () => {
          run = (await api(survivor.url, 'GET', `/artifactory/api/cleanup/runs/${runId}?limit=1000`)) as Record<string, unknown>
          return run.status === 'succeeded' || run.status === 'failed'
        },
        120_000,
        200,
      )
      expect(run.status, survivor.log).toBe('succeeded')
      expect(run.failures).toBe(0)
      const kept = await releases(survivor.url)
      expect([...kept.keys()].sort()).toEqual(Array.from({ length: KEEP }, (_, i) => `1.${RELEASES - KEEP + i}.0`).sort())
      for (const files of kept.values()) expect(files).toBe(FILES_PER_RELEASE)

      // 5. Once in effect: one job, leased twice (the dead node, then the survivor), done; one audit event for the run; no version logged twice.
      const rows = await jobRows()
      expect(rows.map((r) => ({ status: r.status, attempts: r.attempts, owner: r.lease_owner }))).toEqual([{ status: 'done', attempts: 2, owner: null }])
      const audited = await db.query(`SELECT id FROM audit_events WHERE action = 'cleanup.run' AND details LIKE $1`, [`%${runId}%`])
      expect(audited.rows).toHaveLength(1)
      const items = await db.query<{ version: string; outcome: string }>(`SELECT version, outcome FROM cleanup_run_items WHERE run_id = $1`, [runId])
      const logged = items.rows.map((i) => i.version)
      expect(new Set(logged).size).toBe(logged.length)
      expect(items.rows.every((i) => i.outcome === 'deleted')).toBe(true)
      expect(run.versions).toBe(logged.length)
      for (const version of logged) expect(kept.has(version), version).toBe(false)
      // The survivor's own share of the run (what was left at the kill, less what it keeps) is in the log.
      expect(logged.length).toBeGreaterThanOrEqual(atKill.size - KEEP)
    })
})
