/**
 * The cluster's shared-state pieces on a real database: two "nodes" are two sets of services on
 * one metadata store (on PostgreSQL, two connection pools, as two processes would have).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends, POSTGRES_ADMIN_URL } from '../../../test/helpers/postgres.js'
import { openMetadataStore, type MetadataStore } from '../../metadata/database.js'
import { JobQueue } from '../jobs/job-queue.js'
import { ClusterFlights } from '../remote/cluster-flights.js'
import { InstanceRegistry } from '../system/instances.js'
import { ChangeFeed } from './change-feed.js'
import { ClusterLeases } from './leases.js'

const backends = await metadataBackends()

describe.each(backends)('cluster state (%s)', (backend) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  async function fixture(): Promise<CoreFixture> {
    const core = await createCoreFixture(backend)
    cleanups.push(() => core.cleanup())
    return core
  }

  /** A second node's own connection to the same database (the same store object on SQLite). */
  async function secondNode(core: CoreFixture): Promise<MetadataStore> {
    if (backend === 'sqlite') return core.metadata
    const other = openMetadataStore(await databaseUrlOf(core))
    cleanups.push(() => other.close())
    return other
  }

  it('tells every subscriber of a topic, on this node at once and on another node through the database', async () => {
    const core = await fixture()
    const feedA = new ChangeFeed(core.metadata, core.logger, { pollMs: 5000, relistenMs: 1000 })
    const feedB = new ChangeFeed(await secondNode(core), core.logger, { pollMs: 5000, relistenMs: 1000 })
    await feedA.start()
    await feedB.start()
    cleanups.push(() => feedA.stop(), () => feedB.stop())
    const seenA: string[] = []
    const seenB: string[] = []
    feedA.subscribe('system.read-only', () => seenA.push('read-only'))
    feedB.subscribe('system.read-only', () => seenB.push('read-only'))
    feedB.subscribe('repositories', () => seenB.push('repositories'))

    await feedA.publish('system.read-only')
    expect(seenA).toEqual(['read-only'])
    if (backend === 'postgres') {
      // NOTIFY, not the 5 s poll: well within a second on an idle machine; the bound here is loose.
      await waitUntil(() => seenB.length === 1, 4000)
      expect(seenB).toEqual(['read-only'])
    }
  })

  if (backend === 'postgres') it('falls back to polling when notifications are lost', async () => {
    const core = await fixture()
    const other = await secondNode(core)
    // A node whose notification connection cannot be opened: it polls.
    const deaf: MetadataStore = { ...other, listen: async () => Promise.reject(new Error('no LISTEN here')) }
    const feedA = new ChangeFeed(core.metadata, core.logger)
    const feedB = new ChangeFeed(deaf, core.logger, { pollMs: 200, relistenMs: 60_000 })
    await feedA.start()
    await feedB.start()
    cleanups.push(() => feedA.stop(), () => feedB.stop())
    let seen = 0
    feedB.subscribe('repositories', () => seen++)
    await feedA.publish('repositories')
    await feedA.publish('repositories')
    await waitUntil(() => seen >= 1, 4000)
    await sleep(500)
    // Two changes between polls are one re-read: subscribers re-read the state, they count nothing.
    expect(seen).toBeGreaterThanOrEqual(1)
    expect(seen).toBeLessThanOrEqual(2)
  })

  it('grants a lease to one holder at a time, and to another once released or expired', async () => {
    const core = await fixture()
    const a = new ClusterLeases(core.metadata.db, 'node-a', core.logger, { ttlMs: 600, renewMs: 10_000 })
    const b = new ClusterLeases((await secondNode(core)).db, 'node-b', core.logger, { ttlMs: 600, renewMs: 10_000 })
    const held = await a.tryAcquire('x')
    expect(held).toBeDefined()
    expect(await b.tryAcquire('x')).toBeUndefined()
    expect(await b.isHeld('x')).toBe(true)
    await held!.release()
    const taken = await b.tryAcquire('x')
    expect(taken).toBeDefined()
    // b stops renewing (it "died"): after the TTL the lease is free for a.
    expect(await a.tryAcquire('x')).toBeUndefined()
    await sleep(800)
    const retaken = await a.tryAcquire('x')
    expect(retaken).toBeDefined()
    await retaken!.release()
    await taken!.release() // not b's any more: changes nothing
    expect(await a.isHeld('x')).toBe(false)
  })

  it('keeps a renewed lease past its TTL', async () => {
    const core = await fixture()
    const a = new ClusterLeases(core.metadata.db, 'node-a', core.logger, { ttlMs: 500, renewMs: 100 })
    const held = await a.tryAcquire('y')
    await sleep(1200)
    expect(await new ClusterLeases(core.metadata.db, 'node-b', core.logger).tryAcquire('y')).toBeUndefined()
    await held!.release()
  })

  it('makes a follower of a remote download wait for the cache, or take over when the leader goes', async () => {
    const core = await fixture()
    const leaderLeases = new ClusterLeases(core.metadata.db, 'leader', core.logger, { ttlMs: 400, renewMs: 100 })
    const follower = new ClusterFlights(new ClusterLeases(core.metadata.db, 'follower', core.logger, { ttlMs: 400, renewMs: 100 }), 20)
    const leader = new ClusterFlights(leaderLeases, 20)
    let isCached = false
    const lead = await leader.lead('repo\0a', async () => isCached)
    expect(lead).toBeDefined()
    // 1. The leader caches the file and releases: the follower answers from the cache.
    const waiting = follower.lead('repo\0a', async () => isCached)
    await sleep(100)
    isCached = true
    await lead!.release()
    expect(await waiting).toBeUndefined()
    // 2. The leader fails (releases without caching): the follower leads.
    isCached = false
    const second = await leader.lead('repo\0b', async () => false)
    const takeover = follower.lead('repo\0b', async () => false)
    await sleep(100)
    await second!.release()
    const lease = await takeover
    expect(lease).toBeDefined()
    await lease!.release()
  })

  it('leases a dead node’s running job again at once, and gives its own back at shutdown', async () => {
    const core = await fixture()
    const registry = new InstanceRegistry(core.metadata.db, core.logger, { heartbeatMs: 60_000, staleMs: 60_000 })
    await registry.start()
    cleanups.push(() => registry.stop())
    // A job leased (five-minute lease) by an instance with no row: it is dead.
    const dead = new JobQueue(core.metadata.db, core.logger, { owner: '00000000deadbeef' })
    const ran: string[] = []
    dead.register('work', async () => {
      await new Promise(() => {}) // never finishes: the process "dies" mid-job
    })
    const job = await dead.enqueue('work', { n: 1 })
    void dead.runDue()
    await waitUntil(async () => (await dead.get(job.id))?.status === 'running', 4000)

    const alive = new JobQueue(core.metadata.db, core.logger, { owner: registry.id, liveness: () => registry.liveness() })
    alive.register('work', async (payload) => {
      ran.push(JSON.stringify(payload))
      return 'ok'
    })
    expect(await alive.runDue()).toBe(1)
    expect(ran).toEqual(['{"n":1}'])
    expect(await alive.get(job.id)).toMatchObject({ status: 'done', attempts: 2 })

    // A queue stopped while its job runs gives the lease back after the timeout.
    const stopping = new JobQueue(core.metadata.db, core.logger, { owner: 'aaaaaaaaaaaaaaaa' })
    stopping.register('slow', () => new Promise(() => {}))
    const slow = await stopping.enqueue('slow', {})
    stopping.start(60_000)
    await waitUntil(async () => (await stopping.get(slow.id))?.status === 'running', 4000)
    await stopping.stop(100)
    expect(await stopping.get(slow.id)).toMatchObject({ status: 'queued', attempts: 1 })
  })
})

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`)
    await sleep(20)
  }
}

/** The fixture's PostgreSQL database: current_database() on the server the tests use. */
async function databaseUrlOf(core: CoreFixture): Promise<string> {
  const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(core.metadata.db)
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${rows[0]!.name}`
  return url.toString()
}
