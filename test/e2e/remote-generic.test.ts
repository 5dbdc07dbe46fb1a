/**
 * Generic remote and virtual repositories over real HTTP. The upstreams are real servers on
 * 127.0.0.1: a second Trove whose generic local repository is the upstream, and small node:http
 * servers that count requests and misbehave on purpose (stall, cut the connection, lie about a
 * checksum, answer 429/503, demand a registry token login).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import {
  Client,
  blobKey,
  createRepository,
  createUser,
  curl,
  deploy,
  digestsOf,
  expectRestError,
  grant,
  randomPayload,
  sha256Of,
  storeSnapshot,
  waitUntil,
} from './generic-support.js'
import {
  createRemote,
  fetchHashed,
  getHashed,
  metricValue,
  sendBody,
  startUpstream,
  updateRepository,
  writeChunks,
  type FakeUpstream,
} from './remote-support.js'

const backends = await metadataBackends()
const hasCurl = await requireClients('the generic remote suite (curl)', ['curl'])

const ALLOW_LOOPBACK = { remote: { allowedUpstreamHosts: ['127.0.0.1'] } }

describe.skipIf(!hasCurl).each(backends)('generic remote and virtual repositories (%s)', (backend) => {
  /** The Trove under test; it may reach 127.0.0.1. */
  let server: TestServer
  let admin: Client
  /** A second Trove, whose generic local repository `up-local` is the upstream. */
  let upstreamTrove: TestServer
  let upstreamAdmin: Client
  let workDir: string
  const cleanups: (() => Promise<void>)[] = []

  /** Starts a fake upstream that is closed after the suite. */
  const upstream = async (handler: Parameters<typeof startUpstream>[0]): Promise<FakeUpstream> => {
    const started = await startUpstream(handler)
    cleanups.push(() => started.close())
    return started
  }
  const storage = (repoPath: string) => admin.get(`/artifactory/api/storage/${repoPath}`)
  const blobsOf = async (target: TestServer) => (await storeSnapshot(target)).blobs
  const out = (name: string) => join(workDir, name)

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'trove-remote-'))
    server = await startTestServer({ backend, settings: ALLOW_LOOPBACK })
    admin = new Client(server.url, server.adminAuth)
    upstreamTrove = await startTestServer()
    upstreamAdmin = new Client(upstreamTrove.url, upstreamTrove.adminAuth)
    await createRepository(upstreamAdmin, 'up-local', { anonymousRead: true })
  })

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    await server?.close()
    await upstreamTrove?.close()
    if (workDir) await rm(workDir, { recursive: true, force: true })
  })

  describe('pull-through from another Trove', () => {
    it('serves uncached content byte for byte to curl and fetch, and caches it with its source', async () => {
      const first = randomPayload(1024 * 1024 + 17)
      const second = randomPayload(300 * 1024)
      await deploy(upstreamAdmin, 'up-local/lib/a/first.bin', first)
      await deploy(upstreamAdmin, 'up-local/lib/b/second.bin', second)
      await createRemote(admin, 'pull-remote', `${upstreamTrove.url}/artifactory/up-local`)

      // 1. curl pulls a file nothing has cached yet.
      const byCurl = await curl([`${server.url}/artifactory/pull-remote/lib/a/first.bin`], out('first.bin'))
      expect(byCurl.status).toBe(200)
      expect(sha256Of(byCurl.body)).toBe(sha256Of(first))

      // 2. fetch pulls another one.
      const byFetch = await fetchHashed(`${server.url}/artifactory/pull-remote/lib/b/second.bin`)
      expect(byFetch).toMatchObject({ status: 200, sha256: sha256Of(second), size: second.length })

      // 3. Both are in the cache, marked with where they came from and when.
      const info = await storage('pull-remote/lib/a/first.bin')
      expect(info.status, info.text).toBe(200)
      expect(info.json()).toMatchObject({
        repo: 'pull-remote',
        path: '/lib/a/first.bin',
        size: String(first.length),
        createdBy: 'remote:pull-remote',
        remoteUrl: `${upstreamTrove.url}/artifactory/up-local/lib/a/first.bin`,
        checksums: digestsOf(first),
        lastUpdated: expect.any(String),
      })
      expect((await storage('pull-remote/lib/b/second.bin')).json()).toMatchObject({
        createdBy: 'remote:pull-remote',
        remoteUrl: `${upstreamTrove.url}/artifactory/up-local/lib/b/second.bin`,
      })
      expect(await blobsOf(server)).toContain(blobKey(sha256Of(first)))

      // 4. Browsing the remote shows what is cached, as in a local repository.
      const listing = await admin.get('/artifactory/pull-remote/lib/a/')
      expect(listing.status).toBe(200)
      expect(listing.text).toContain('first.bin')

      // 5. A cached file is served with its checksums, like a local one.
      const again = await admin.get('/artifactory/pull-remote/lib/a/first.bin')
      expect(again.status).toBe(200)
      expect(again.headers['x-checksum-sha256']).toBe(sha256Of(first))
      expect(sha256Of(again.body)).toBe(sha256Of(first))
    })

    it('serves a Range of a file not cached yet from the cache its one download fills', async () => {
      const content = randomPayload(512 * 1024 + 3)
      await deploy(upstreamAdmin, 'up-local/ranged/file.bin', content)
      await createRemote(admin, 'range-remote', `${upstreamTrove.url}/artifactory/up-local`)

      const part = await admin.get('/artifactory/range-remote/ranged/file.bin', { headers: { range: 'bytes=1000-1999' } })
      expect(part.status).toBe(206)
      expect(part.headers['content-range']).toBe(`bytes 1000-1999/${content.length}`)
      expect(part.body.equals(content.subarray(1000, 2000))).toBe(true)
      // The whole file was cached by that first request.
      expect((await storage('range-remote/ranged/file.bin')).json()).toMatchObject({ size: String(content.length), checksums: digestsOf(content) })
      const suffix = await admin.get('/artifactory/range-remote/ranged/file.bin', { headers: { range: 'bytes=-10' } })
      expect(suffix.status).toBe(206)
      expect(suffix.body.equals(content.subarray(content.length - 10))).toBe(true)
    })

    it('answers HEAD for uncached content and caches it all the same', async () => {
      const content = randomPayload(64 * 1024)
      await deploy(upstreamAdmin, 'up-local/head/file.bin', content)
      await createRemote(admin, 'head-remote', `${upstreamTrove.url}/artifactory/up-local`)

      const head = await admin.head('/artifactory/head-remote/head/file.bin')

      expect(head.status).toBe(200)
      expect(head.headers['content-length']).toBe(String(content.length))
      expect(await waitUntil(async () => (await storage('head-remote/head/file.bin')).status === 200)).toBe(true)
    })

    it('pulls paths with spaces, plus signs and non-ASCII characters', async () => {
      const content = Buffer.from('encoded path\n')
      const encoded = 'enc/with%20space/a+b%20%C3%BC.txt'
      await deploy(upstreamAdmin, `up-local/${encoded}`, content)
      await createRemote(admin, 'enc-remote', `${upstreamTrove.url}/artifactory/up-local`)

      const response = await admin.get(`/artifactory/enc-remote/${encoded}`)

      expect(response.status, response.text).toBe(200)
      expect(response.text).toBe('encoded path\n')
      expect((await storage(`enc-remote/${encoded}`)).json()).toMatchObject({ path: '/enc/with space/a+b ü.txt' })
    })

    it('finishes caching a download whose client went away', async () => {
      const content = randomPayload(3 * 1024 * 1024)
      let clientGone!: () => void
      const gone = new Promise<void>((resolve) => (clientGone = resolve))
      const fake = await upstream(async (_req, res) => {
        res.writeHead(200, { 'content-length': String(content.length), 'x-checksum-sha256': sha256Of(content) })
        await writeChunks(res, content.subarray(0, 512 * 1024))
        await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 10_000).unref())])
        await writeChunks(res, content.subarray(512 * 1024))
        res.end()
      })
      await createRemote(admin, 'gone-remote', fake.url)

      // 1. A client reads the first bytes and hangs up.
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${server.url}/artifactory/gone-remote/big.bin`, { agent: false }, (res) => {
          res.once('data', () => {
            req.destroy()
            resolve()
          })
        })
        req.on('error', () => {})
        req.setTimeout(30_000, () => reject(new Error('no data within 30 s')))
      })
      clientGone()

      // 2. The download goes on and is cached whole.
      expect(await waitUntil(async () => (await storage('gone-remote/big.bin')).status === 200, 15_000)).toBe(true)
      const again = await fetchHashed(`${server.url}/artifactory/gone-remote/big.bin`)
      expect(again).toMatchObject({ status: 200, sha256: sha256Of(content) })
      expect(fake.requests).toHaveLength(1)
    })

    it('lets an admin delete a cached file; the next pull fetches it again', async () => {
      const fake = await upstream((req, res) => sendBody(res, `content of ${req.url}`))
      await createRemote(admin, 'delete-remote', fake.url)
      expect((await admin.get('/artifactory/delete-remote/a.txt')).status).toBe(200)

      expect((await admin.delete('/artifactory/delete-remote/a.txt')).status).toBe(204)
      expect((await storage('delete-remote/a.txt')).status).toBe(404)
      expect((await admin.get('/artifactory/delete-remote/a.txt')).text).toBe('content of /a.txt')
      expect(fake.hits('/a.txt')).toBe(2)
    })

    it('keeps serving what is cached with the upstream stopped; uncached content gets 502 naming it', async () => {
      const upstreamServer = await startTestServer()
      const up = new Client(upstreamServer.url, upstreamServer.adminAuth)
      const content = randomPayload(200 * 1024)
      try {
        await createRepository(up, 'warm-local', { anonymousRead: true })
        await deploy(up, 'warm-local/warm/file.bin', content)
        await createRemote(admin, 'warm-remote', `${upstreamServer.url}/artifactory/warm-local`)
        const cold = await curl([`${server.url}/artifactory/warm-remote/warm/file.bin`], out('cold.bin'))
        expect(sha256Of(cold.body)).toBe(sha256Of(content))
      } finally {
        await upstreamServer.close()
      }

      const warm = await curl([`${server.url}/artifactory/warm-remote/warm/file.bin`], out('warm.bin'))
      expect(warm.status).toBe(200)
      expect(sha256Of(warm.body)).toBe(sha256Of(content))
      expect((await fetchHashed(`${server.url}/artifactory/warm-remote/warm/file.bin`)).sha256).toBe(sha256Of(content))

      const uncached = await admin.get('/artifactory/warm-remote/warm/other.bin')
      expectRestError(uncached, 502, new URL(upstreamServer.url).host)
    })
  })

  describe('negative cache of upstream 404s', () => {
    it('does not ask again within missedRetrievalCachePeriodSecs', async () => {
      const fake = await upstream((_req, res) => sendBody(res, 'no', {}, 404))
      await createRemote(admin, 'miss-remote', fake.url)

      expectRestError(await admin.get('/artifactory/miss-remote/missing.txt'), 404)
      expectRestError(await admin.get('/artifactory/miss-remote/missing.txt'), 404)
      expectRestError(await admin.get('/artifactory/miss-remote/missing.txt'), 404)

      expect(fake.hits('/missing.txt')).toBe(1)
    })

    it('asks again once the period has passed, and serves the file when the upstream has it by then', async () => {
      let hasIt = false
      const fake = await upstream((_req, res) => (hasIt ? sendBody(res, 'arrived') : sendBody(res, 'no', {}, 404)))
      await createRemote(admin, 'miss-expiry', fake.url, { missedRetrievalCachePeriodSecs: 1 })

      expectRestError(await admin.get('/artifactory/miss-expiry/later.txt'), 404)
      expect(fake.hits('/later.txt')).toBe(1)
      hasIt = true

      // Bounded: the period is one second; ask until the upstream is consulted again.
      let response = await admin.get('/artifactory/miss-expiry/later.txt')
      for (let attempt = 0; attempt < 100 && response.status === 404; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        response = await admin.get('/artifactory/miss-expiry/later.txt')
      }
      expect(response.status).toBe(200)
      expect(response.text).toBe('arrived')
      expect(fake.hits('/later.txt')).toBe(2)
    })
  })

  describe('upstream failures', () => {
    it('answers 504 naming the upstream when it stalls past socketTimeoutMillis', async () => {
      const fake = await upstream(() => {
        /* never answers; closed with the suite */
      })
      await createRemote(admin, 'stall-remote', fake.url, { socketTimeoutMillis: 500 })

      const response = await admin.get('/artifactory/stall-remote/slow.bin')

      expectRestError(response, 504, `127.0.0.1:${fake.port}`)
      expect(response.json().errors[0].message).toMatch(/500 ms/)
      expect((await storage('stall-remote/slow.bin')).status).toBe(404)
    })

    it('cuts the client when the upstream stalls mid-body, and caches nothing', async () => {
      const content = randomPayload(512 * 1024)
      const fake = await upstream(async (_req, res) => {
        res.writeHead(200, { 'content-length': String(content.length) })
        await writeChunks(res, content.subarray(0, 128 * 1024))
        // …and then nothing more.
      })
      await createRemote(admin, 'stall-body', fake.url, { socketTimeoutMillis: 500 })

      const pulled = await getHashed(`${server.url}/artifactory/stall-body/half.bin`)

      expect(pulled.error).toBeDefined()
      expect(pulled.size).toBeLessThan(content.length)
      expect((await storage('stall-body/half.bin')).status).toBe(404)
    })

    it('cuts the client when the upstream dies mid-transfer, caches nothing, and the next pull works', async () => {
      const content = randomPayload(1024 * 1024)
      let requests = 0
      const fake = await upstream(async (_req, res) => {
        requests++
        res.writeHead(200, { 'content-length': String(content.length), 'x-checksum-sha256': sha256Of(content) })
        if (requests <= 2) {
          await writeChunks(res, content.subarray(0, 384 * 1024))
          res.socket?.destroy()
          return
        }
        await writeChunks(res, content)
        res.end()
      })
      await createRemote(admin, 'kill-remote', fake.url)

      // 1. curl sees the transfer fail, and fetch does too.
      await expect(curl([`${server.url}/artifactory/kill-remote/big.bin`], out('killed.bin'))).rejects.toThrow(/curl/)
      await expect(fetchHashed(`${server.url}/artifactory/kill-remote/big.bin`)).rejects.toThrow()
      expect(fake.hits('/big.bin')).toBe(2)

      // 2. Nothing was cached: not in the storage API, not in the blob folder, no temporaries left.
      expect((await storage('kill-remote/big.bin')).status).toBe(404)
      expect(await blobsOf(server)).not.toContain(blobKey(sha256Of(content)))
      expect(await waitUntil(async () => (await storeSnapshot(server)).uploads.length === 0)).toBe(true)

      // 3. The next pull works and is cached.
      const next = await curl([`${server.url}/artifactory/kill-remote/big.bin`], out('next.bin'))
      expect(next.status).toBe(200)
      expect(sha256Of(next.body)).toBe(sha256Of(content))
      expect((await storage('kill-remote/big.bin')).status).toBe(200)
      expect(await blobsOf(server)).toContain(blobKey(sha256Of(content)))
    })

    it('answers 502 when a small file does not match the declared X-Checksum-Sha256, and caches nothing', async () => {
      const declared = randomPayload(1000)
      const served = randomPayload(1000)
      const fake = await upstream((_req, res) => sendBody(res, served, { 'x-checksum-sha256': sha256Of(declared) }))
      await createRemote(admin, 'wrong-small', fake.url)

      // The whole body is held back until it is verified, so the client still gets a proper error.
      const byCurl = await curl([`${server.url}/artifactory/wrong-small/lying.bin`], out('lying-small.bin'))
      expect(byCurl.status).toBe(502)
      const response = await admin.get('/artifactory/wrong-small/lying.bin')
      expectRestError(response, 502, `127.0.0.1:${fake.port}`)
      expect(response.json().errors[0].message).toMatch(/does not match/)

      expect((await storage('wrong-small/lying.bin')).status).toBe(404)
      expect(await blobsOf(server)).not.toContain(blobKey(sha256Of(served)))
    })

    it('cuts the client when a larger file does not match the declared X-Checksum-Sha256, and caches nothing', async () => {
      const declared = randomPayload(700 * 1024)
      const served = randomPayload(700 * 1024)
      const fake = await upstream((_req, res) => sendBody(res, served, { 'x-checksum-sha256': sha256Of(declared) }))
      await createRemote(admin, 'wrong-large', fake.url)

      await expect(curl([`${server.url}/artifactory/wrong-large/lying.bin`], out('lying-large.bin'))).rejects.toThrow(/curl/)
      const byNode = await getHashed(`${server.url}/artifactory/wrong-large/lying.bin`)
      expect(byNode.status).toBe(200)
      expect(byNode.error).toBeDefined()
      expect(byNode.size).toBeLessThan(served.length)

      expect((await storage('wrong-large/lying.bin')).status).toBe(404)
      const blobs = await blobsOf(server)
      expect(blobs).not.toContain(blobKey(sha256Of(served)))
      expect(blobs).not.toContain(blobKey(sha256Of(declared)))
    })

    it.each([503, 429])('answers %i from the upstream with 502 and then leaves it alone for assumedOfflinePeriodSecs', async (status) => {
      const fake = await upstream((_req, res) => sendBody(res, 'busy', {}, status))
      const key = `fail-${status}`
      await createRemote(admin, key, fake.url)

      // 1. The first miss goes upstream and fails with a message naming the upstream and the status.
      const first = await admin.get(`/artifactory/${key}/a.bin`)
      expectRestError(first, 502, `127.0.0.1:${fake.port}`)
      expect(first.json().errors[0].message).toContain(String(status))
      expect(fake.requests).toHaveLength(1)

      // 2. Within assumedOfflinePeriodSecs (300 by default) misses are not sent upstream.
      const second = await admin.get(`/artifactory/${key}/b.bin`)
      expectRestError(second, 502, /assumed offline|assumedOfflinePeriodSecs/)
      expect(second.json().errors[0].message).toContain(`127.0.0.1:${fake.port}`)
      expect(fake.requests).toHaveLength(1)

      // 3. An admin changing the repository clears the remembered failure.
      await updateRepository(admin, key, { description: 'touched' })
      expectRestError(await admin.get(`/artifactory/${key}/b.bin`), 502)
      expect(fake.requests).toHaveLength(2)
    })
  })

  it('sends one request upstream for 100 concurrent pulls of one uncached 50 MiB file', { timeout: 180_000 }, async () => {
    const content = randomPayload(50 * 1024 * 1024)
    const expected = sha256Of(content)
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30_000) // bounded: never hang if the clients do not all connect
      release = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    const fake = await upstream(async (_req, res) => {
      res.writeHead(200, { 'content-length': String(content.length), 'x-checksum-sha256': expected })
      // The first MiB at once; the rest once every client is connected.
      await writeChunks(res, content.subarray(0, 1024 * 1024))
      await released
      await writeChunks(res, content.subarray(1024 * 1024))
      res.end()
    })
    await createRemote(admin, 'crowd-remote', fake.url)
    const connections = () =>
      new Promise<number>((resolve, reject) => server.trove.app.server.getConnections((err, count) => (err ? reject(err) : resolve(count))))

    const pulls = Array.from({ length: 100 }, () => getHashed(`${server.url}/artifactory/crowd-remote/big/blob.bin`))
    const allConnected = await waitUntil(async () => (await connections()) >= 100 && fake.requests.length >= 1, 30_000)
    release()
    const results = await Promise.all(pulls)

    expect(allConnected).toBe(true)
    expect(fake.hits('/big/blob.bin')).toBe(1)
    expect(fake.requests).toHaveLength(1)
    for (const result of results) {
      expect(result.error).toBeUndefined()
      expect({ status: result.status, size: result.size, sha256: result.sha256 }).toEqual({ status: 200, size: content.length, sha256: expected })
    }
    expect((await storage('crowd-remote/big/blob.bin')).json()).toMatchObject({ size: String(content.length), checksums: { sha256: expected } })
  })

  describe('offline', () => {
    const counting = async () => upstream((req, res) => sendBody(res, `content of ${req.url}`))

    it('a remote marked offline serves its cache, answers 404 for the rest and asks nothing upstream', async () => {
      const fake = await counting()
      await createRemote(admin, 'off-remote', fake.url)
      expect((await admin.get('/artifactory/off-remote/cached.txt')).text).toBe('content of /cached.txt')
      await updateRepository(admin, 'off-remote', { offline: true })

      const cached = await admin.get('/artifactory/off-remote/cached.txt')
      const uncached = await admin.get('/artifactory/off-remote/uncached.txt')

      expect(cached.status).toBe(200)
      expect(cached.text).toBe('content of /cached.txt')
      expectRestError(uncached, 404, /offline/)
      expect(fake.requests).toHaveLength(1)

      await updateRepository(admin, 'off-remote', { offline: false })
      expect((await admin.get('/artifactory/off-remote/uncached.txt')).status).toBe(200)
      expect(fake.requests).toHaveLength(2)
    })

    it('the global offline switch does the same for every remote', async () => {
      const fake = await counting()
      await createRemote(admin, 'global-off', fake.url)
      expect((await admin.get('/artifactory/global-off/cached.txt')).status).toBe(200)

      const on = await admin.put('/api/v1/system/offline', { body: { enabled: true } })
      expect(on.status, on.text).toBe(200)
      expect(on.json()).toMatchObject({ enabled: true })
      try {
        expect((await admin.anonymous.get('/api/v1/system/offline')).json()).toMatchObject({ enabled: true })
        const cached = await admin.get('/artifactory/global-off/cached.txt')
        expect(cached.status).toBe(200)
        expect(cached.text).toBe('content of /cached.txt')
        expectRestError(await admin.get('/artifactory/global-off/uncached.txt'), 404, /offline/)
        expect(fake.requests).toHaveLength(1)
      } finally {
        expect((await admin.put('/api/v1/system/offline', { body: { enabled: false } })).status).toBe(200)
      }
      expect((await admin.get('/artifactory/global-off/uncached.txt')).status).toBe(200)
      expect(fake.requests).toHaveLength(2)
    })

    it('only an admin may flip the global switch', async () => {
      await createUser(admin, 'offline-user', 'offline-password-1')
      const response = await admin.asUser('offline-user', 'offline-password-1').put('/api/v1/system/offline', { body: { enabled: true } })
      expect(response.status).toBe(403)
      expectRestError(await admin.put('/api/v1/system/offline', { body: { enabled: 'yes' } }), 400)
    })
  })

  it('with storeArtifactsLocally false serves upstream content without caching it', async () => {
    const content = randomPayload(100 * 1024)
    const fake = await upstream((_req, res) => sendBody(res, content, { 'x-checksum-sha256': sha256Of(content) }))
    await createRemote(admin, 'nostore-remote', fake.url, { storeArtifactsLocally: false })

    const first = await fetchHashed(`${server.url}/artifactory/nostore-remote/file.bin`)
    const second = await curl([`${server.url}/artifactory/nostore-remote/file.bin`], out('nostore.bin'))

    expect(first).toMatchObject({ status: 200, sha256: sha256Of(content) })
    expect(sha256Of(second.body)).toBe(sha256Of(content))
    expect(fake.hits('/file.bin')).toBe(2)
    expect((await storage('nostore-remote/file.bin')).status).toBe(404)
    expect(await blobsOf(server)).not.toContain(blobKey(sha256Of(content)))
  })

  it('includesPattern and excludesPattern decide what a remote fetches', async () => {
    const fake = await upstream((req, res) => sendBody(res, `content of ${req.url}`))
    await createRemote(admin, 'pattern-remote', fake.url, { includesPattern: 'allowed/**', excludesPattern: '**/*.secret' })

    expect((await admin.get('/artifactory/pattern-remote/allowed/a.txt')).status).toBe(200)
    expectRestError(await admin.get('/artifactory/pattern-remote/allowed/b.secret'), 404, /include\/exclude/)
    expectRestError(await admin.get('/artifactory/pattern-remote/elsewhere/c.txt'), 404, /include\/exclude/)

    expect(fake.requests.map((r) => r.url)).toEqual(['/allowed/a.txt'])
  })

  describe('upstream credentials', () => {
    beforeAll(async () => {
      await createRepository(upstreamAdmin, 'private-local')
      await createUser(upstreamAdmin, 'puller', 'puller-password-1')
      await grant(upstreamAdmin, 'private-local', 'puller', ['read'])
    })

    it('sends username and password as Basic to an upstream Trove that is not anonymous-readable', async () => {
      const content = randomPayload(10 * 1024)
      await deploy(upstreamAdmin, 'private-local/secret/file.bin', content)
      expect((await upstreamAdmin.anonymous.get('/artifactory/private-local/secret/file.bin')).status).not.toBe(200)
      await createRemote(admin, 'cred-remote', `${upstreamTrove.url}/artifactory/private-local`, {
        username: 'puller',
        password: 'puller-password-1',
      })

      const pulled = await admin.get('/artifactory/cred-remote/secret/file.bin')

      expect(pulled.status, pulled.text).toBe(200)
      expect(sha256Of(pulled.body)).toBe(sha256Of(content))
      // The upstream recorded who downloaded it: the configured user.
      const stats = async () => (await upstreamAdmin.get('/artifactory/api/storage/private-local/secret/file.bin?stats')).json()
      expect(await waitUntil(async () => (await stats()).lastDownloadedBy === 'puller')).toBe(true)
      // The password is never shown.
      expect((await admin.get('/artifactory/api/repositories/cred-remote')).json()).not.toHaveProperty('password')
    })

    it('answers 502 when the upstream refuses the credentials (401)', async () => {
      await deploy(upstreamAdmin, 'private-local/secret/other.bin', 'other')
      await createRemote(admin, 'badcred-remote', `${upstreamTrove.url}/artifactory/private-local`, {
        username: 'puller',
        password: 'wrong-password',
      })

      const response = await admin.get('/artifactory/badcred-remote/secret/other.bin')

      expectRestError(response, 502, /401/)
      expect(response.json().errors[0].message).toContain(new URL(upstreamTrove.url).host)
    })

    describe('registry token login', () => {
      const TOKEN = 'token-from-the-realm'
      let tokenServer: FakeUpstream
      let registry: FakeUpstream
      const content = Buffer.from('behind a token login\n')

      beforeAll(async () => {
        tokenServer = await upstream((req, res) => {
          const expectedAuth = basicAuth('robot', 'robot-password')
          const auth = req.headers.authorization
          if (auth === expectedAuth) return sendBody(res, JSON.stringify({ token: TOKEN, expires_in: 300 }), { 'content-type': 'application/json' })
          if (auth === undefined && (req.url ?? '').includes('scope=anonymous')) {
            return sendBody(res, JSON.stringify({ access_token: `${TOKEN}-anonymous` }), { 'content-type': 'application/json' })
          }
          return sendBody(res, '{"errors":[{"code":"UNAUTHORIZED"}]}', { 'content-type': 'application/json' }, 401)
        })
        registry = await upstream((req, res) => {
          const scope = (req.url ?? '').startsWith('/anon/') ? 'anonymous' : 'y'
          if (req.headers.authorization === `Bearer ${TOKEN}` || req.headers.authorization === `Bearer ${TOKEN}-anonymous`) {
            return sendBody(res, content)
          }
          res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokenServer.url}/token",service="x",scope="${scope}"`, 'content-length': '0' })
          res.end()
        })
      })

      it('follows the WWW-Authenticate realm with the configured credentials and reuses the token', async () => {
        await createRemote(admin, 'token-remote', registry.url, { username: 'robot', password: 'robot-password' })

        const first = await admin.get('/artifactory/token-remote/one.txt')
        const second = await admin.get('/artifactory/token-remote/two.txt')

        expect(first.status, first.text).toBe(200)
        expect(first.text).toBe(content.toString())
        expect(second.status, second.text).toBe(200)
        const logins = tokenServer.requests.filter((r) => r.headers.authorization === basicAuth('robot', 'robot-password'))
        expect(logins).toHaveLength(1)
        const query = new URL(logins[0]!.url, tokenServer.url).searchParams
        expect({ service: query.get('service'), scope: query.get('scope') }).toEqual({ service: 'x', scope: 'y' })
        // The registry saw a challenge once, then the token.
        expect(registry.requests.map((r) => r.headers.authorization)).toEqual([basicAuth('robot', 'robot-password'), `Bearer ${TOKEN}`, `Bearer ${TOKEN}`])
      })

      it('logs in anonymously when no credentials are configured', async () => {
        await createRemote(admin, 'anon-token-remote', `${registry.url}/anon`)

        const response = await admin.get('/artifactory/anon-token-remote/file.txt')

        expect(response.status, response.text).toBe(200)
        expect(response.text).toBe(content.toString())
      })

      it('answers 502 naming the token service when the login is refused', async () => {
        await createRemote(admin, 'badtoken-remote', registry.url, { username: 'robot', password: 'not-it' })

        const response = await admin.get('/artifactory/badtoken-remote/file.txt')

        expectRestError(response, 502, `127.0.0.1:${tokenServer.port}`)
      })
    })
  })

  describe('redirects', () => {
    it('follows a redirect to another allowed origin without sending it the credentials', async () => {
      const cdn = await upstream((req, res) => sendBody(res, `cdn copy of ${req.url}`))
      const origin = await upstream((req, res) => {
        res.writeHead(307, { location: `${cdn.url}/blobs${req.url}`, 'content-length': '0' })
        res.end()
      })
      await createRemote(admin, 'redirect-remote', origin.url, { username: 'someone', password: 'secret-password' })

      const response = await admin.get('/artifactory/redirect-remote/file.bin')

      expect(response.status, response.text).toBe(200)
      expect(response.text).toBe('cdn copy of /blobs/file.bin')
      expect(origin.requests[0]!.headers.authorization).toBe(basicAuth('someone', 'secret-password'))
      expect(cdn.requests[0]!.headers.authorization).toBeUndefined()
      expect((await storage('redirect-remote/file.bin')).json().remoteUrl).toBe(`${origin.url}/file.bin`)
    })
  })

  describe('redirects that go nowhere', () => {
    it('answers 502 for a redirect loop, naming the upstream', async () => {
      const loop = await upstream((req, res) => {
        res.writeHead(302, { location: `${req.url}x`, 'content-length': '0' })
        res.end()
      })
      await createRemote(admin, 'loop-remote', loop.url)

      expectRestError(await admin.get('/artifactory/loop-remote/a'), 502, /redirected more than/)
      expect(loop.requests.length).toBeLessThanOrEqual(6)
    })

    it('answers 502 for a redirect to something that is not http(s)', async () => {
      const bad = await upstream((_req, res) => {
        res.writeHead(302, { location: 'file:///etc/passwd', 'content-length': '0' })
        res.end()
      })
      await createRemote(admin, 'scheme-remote', bad.url)

      const response = await admin.get('/artifactory/scheme-remote/a')

      expectRestError(response, 502)
      expect(response.text).not.toContain('root:')
    })
  })

  describe('virtual repositories', () => {
    beforeAll(async () => {
      await deploy(upstreamAdmin, 'up-local/v/both.txt', 'from the upstream')
      await deploy(upstreamAdmin, 'up-local/v/only-upstream.txt', 'only upstream has this')
      await createRepository(admin, 'v-local')
      await createRepository(admin, 'v-other-local')
      await deploy(admin, 'v-local/v/both.txt', 'from the local repository')
      await createRemote(admin, 'v-remote', `${upstreamTrove.url}/artifactory/up-local`)
      await createRepository(admin, 'v-virtual', {
        rclass: 'virtual',
        repositories: ['v-local', 'v-remote'],
        defaultDeploymentRepo: 'v-local',
      })
      await createRepository(admin, 'v-nodeploy', { rclass: 'virtual', repositories: ['v-local', 'v-remote'] })
    })

    it('resolves in the listed order: the local member wins', async () => {
      const response = await admin.get('/artifactory/v-virtual/v/both.txt')
      expect(response.status).toBe(200)
      expect(response.text).toBe('from the local repository')
    })

    it('falls through to the remote member when the local one lacks the file', async () => {
      const response = await admin.get('/artifactory/v-virtual/v/only-upstream.txt')
      expect(response.status, response.text).toBe(200)
      expect(response.text).toBe('only upstream has this')
      expect((await storage('v-remote/v/only-upstream.txt')).status).toBe(200)
    })

    it('answers 404 when no member has the file', async () => {
      expectRestError(await admin.get('/artifactory/v-virtual/v/nowhere.txt'), 404, /v-virtual/)
    })

    it('deploys into defaultDeploymentRepo', async () => {
      const response = await admin.put('/artifactory/v-virtual/v/deployed.txt', { body: 'deployed through the virtual' })

      expect(response.status, response.text).toBe(201)
      expect(response.json()).toMatchObject({ repo: 'v-local', path: '/v/deployed.txt' })
      expect((await admin.get('/artifactory/v-local/v/deployed.txt')).text).toBe('deployed through the virtual')
      expect((await admin.get('/artifactory/v-virtual/v/deployed.txt')).text).toBe('deployed through the virtual')
    })

    it('refuses a deploy with a clear 405 when there is no defaultDeploymentRepo', async () => {
      expectRestError(await admin.put('/artifactory/v-nodeploy/v/x.txt', { body: 'x' }), 405, /defaultDeploymentRepo/)
    })

    it('refuses a deploy to a remote repository with a clear 405', async () => {
      expectRestError(await admin.put('/artifactory/v-remote/v/x.txt', { body: 'x' }), 405, /remote/)
    })

    it('needs the right to deploy on the target as well as on the virtual', async () => {
      await createUser(admin, 'v-dev', 'v-dev-password-1')
      await grant(admin, 'v-virtual', 'v-dev', ['read', 'deploy'])
      const dev = admin.asUser('v-dev', 'v-dev-password-1')

      const refused = await dev.put('/artifactory/v-virtual/v/by-dev.txt', { body: 'dev' })
      expectRestError(refused, 403, /v-local/)
      expect((await admin.get('/artifactory/v-local/v/by-dev.txt')).status).toBe(404)

      await grant(admin, 'v-local', 'v-dev', ['read', 'deploy'])
      const accepted = await dev.put('/artifactory/v-virtual/v/by-dev.txt', { body: 'dev' })
      expect(accepted.status, accepted.text).toBe(201)
      expect(accepted.json()).toMatchObject({ repo: 'v-local' })

      // A grant on the target alone is not enough either.
      await createUser(admin, 'v-dev2', 'v-dev2-password-1')
      await grant(admin, 'v-local', 'v-dev2', ['read', 'deploy'])
      expect((await admin.asUser('v-dev2', 'v-dev2-password-1').put('/artifactory/v-virtual/v/by-dev2.txt', { body: 'x' })).status).toBe(403)
    })

    it('serves through the virtual only what the caller may read in the member', async () => {
      await createUser(admin, 'v-reader', 'v-reader-password-1')
      await grant(admin, 'v-virtual', 'v-reader', ['read'])
      const reader = admin.asUser('v-reader', 'v-reader-password-1')
      await deploy(admin, 'v-local/v/local-only.txt', 'local only')

      // Read on the virtual does not open the local member: its files are not served, and a
      // name it shares with the (anonymous-readable) remote member comes from the remote.
      expectRestError(await reader.get('/artifactory/v-virtual/v/local-only.txt'), 404)
      expect((await reader.get('/artifactory/v-virtual/v/both.txt')).text).toBe('from the upstream')

      // With read on the local member as well, it is served first again.
      await grant(admin, 'v-local', 'v-reader', ['read'])
      expect((await reader.get('/artifactory/v-virtual/v/both.txt')).text).toBe('from the local repository')
      expect((await reader.get('/artifactory/v-virtual/v/local-only.txt')).text).toBe('local only')
    })

    it("applies the virtual's own include/exclude patterns", async () => {
      await createRepository(admin, 'v-guarded', {
        rclass: 'virtual',
        repositories: ['v-local', 'v-remote'],
        excludesPattern: 'v/only-upstream.*',
      })

      expect((await admin.get('/artifactory/v-guarded/v/both.txt')).status).toBe(200)
      expectRestError(await admin.get('/artifactory/v-guarded/v/only-upstream.txt'), 404, /exclude/)
    })

    it('reports an upstream failure of a remote member rather than claiming the file does not exist', async () => {
      const down = await upstream((_req, res) => sendBody(res, 'down', {}, 503))
      await createRemote(admin, 'v-down-remote', down.url)
      await createRepository(admin, 'v-with-down', { rclass: 'virtual', repositories: ['v-other-local', 'v-down-remote'] })

      expectRestError(await admin.get('/artifactory/v-with-down/v/anything.txt'), 502, `127.0.0.1:${down.port}`)
    })
  })

  it('exposes upstream requests and stale serves in the metrics', async () => {
    // Generic files are immutable once cached; metadata (as formats declare it) is what goes stale.
    let status = 200
    const fake = await upstream((_req, res) => sendBody(res, '{"v":1}', { 'content-type': 'application/json' }, status))
    await createRemote(admin, 'metrics-remote', fake.url, { retrievalCachePeriodSecs: 0 })
    const repository = await server.trove.services.repositories.require('metrics-remote')
    await server.trove.services.remote.fetch(repository, 'index.json', { isMetadata: true })
    status = 429
    const stale = await server.trove.services.remote.fetch(repository, 'index.json', { isMetadata: true })
    expect(stale).toMatchObject({ kind: 'cached', isStale: true })
    await admin.get('/artifactory/metrics-remote/missing.bin')

    const response = await admin.get('/artifactory/api/v1/metrics')

    expect(response.status).toBe(200)
    expect(response.text).toContain('# TYPE trove_remote_upstream_requests_total counter')
    expect(response.text).toContain('# TYPE trove_remote_stale_served_total counter')
    expect(metricValue(response.text, 'trove_remote_upstream_requests_total', { repo: 'metrics-remote', outcome: 'ok' })).toBe(1)
    expect(metricValue(response.text, 'trove_remote_upstream_requests_total', { repo: 'metrics-remote', outcome: 'error' })).toBe(1)
    expect(metricValue(response.text, 'trove_remote_stale_served_total', { repo: 'metrics-remote' })).toBeGreaterThanOrEqual(1)
    expect(metricValue(response.text, 'trove_remote_upstream_requests_total', { repo: 'pull-remote', outcome: 'ok' })).toBeGreaterThanOrEqual(2)
    expect((await admin.anonymous.get('/artifactory/api/v1/metrics')).status).toBe(401)
  })
})

