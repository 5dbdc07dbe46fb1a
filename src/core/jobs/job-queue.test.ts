import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import { JobQueue } from './job-queue.js'

const backends = await metadataBackends()

describe.each(backends)('job queue (%s)', (backend) => {
  let core: CoreFixture
  beforeEach(async () => {
    core = await createCoreFixture(backend)
  })
  afterEach(() => core.cleanup())

  it('runs a queued job once and records its result', async () => {
    const queue = new JobQueue(core.metadata.db, core.logger)
    const seen: unknown[] = []
    queue.register('echo', async (payload) => {
      seen.push(payload)
      return { ok: true }
    })
    const job = await queue.enqueue('echo', { n: 1 })

    expect(await queue.runDue()).toBe(1)
    expect(await queue.runDue()).toBe(0)
    expect(seen).toEqual([{ n: 1 }])
    expect(await queue.get(job.id)).toMatchObject({ status: 'done', attempts: 1, result: { ok: true } })
  })

  it('keeps one pending job per dedupe key, and frees the key when it is done', async () => {
    const queue = new JobQueue(core.metadata.db, core.logger)
    queue.register('reindex', async () => 'done')
    const first = await queue.enqueue('reindex', {}, { dedupeKey: 'reindex:repo' })
    const second = await queue.enqueue('reindex', {}, { dedupeKey: 'reindex:repo' })
    expect(second.id).toBe(first.id)
    await queue.runDue()
    const third = await queue.enqueue('reindex', {}, { dedupeKey: 'reindex:repo' })
    expect(third.id).not.toBe(first.id)
  })

  it('retries a failing job later instead of losing it', async () => {
    const queue = new JobQueue(core.metadata.db, core.logger)
    let calls = 0
    queue.register('flaky', async () => {
      calls++
      throw new Error('upstream down')
    })
    const job = await queue.enqueue('flaky', {})
    await queue.runDue()
    const after = await queue.get(job.id)
    expect(calls).toBe(1)
    expect(after).toMatchObject({ status: 'queued', attempts: 1, result: { error: 'upstream down' } })
    expect(after!.runAt).toBeGreaterThan(Date.now())
  })

  it('never runs a job twice when two nodes poll at the same moment', async () => {
    const runs: string[] = []
    const nodes = ['node-a', 'node-b'].map((name) => {
      const queue = new JobQueue(core.metadata.db, core.logger)
      queue.register('once', async () => {
        runs.push(name)
        await new Promise((resolve) => setTimeout(resolve, 50))
      })
      return queue
    })
    for (let i = 0; i < 10; i++) await nodes[0]!.enqueue('once', { i })

    const counts = await Promise.all(nodes.map((q) => q.runDue()))

    expect(counts[0]! + counts[1]!).toBe(10)
    expect(runs).toHaveLength(10)
  })

  it('keeps the lease of a job that runs longer than the lease: no other node runs it meanwhile', async () => {
    const leaseMs = 300
    const a = new JobQueue(core.metadata.db, core.logger, { leaseMs })
    const b = new JobQueue(core.metadata.db, core.logger, { leaseMs })
    const runs: string[] = []
    let finish!: () => void
    const finished = new Promise<void>((resolve) => (finish = resolve))
    a.register('long', async () => {
      runs.push('a')
      await finished
    })
    b.register('long', async () => {
      runs.push('b')
    })
    const job = await a.enqueue('long', {})
    const running = a.runDue()
    // Node b polls for four lease lengths while a still runs the job.
    for (let i = 0; i < 12; i++) {
      await new Promise((resolve) => setTimeout(resolve, leaseMs / 3))
      expect(await b.runDue()).toBe(0)
    }
    finish()
    expect(await running).toBe(1)
    expect(runs).toEqual(['a'])
    expect(await a.get(job.id)).toMatchObject({ status: 'done', attempts: 1 })
  })

  it('leases again a running job whose lease was not renewed (its node is gone)', async () => {
    const job = await new JobQueue(core.metadata.db, core.logger).enqueue('orphan', { n: 1 })
    await core.metadata.db
      .updateTable('jobs')
      .set({ status: 'running', lease_owner: 'gone-host:1:dead', lease_until: Date.now() - 1, attempts: 1 })
      .where('id', '=', job.id)
      .execute()
    const b = new JobQueue(core.metadata.db, core.logger)
    const seen: unknown[] = []
    b.register('orphan', async (payload) => {
      seen.push(payload)
      return 'finished'
    })
    expect(await b.runDue()).toBe(1)
    expect(seen).toEqual([{ n: 1 }])
    expect(await b.get(job.id)).toMatchObject({ status: 'done', attempts: 2, result: 'finished' })
  })
})
