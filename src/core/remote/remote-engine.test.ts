/**
 * The remote engine with mutable metadata (`isMetadata: true`), as the npm and docker formats use
 * it: served from the cache within `retrievalCachePeriodSecs`, re-fetched after it, and served
 * stale — with a log line and a counter — when the upstream fails. The upstreams are real
 * node:http servers on 127.0.0.1; the engine is the one a running Trove wires.
 */
import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import { startTestServer, type TestServer } from '../../../test/helpers/server.js'
import { sendBody, startUpstream, writeChunks, type FakeUpstream, type UpstreamHandler } from '../../../test/e2e/remote-support.js'
import { isTroveError } from '../errors.js'
import type { CoreServices } from '../services.js'
import type { Repository } from '../repositories/repository-service.js'
import type { RemoteResult } from './remote-engine.js'

const backends = await metadataBackends()

describe.each(backends)('RemoteEngine, metadata (%s)', (backend) => {
  let server: TestServer
  let services: CoreServices
  const cleanups: (() => Promise<void>)[] = []
  let serial = 0

  beforeAll(async () => {
    server = await startTestServer({ backend, settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    services = server.trove.services
  })

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    await server?.close()
  })

  const upstream = async (handler: UpstreamHandler): Promise<FakeUpstream> => {
    const started = await startUpstream(handler)
    cleanups.push(() => started.close())
    return started
  }

  /** A fresh remote repository (its own engine state) on `url`. */
  const remote = async (url: string, config: Record<string, unknown> = {}): Promise<Repository> => {
    const key = `meta-${++serial}`
    return services.repositories.create(key, { rclass: 'remote', packageType: 'generic', url, ...config })
  }

  /** An upstream serving `state.body` with `state.status`, both changeable by the test. */
  const mutableUpstream = async (initial: string) => {
    const state = { body: initial, status: 200 }
    const server = await upstream((_req, res) => sendBody(res, state.body, { 'content-type': 'application/json' }, state.status))
    return { state, server }
  }

  const fetchMetadata = (repository: Repository, path = 'index.json') => services.remote.fetch(repository, path, { isMetadata: true })

  /** The content of a cached result (metadata is small: read whole). */
  const contentOf = async (result: RemoteResult): Promise<string> => {
    if (result.kind !== 'cached') throw new Error(`expected a cached result, got ${result.kind}`)
    return text(await services.artifacts.open(result.asset))
  }

  const staleCount = async (repoKey: string): Promise<number> =>
    (await services.metrics.staleServed.get()).values.find((v) => v.labels.repo === repoKey)?.value ?? 0

  const reload = (repository: Repository) => services.repositories.require(repository.key)

  it('serves fresh metadata from the cache within retrievalCachePeriodSecs without asking upstream', async () => {
    const { server: up } = await mutableUpstream('{"v":1}')
    const repository = await remote(up.url, { retrievalCachePeriodSecs: 3600 })

    const first = await fetchMetadata(repository)
    const second = await fetchMetadata(repository)
    const third = await fetchMetadata(repository)

    expect(first).toMatchObject({ kind: 'cached', isStale: false })
    expect(await contentOf(second)).toBe('{"v":1}')
    expect(third).toMatchObject({ kind: 'cached', isStale: false })
    expect(up.hits('/index.json')).toBe(1)
    const asset = (first as Extract<RemoteResult, { kind: 'cached' }>).asset
    expect(asset).toMatchObject({ createdBy: `remote:${repository.key}`, sourceUrl: `${up.url}/index.json`, contentType: 'application/json' })
    expect(asset.fetchedAt).toEqual(expect.any(Number))
  })

  it('asks the upstream again once the period has passed', async () => {
    const { server: up } = await mutableUpstream('{"v":1}')
    const repository = await remote(up.url, { retrievalCachePeriodSecs: 1 })

    await fetchMetadata(repository)
    expect(up.hits('/index.json')).toBe(1)
    // Bounded: the period is one second.
    for (let attempt = 0; attempt < 100 && up.hits('/index.json') < 2; attempt++) {
      await fetchMetadata(repository)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }

    expect(up.hits('/index.json')).toBe(2)
  })

  it('after expiry, replaces the cached copy when the upstream content changed', async () => {
    const { server: up, state } = await mutableUpstream('{"v":1}')
    let repository = await remote(up.url, { retrievalCachePeriodSecs: 3600 })
    const first = await fetchMetadata(repository)
    state.body = '{"v":2,"more":true}'

    // 1. Within the period the old copy is served, whatever the upstream has now.
    expect(await contentOf(await fetchMetadata(repository))).toBe('{"v":1}')
    expect(up.hits('/index.json')).toBe(1)

    // 2. Past it (the admin shortens it to zero), the new content replaces the old.
    await services.repositories.update(repository.key, { retrievalCachePeriodSecs: 0 })
    repository = await reload(repository)
    const second = await fetchMetadata(repository)

    expect(await contentOf(second)).toBe('{"v":2,"more":true}')
    expect(up.hits('/index.json')).toBe(2)
    const [before, after] = [first, second].map((r) => (r as Extract<RemoteResult, { kind: 'cached' }>).asset)
    expect(after!.sha256).toBe(createHash('sha256').update('{"v":2,"more":true}').digest('hex'))
    expect(after!.sha256).not.toBe(before!.sha256)
    expect(after!.fetchedAt!).toBeGreaterThanOrEqual(before!.fetchedAt!)
    expect(await contentOf({ kind: 'cached', asset: (await services.artifacts.getAsset(repository.key, 'index.json'))!, isStale: false })).toBe(
      '{"v":2,"more":true}',
    )
  })

  it.each([429, 503])('after expiry, serves the stale copy and counts it when the upstream answers %i', async (status) => {
    const { server: up, state } = await mutableUpstream('{"v":"old"}')
    const repository = await remote(up.url, { retrievalCachePeriodSecs: 0 })
    await fetchMetadata(repository)
    state.status = status
    state.body = 'slow down'
    const staleBefore = await staleCount(repository.key)
    const warn = vi.spyOn(server.trove.logger, 'warn')

    const result = await fetchMetadata(repository)

    expect(result).toMatchObject({ kind: 'cached', isStale: true })
    expect(await contentOf(result)).toBe('{"v":"old"}')
    expect(up.hits('/index.json')).toBe(2)
    expect(await staleCount(repository.key)).toBe(staleBefore + 1)
    expect(warn.mock.calls.some(([, message]) => typeof message === 'string' && /past its cache period/.test(message))).toBe(true)
    warn.mockRestore()

    // Within assumedOfflinePeriodSecs the upstream is left alone; the stale copy is served again.
    const again = await fetchMetadata(repository)
    expect(again).toMatchObject({ kind: 'cached', isStale: true })
    expect(up.hits('/index.json')).toBe(2)
    expect(await staleCount(repository.key)).toBe(staleBefore + 2)
  })

  it('after expiry, serves the stale copy when the upstream is down', async () => {
    const { server: up } = await mutableUpstream('{"v":"kept"}')
    const repository = await remote(up.url, { retrievalCachePeriodSecs: 0 })
    await fetchMetadata(repository)
    await up.close()

    const result = await fetchMetadata(repository)

    expect(result).toMatchObject({ kind: 'cached', isStale: true })
    expect(await contentOf(result)).toBe('{"v":"kept"}')
    expect(await staleCount(repository.key)).toBe(1)
  })

  it('after expiry, serves the stale copy when the upstream stalls past socketTimeoutMillis', async () => {
    let stall = false
    const up = await upstream((_req, res) => {
      if (!stall) sendBody(res, '{"v":"before the stall"}')
    })
    const repository = await remote(up.url, { retrievalCachePeriodSecs: 0, socketTimeoutMillis: 300 })
    await fetchMetadata(repository)
    stall = true

    const result = await fetchMetadata(repository)

    expect(result).toMatchObject({ kind: 'cached', isStale: true })
    expect(await contentOf(result)).toBe('{"v":"before the stall"}')
    expect((await services.metrics.upstreamRequests.get()).values).toContainEqual(
      expect.objectContaining({ labels: { repo: repository.key, outcome: 'timeout' }, value: 1 }),
    )
  })

  it('after expiry, serves the stale copy when the upstream dies mid-body, and keeps the cached copy', async () => {
    const fresh = Buffer.from(JSON.stringify({ v: 'complete', padding: 'x'.repeat(200_000) }))
    let die = false
    const up = await upstream(async (_req, res) => {
      res.writeHead(200, { 'content-length': String(fresh.length) })
      if (die) {
        await writeChunks(res, fresh.subarray(0, 1000))
        res.socket?.destroy()
        return
      }
      await writeChunks(res, fresh)
      res.end()
    })
    const repository = await remote(up.url, { retrievalCachePeriodSecs: 0 })
    const first = await fetchMetadata(repository)
    die = true

    const result = await fetchMetadata(repository)

    expect(result).toMatchObject({ kind: 'cached', isStale: true })
    expect(await contentOf(result)).toBe(await contentOf(first))
    expect((await services.artifacts.getAsset(repository.key, 'index.json'))!.sha256).toBe(
      (first as Extract<RemoteResult, { kind: 'cached' }>).asset.sha256,
    )
  })

  it('after expiry, serves the stale copy when the upstream sends content that does not match its declared checksum', async () => {
    let lie = false
    const up = await upstream((_req, res) => {
      const body = lie ? '{"v":"tampered"}' : '{"v":"genuine"}'
      const declared = createHash('sha256').update('{"v":"genuine"}').digest('hex')
      sendBody(res, body, { 'x-checksum-sha256': declared })
    })
    const repository = await remote(up.url, { retrievalCachePeriodSecs: 0 })
    const declared = (headers: Readonly<Record<string, string>>) => ({ sha256: headers['x-checksum-sha256'] })
    await services.remote.fetch(repository, 'index.json', { isMetadata: true, expectedFromHeaders: declared })
    lie = true

    const result = await services.remote.fetch(repository, 'index.json', { isMetadata: true, expectedFromHeaders: declared })

    expect(result).toMatchObject({ kind: 'cached', isStale: true })
    expect(await contentOf(result)).toBe('{"v":"genuine"}')
  })

  describe('without a cached copy', () => {
    const failureOf = async (promise: Promise<unknown>) => {
      const err = await promise.then(
        () => undefined,
        (e: unknown) => e,
      )
      if (!isTroveError(err)) throw new Error(`expected a TroveError, got ${String(err)}`)
      return { code: err.code, message: err.message }
    }

    it('fails with UPSTREAM_UNAVAILABLE naming the upstream and its status on 429', async () => {
      const { server: up, state } = await mutableUpstream('')
      state.status = 429
      const repository = await remote(up.url)

      const failure = await failureOf(fetchMetadata(repository))

      expect(failure.code).toBe('UPSTREAM_UNAVAILABLE')
      expect(failure.message).toContain(`127.0.0.1:${up.port}`)
      expect(failure.message).toContain('429')
    })

    it('fails with UPSTREAM_UNAVAILABLE naming the upstream when the body breaks off', async () => {
      const up = await upstream(async (_req, res) => {
        res.writeHead(200, { 'content-length': '100000' })
        await writeChunks(res, Buffer.alloc(1000, 'a'))
        res.socket?.destroy()
      })
      const repository = await remote(up.url)

      const failure = await failureOf(fetchMetadata(repository))

      expect(failure.code).toBe('UPSTREAM_UNAVAILABLE')
      expect(failure.message).toContain(`127.0.0.1:${up.port}`)
      expect(await services.artifacts.getAsset(repository.key, 'index.json')).toBeUndefined()
    })

    it('fails with UPSTREAM_TIMEOUT when the upstream stalls', async () => {
      const up = await upstream(() => {})
      const repository = await remote(up.url, { socketTimeoutMillis: 300 })

      const failure = await failureOf(fetchMetadata(repository))

      expect(failure.code).toBe('UPSTREAM_TIMEOUT')
      expect(failure.message).toContain(`127.0.0.1:${up.port}`)
    })

    it('answers NOT_FOUND when the repository is offline, without asking upstream', async () => {
      const { server: up } = await mutableUpstream('{}')
      const repository = await remote(up.url, { offline: true })

      expect((await failureOf(fetchMetadata(repository))).code).toBe('NOT_FOUND')
      expect(up.requests).toHaveLength(0)
    })
  })

  it('an offline repository serves expired metadata as stale without asking upstream', async () => {
    const { server: up } = await mutableUpstream('{"v":"cached"}')
    let repository = await remote(up.url, { retrievalCachePeriodSecs: 0 })
    await fetchMetadata(repository)
    await services.repositories.update(repository.key, { offline: true })
    repository = await reload(repository)

    const result = await fetchMetadata(repository)

    expect(result).toMatchObject({ kind: 'cached', isStale: true })
    expect(up.requests).toHaveLength(1)
    expect(await staleCount(repository.key)).toBe(1)
  })

  it('sends one request upstream for concurrent fetches of expired metadata', async () => {
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let version = 0
    const up = await upstream(async (_req, res) => {
      version++
      if (version > 1) await released // the re-fetch waits until every caller is waiting for it
      sendBody(res, `{"v":${version}}`)
    })
    const repository = await remote(up.url, { retrievalCachePeriodSecs: 0 })
    await fetchMetadata(repository)

    const fetches = Array.from({ length: 20 }, () => fetchMetadata(repository))
    for (let attempt = 0; attempt < 200 && up.requests.length < 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 10))
    release()
    const results = await Promise.all(fetches)

    expect(up.requests).toHaveLength(2)
    for (const result of results) expect(await contentOf(result)).toBe('{"v":2}')
  })

  it('a request that looked in the cache just before a download finished does not download again', async () => {
    const content = Buffer.alloc(300 * 1024, 7)
    const up = await upstream((_req, res) => sendBody(res, content))
    const repository = await remote(up.url)

    // 1. The first request starts the download and streams it.
    const leader = await services.remote.fetch(repository, 'race.bin')
    expect(leader.kind).toBe('streaming')

    // 2. A second request looks in the cache (nothing yet) but is held right after that look…
    let resume!: () => void
    const held = new Promise<void>((resolve) => (resume = resolve))
    const original = services.artifacts.getAsset.bind(services.artifacts)
    const spy = vi.spyOn(services.artifacts, 'getAsset').mockImplementationOnce(async (repoKey, path) => {
      const found = await original(repoKey, path)
      await held
      return found
    })
    const follower = services.remote.fetch(repository, 'race.bin')

    // 3. …while the first download completes and leaves the in-flight table.
    await drain((leader as Extract<RemoteResult, { kind: 'streaming' }>).stream)
    expect(await original(repository.key, 'race.bin')).toBeDefined()
    resume()
    const result = await follower
    spy.mockRestore()

    // 4. It finds the finished download instead of asking the upstream again.
    expect(result.kind).toBe('cached')
    expect(up.hits('/race.bin')).toBe(1)
  })
})

async function drain(stream: Readable): Promise<void> {
  for await (const _chunk of stream) {
    // consume
  }
}
