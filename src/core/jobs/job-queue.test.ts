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
})