describe.each(backends)('upstream address guard (%s)', (backend) => {
  let workDir: string
  const cleanups: (() => Promise<void>)[] = []

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'trove-ssrf-'))
  })

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    await rm(workDir, { recursive: true, force: true })
  })

  const start = async (settings?: Record<string, unknown>, env?: NodeJS.ProcessEnv) => {
    const started = await startTestServer({ backend, ...(settings ? { settings } : {}), ...(env ? { env } : {}) })
    cleanups.push(() => started.close())
    return { server: started, admin: new Client(started.url, started.adminAuth) }
  }
  const fake = async (handler: Parameters<typeof startUpstream>[0]) => {
    const started = await startUpstream(handler)
    cleanups.push(() => started.close())
    return started
  }

  it('without an allow list, refuses to create a remote whose url is a loopback, private or link-local address', async () => {
    const { admin } = await start()
    for (const url of [
      'http://127.0.0.1:8081/artifactory/x',
      'http://10.1.2.3/',
      'http://169.254.169.254/latest',
      'http://[::1]:8080/',
      'http://192.168.1.1/',
      // IPv6 spellings of the same addresses: NAT64, 6to4, IPv4-compatible.
      'http://[64:ff9b::a9fe:a9fe]/latest',
      'http://[2002:7f00:1::]:8081/',
      'http://[::10.1.2.3]/',
    ]) {
      const response = await admin.put('/artifactory/api/repositories/ssrf-remote', {
        body: { key: 'ssrf-remote', rclass: 'remote', packageType: 'generic', url },
      })
      expectRestError(response, 400, /TROVE_ALLOWED_UPSTREAM_HOSTS/, 'url')
    }
  })

  it('without an allow list, a remote on host localhost is created but fetching through it is refused with 502', async () => {
    const upstreamServer = await fake((_req, res) => sendBody(res, 'must not be reached'))
    const { admin } = await start()
    await createRemote(admin, 'localhost-remote', `http://localhost:${upstreamServer.port}`)

    const response = await admin.get('/artifactory/localhost-remote/file.txt')

    expectRestError(response, 502, /TROVE_ALLOWED_UPSTREAM_HOSTS/)
    expect(response.json().errors[0].message).toMatch(/localhost/)
    expect(upstreamServer.requests).toHaveLength(0)
  })

  it('refuses a redirect from an allowed upstream to an address that is not allowed', async () => {
    const target = await fake((_req, res) => sendBody(res, 'internal secret'))
    const origin = await fake((req, res) => {
      if (req.url?.startsWith('/login/')) {
        // A token realm is a request like any other: the same guard applies.
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${target.port}/token",service="x"`, 'content-length': '0' })
        res.end()
        return
      }
      const to = req.url?.startsWith('/to-ip/') ? `http://127.0.0.1:${target.port}/x` : `http://localhost:${target.port}/x`
      res.writeHead(302, { location: to, 'content-length': '0' })
      res.end()
    })
    // Only the host name `localhost` is allowed, not the address 127.0.0.1 it resolves to.
    const { admin } = await start({ remote: { allowedUpstreamHosts: ['localhost'] } })
    await createRemote(admin, 'redirect-guard', `http://localhost:${origin.port}`)

    const refused = await admin.get('/artifactory/redirect-guard/to-ip/file.txt')
    expectRestError(refused, 502, /TROVE_ALLOWED_UPSTREAM_HOSTS/)
    expect(target.requests).toHaveLength(0)
    expect(origin.requests).toHaveLength(1)

    // A token realm on a forbidden address is refused the same way. A refusal fails that request
    // only: the upstream is not assumed offline, so the next request goes upstream again.
    expectRestError(await admin.get('/artifactory/redirect-guard/login/file.txt'), 502, /TROVE_ALLOWED_UPSTREAM_HOSTS/)
    expect(target.requests).toHaveLength(0)
    expect(origin.requests).toHaveLength(2)

    // The same redirect to the allowed host name is followed.
    const followed = await admin.get('/artifactory/redirect-guard/to-name/file.txt')
    expect(followed.status, followed.text).toBe(200)
    expect(followed.text).toBe('internal secret')
  })

  it('TROVE_ALLOWED_UPSTREAM_HOSTS allows hosts and ranges', async () => {
    const upstreamServer = await fake((_req, res) => sendBody(res, 'allowed by the environment'))
    const { admin } = await start(undefined, { TROVE_ALLOWED_UPSTREAM_HOSTS: '10.0.0.0/8, 127.0.0.1' })
    await createRemote(admin, 'env-remote', upstreamServer.url)
    await createRemote(admin, 'env-range', 'http://10.20.30.40/')

    const response = await admin.get('/artifactory/env-remote/file.txt')

    expect(response.status, response.text).toBe(200)
    expect(response.text).toBe('allowed by the environment')
  })
})
