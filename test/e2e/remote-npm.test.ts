/**
 * npm remote and virtual repositories over real HTTP. The upstream is a second Trove whose npm
 * local repository holds published packages, and small node:http upstreams that count what they
 * are asked (the dependency-confusion guard) or serve a tarball that does not match its integrity.
 * The real npm CLI installs through the remote and the virtual with fresh caches, then again with
 * the upstream stopped.
 */
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientHome, type ClientResult } from '../conformance/npm/clients.js'
import { requireClients } from '../helpers/clients.js'
import { npmPackage } from '../helpers/npm.js'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser, grant } from './generic-support.js'
import { getHashed, metricValue, sendBody, sleep, startUpstream, writeChunks, type FakeUpstream } from './remote-support.js'

const backends = await metadataBackends()
const hasNpm = await requireClients('the npm CLI installs through remote and virtual repositories', ['npm'])

const ALLOW_LOOPBACK = { remote: { allowedUpstreamHosts: ['127.0.0.1'] } }
const API = '/artifactory/api/npm'

describe.each(backends)('npm remote and virtual repositories (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let upstreamTrove: TestServer
  let upstreamAdmin: Client
  let isUpstreamStopped = false
  const homes: ClientHome[] = []
  const cleanups: (() => Promise<void>)[] = []
  /** Tarball bytes published upstream and locally, by `name@version@where`. */
  const tarballs = new Map<string, Buffer>()

  const upstream = async (handler: Parameters<typeof startUpstream>[0]): Promise<FakeUpstream> => {
    const started = await startUpstream(handler)
    cleanups.push(() => started.close())
    return started
  }
  const createNpmRepository = async (key: string, config: Record<string, unknown>) => {
    const response = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'npm', anonymousRead: true, ...config } })
    expect(response.status, response.text).toBe(200)
  }
  const publishTo = async (client: Client, repo: string, packageJson: Record<string, unknown>, where: string, content = where) => {
    const pkg = await npmPackage(packageJson, { 'index.js': `module.exports = ${JSON.stringify(content)}\n` })
    tarballs.set(`${String(packageJson.name)}@${String(packageJson.version)}@${where}`, pkg.tarball)
    const response = await client.put(`${API}/${repo}/${String(packageJson.name).replace('/', '%2f')}`, { body: pkg.body })
    expect(response.status, response.text).toBe(201)
    return pkg.tarball
  }
  const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex')
  const expectNpmError = (response: { status: number; json(): any; text: string }, status: number, message: RegExp) => {
    expect(response.status, response.text).toBe(status)
    expect(response.json().error).toMatch(message)
  }
  /**
   * A node:http upstream serving packuments (`name` 1.0.0, its dist describing `tarball`, with
   * `dist` overriding fields) and their tarballs (`served`, else `tarball`), counting requests.
   */
  const fakeRegistryOf = async (packages: readonly { name: string; tarball: Buffer; served?: Buffer; dist?: Record<string, unknown> }[]): Promise<FakeUpstream> => {
    let base = ''
    const fake = await upstream((request, response) => {
      const path = (request.url ?? '').split('?')[0]
      for (const { name, tarball, served = tarball, dist = {} } of packages) {
        if (path === `/${name}`) {
          const packument = {
            _id: name,
            name,
            'dist-tags': { latest: '1.0.0' },
            versions: {
              '1.0.0': {
                name,
                version: '1.0.0',
                dist: {
                  tarball: `${base}/${name}/-/${name}-1.0.0.tgz`,
                  shasum: sha1(tarball),
                  integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
                  ...dist,
                },
              },
            },
            time: { created: '2024-01-01T00:00:00.000Z', modified: '2024-01-01T00:00:00.000Z', '1.0.0': '2024-01-01T00:00:00.000Z' },
          }
          return sendBody(response, JSON.stringify(packument), { 'content-type': 'application/json' })
        }
        if (path === `/${name}/-/${name}-1.0.0.tgz`) return sendBody(response, served)
      }
      return sendBody(response, JSON.stringify({ error: 'not found' }), { 'content-type': 'application/json' }, 404)
    })
    base = fake.url
    return fake
  }
  const fakeRegistry = (name: string, tarball: Buffer, served = tarball, dist: Record<string, unknown> = {}) => fakeRegistryOf([{ name, tarball, served, dist }])

  beforeAll(async () => {
    upstreamTrove = await startTestServer()
    upstreamAdmin = new Client(upstreamTrove.url, upstreamTrove.adminAuth)
    const created = await upstreamAdmin.put('/artifactory/api/repositories/up-npm', { body: { key: 'up-npm', rclass: 'local', packageType: 'npm', anonymousRead: true } })
    expect(created.status, created.text).toBe(200)
    await publishTo(upstreamAdmin, 'up-npm', { name: 'pkg-a', version: '1.0.0' }, 'upstream')
    await publishTo(upstreamAdmin, 'up-npm', { name: 'pkg-a', version: '1.1.0' }, 'upstream')
    await publishTo(upstreamAdmin, 'up-npm', { name: 'pkg-b', version: '1.0.0', dependencies: { 'pkg-a': '^1.0.0' } }, 'upstream')
    await publishTo(upstreamAdmin, 'up-npm', { name: '@acme/util', version: '2.0.0' }, 'upstream')
    await publishTo(upstreamAdmin, 'up-npm', { name: 'merged', version: '1.0.0' }, 'upstream')
    await publishTo(upstreamAdmin, 'up-npm', { name: 'merged', version: '2.0.0' }, 'upstream')

    server = await startTestServer({ backend, settings: ALLOW_LOOPBACK })
    admin = new Client(server.url, server.adminAuth)
    await createNpmRepository('npm-local', { rclass: 'local' })
    // Re-checked on every request (period 0): a warm install with the upstream down is stale-if-error.
    await createNpmRepository('npm-remote', { rclass: 'remote', url: `${upstreamTrove.url}${API}/up-npm/`, retrievalCachePeriodSecs: 0 })
    await createNpmRepository('npm-virtual', { rclass: 'virtual', repositories: ['npm-local', 'npm-remote'], defaultDeploymentRepo: 'npm-local' })
    await publishTo(admin, 'npm-local', { name: 'merged', version: '1.0.0' }, 'local')
    await publishTo(admin, 'npm-local', { name: 'merged', version: '1.5.0' }, 'local')
  })

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    for (const home of homes) await home.remove().catch(() => {})
    await server?.close()
    if (!isUpstreamStopped) await upstreamTrove?.close()
  })

  describe('remote', () => {
    it('pulls a packument through, with tarball URLs rewritten to the host the client used, full and abbreviated', async () => {
      const full = await admin.get(`${API}/npm-remote/pkg-a`)
      expect(full.status, full.text).toBe(200)
      const document = full.json()
      expect(Object.keys(document.versions)).toEqual(['1.0.0', '1.1.0'])
      expect(document['dist-tags']).toEqual({ latest: '1.1.0' })
      expect(document.versions['1.0.0'].dist.tarball).toBe(`${server.url}${API}/npm-remote/pkg-a/-/pkg-a-1.0.0.tgz`)
      expect(document.versions['1.0.0'].dist.shasum).toBe(sha1(tarballs.get('pkg-a@1.0.0@upstream')!))
      expect(document.time['1.0.0']).toBeDefined()

      const port = new URL(server.url).port
      const viaOtherHost = await admin.get(`${API}/npm-remote/pkg-a`, { headers: { host: `localhost:${port}`, accept: 'application/vnd.npm.install-v1+json' } })
      expect(viaOtherHost.status, viaOtherHost.text).toBe(200)
      expect(viaOtherHost.headers['content-type']).toMatch(/application\/vnd\.npm\.install-v1\+json/)
      const abbreviated = viaOtherHost.json()
      expect(abbreviated.time).toBeUndefined()
      expect(abbreviated.versions['1.1.0'].dist.tarball).toBe(`http://localhost:${port}${API}/npm-remote/pkg-a/-/pkg-a-1.1.0.tgz`)

      // The packument is cached where Artifactory keeps it.
      const stored = await admin.get('/artifactory/api/storage/npm-remote/.npm/pkg-a/package.json')
      expect(stored.status, stored.text).toBe(200)
    })

    it('pulls tarballs through, verified and cached at the Artifactory path; scoped names too', async () => {
      const tarball = await admin.get(`${API}/npm-remote/pkg-a/-/pkg-a-1.0.0.tgz`)
      expect(tarball.status, tarball.text).toBe(200)
      expect(tarball.body.equals(tarballs.get('pkg-a@1.0.0@upstream')!)).toBe(true)
      const stored = await admin.get('/artifactory/api/storage/npm-remote/pkg-a/-/pkg-a-1.0.0.tgz')
      expect(stored.status, stored.text).toBe(200)
      expect(stored.json().checksums.sha1).toBe(sha1(tarballs.get('pkg-a@1.0.0@upstream')!))

      const scoped = (await admin.get(`${API}/npm-remote/@acme%2futil`)).json()
      expect(scoped.versions['2.0.0'].dist.tarball).toBe(`${server.url}${API}/npm-remote/@acme/util/-/util-2.0.0.tgz`)
      const scopedTarball = await admin.get(`${API}/npm-remote/@acme/util/-/util-2.0.0.tgz`)
      expect(scopedTarball.status, scopedTarball.text).toBe(200)
      expect(scopedTarball.body.equals(tarballs.get('@acme/util@2.0.0@upstream')!)).toBe(true)

      expect((await admin.get(`${API}/npm-remote/pkg-a/1.1.0`)).json().dist.tarball).toBe(`${server.url}${API}/npm-remote/pkg-a/-/pkg-a-1.1.0.tgz`)
      expect((await admin.get(`${API}/npm-remote/-/package/pkg-a/dist-tags`)).json()).toEqual({ latest: '1.1.0' })
    })

    it('answers 404 for a package the upstream does not have', async () => {
      expectNpmError(await admin.get(`${API}/npm-remote/no-such-package`), 404, /not found upstream of 'npm-remote'/)
    })

    it('refuses a publish, a dist-tag change and an unpublish with a clear npm error', async () => {
      const pkg = await npmPackage({ name: 'nope', version: '1.0.0' })
      expectNpmError(await admin.put(`${API}/npm-remote/nope`, { body: pkg.body }), 405, /'npm-remote' is a remote npm repository .*publish to a local npm repository/)
      expectNpmError(
        await admin.put(`${API}/npm-remote/-/package/pkg-a/dist-tags/beta`, { body: '"1.0.0"', headers: { 'content-type': 'application/json' } }),
        405,
        /publish to a local npm repository/,
      )
      expectNpmError(await admin.delete(`${API}/npm-remote/pkg-a/-rev/1`), 405, /publish to a local npm repository/)
    })

    it('refuses a tarball whose bytes do not match the upstream integrity, and caches nothing', async () => {
      const good = (await npmPackage({ name: 'bad-bytes', version: '1.0.0' })).tarball
      const wrong = (await npmPackage({ name: 'bad-bytes', version: '1.0.0' }, { 'index.js': 'module.exports = "evil"\n' })).tarball
      const fake = await fakeRegistry('bad-bytes', good, wrong)
      await createNpmRepository('npm-bad', { rclass: 'remote', url: fake.url })
      const first = await getHashed(`${server.url}${API}/npm-bad/bad-bytes/-/bad-bytes-1.0.0.tgz`)
      // The client never gets a complete wrong file: an error status or a cut connection.
      expect(first.status !== 200 || first.error !== undefined, JSON.stringify(first)).toBe(true)
      expect((await admin.get('/artifactory/api/storage/npm-bad/bad-bytes/-/bad-bytes-1.0.0.tgz')).status).toBe(404)
      // Nothing was cached: the next request asks the upstream again, and is refused again.
      const second = await getHashed(`${server.url}${API}/npm-bad/bad-bytes/-/bad-bytes-1.0.0.tgz`)
      expect(second.status !== 200 || second.error !== undefined).toBe(true)
      expect(fake.hits('/bad-bytes/-/bad-bytes-1.0.0.tgz')).toBe(2)
      expect((await admin.get('/artifactory/api/storage/npm-bad/bad-bytes/-/bad-bytes-1.0.0.tgz')).status).toBe(404)
    })

    it('serves concurrent requests for one uncached tarball from one upstream stream, bytes reaching every client before it ends', async () => {
      const CLIENTS = 5
      const tarball = (await npmPackage({ name: 'crowd', version: '1.0.0' }, { 'data.bin': randomBytes(512 * 1024).toString('base64') })).tarball
      const half = Math.floor(tarball.length / 2)
      let base = ''
      let firstBytesSeen = 0
      let hadEveryClientBytes = false
      let allSawBytes!: () => void
      const everyClientGotBytes = new Promise<void>((resolve) => (allSawBytes = resolve))
      const fake = await upstream(async (request, response) => {
        const path = (request.url ?? '').split('?')[0]
        if (path === '/crowd') {
          const packument = {
            name: 'crowd',
            'dist-tags': { latest: '1.0.0' },
            versions: { '1.0.0': { name: 'crowd', version: '1.0.0', dist: { tarball: `${base}/crowd/-/crowd-1.0.0.tgz`, shasum: sha1(tarball) } } },
          }
          return sendBody(response, JSON.stringify(packument), { 'content-type': 'application/json' })
        }
        if (path !== '/crowd/-/crowd-1.0.0.tgz') return sendBody(response, '{}', { 'content-type': 'application/json' }, 404)
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(tarball.length) })
        // No byte until every request has had time to arrive; then half, and the rest only once
        // every client has received bytes (bounded: a client that never does fails below).
        await sleep(500)
        await writeChunks(response, tarball.subarray(0, half), 16 * 1024)
        hadEveryClientBytes = await Promise.race([everyClientGotBytes.then(() => true), sleep(10_000).then(() => false)])
        await writeChunks(response, tarball.subarray(half), 16 * 1024)
        response.end()
      })
      base = fake.url
      await createNpmRepository('npm-crowd', { rclass: 'remote', url: fake.url })
      // The packument first (metadata is shared through the cache), so that the tarball requests arrive together.
      expect((await admin.get(`${API}/npm-crowd/crowd`)).status).toBe(200)

      const url = `${server.url}${API}/npm-crowd/crowd/-/crowd-1.0.0.tgz`
      const results = await Promise.all(
        Array.from({ length: CLIENTS }, () =>
          getStreamed(url, () => {
            if (++firstBytesSeen === CLIENTS) allSawBytes()
          }),
        ),
      )
      expect(fake.hits('/crowd/-/crowd-1.0.0.tgz')).toBe(1)
      // Every client had bytes before the upstream sent its second half: one live stream, not the cache.
      expect(hadEveryClientBytes).toBe(true)
      const sha256 = createHash('sha256').update(tarball).digest('hex')
      for (const result of results) {
        expect(result.error).toBeUndefined()
        expect({ status: result.status, sha256: result.sha256 }).toEqual({ status: 200, sha256 })
      }
      const cached = await admin.get('/artifactory/api/storage/npm-crowd/crowd/-/crowd-1.0.0.tgz')
      expect(cached.status, cached.text).toBe(200)
    })

    it('verifies tarballs against a sha512 dist.integrity: a mismatch is refused and not cached even when the shasum matches', async () => {
      const tarballUrl = (repo: string, name: string) => `${server.url}${API}/${repo}/${name}/-/${name}-1.0.0.tgz`
      const storage = (repo: string, name: string) => admin.get(`/artifactory/api/storage/${repo}/${name}/-/${name}-1.0.0.tgz`)
      const sha512 = (bytes: Buffer) => `sha512-${createHash('sha512').update(bytes).digest('base64')}`
      const served = (await npmPackage({ name: 'bad-integrity', version: '1.0.0' })).tarball
      const other = (await npmPackage({ name: 'bad-integrity', version: '1.0.0' }, { 'index.js': 'module.exports = "other"\n' })).tarball
      // The shasum (sha1) describes the served bytes; only the integrity (sha512) names other bytes.
      const fake = await fakeRegistry('bad-integrity', served, served, { integrity: sha512(other) })
      await createNpmRepository('npm-bad-integrity', { rclass: 'remote', url: fake.url })

      // 1. The client never gets a complete file: an error status or a cut connection; nothing cached.
      const first = await getHashed(tarballUrl('npm-bad-integrity', 'bad-integrity'))
      expect(first.status !== 200 || first.error !== undefined, JSON.stringify(first)).toBe(true)
      expect((await storage('npm-bad-integrity', 'bad-integrity')).status).toBe(404)
      // 2. The next request asks the upstream again and is refused again.
      const second = await getHashed(tarballUrl('npm-bad-integrity', 'bad-integrity'))
      expect(second.status !== 200 || second.error !== undefined).toBe(true)
      expect(fake.hits('/bad-integrity/-/bad-integrity-1.0.0.tgz')).toBe(2)
      expect((await storage('npm-bad-integrity', 'bad-integrity')).status).toBe(404)

      // 3. Not stored locally (storeArtifactsLocally: false), the bytes are verified all the same.
      await createNpmRepository('npm-bad-integrity-through', { rclass: 'remote', url: fake.url, storeArtifactsLocally: false })
      const through = await getHashed(tarballUrl('npm-bad-integrity-through', 'bad-integrity'))
      expect(through.status !== 200 || through.error !== undefined, JSON.stringify(through)).toBe(true)

      // 4. The control: the same bytes under a matching integrity (sha512 and no shasum) pass and are cached.
      const good = await fakeRegistry('good-integrity', served, served, { shasum: undefined })
      await createNpmRepository('npm-good-integrity', { rclass: 'remote', url: good.url })
      const passed = await getHashed(tarballUrl('npm-good-integrity', 'good-integrity'))
      expect(passed.error).toBeUndefined()
      expect(passed.status).toBe(200)
      expect(passed.sha256).toBe(createHash('sha256').update(served).digest('hex'))
      const cached = await storage('npm-good-integrity', 'good-integrity')
      expect(cached.status, cached.text).toBe(200)
      expect(cached.json().checksums.sha256).toBe(passed.sha256)
    })
    it('refuses a tarball URL that reaches a private address for that tarball only: the upstream is not assumed offline', async () => {
      const pkg = async (name: string) => (await npmPackage({ name, version: '1.0.0' })).tarball
      const fineBytes = await pkg('ssrf-fine')
      // An upstream (hostile, or compromised) whose packuments send tarball downloads to the cloud
      // metadata address, literally and in its NAT64 spelling, beside an ordinary package.
      const fake = await fakeRegistryOf([
        { name: 'ssrf-metadata', tarball: await pkg('ssrf-metadata'), dist: { tarball: 'http://169.254.169.254/latest/meta-data/ssrf-metadata-1.0.0.tgz' } },
        { name: 'ssrf-nat64', tarball: await pkg('ssrf-nat64'), dist: { tarball: 'http://[64:ff9b::a9fe:a9fe]/latest/ssrf-nat64-1.0.0.tgz' } },
        { name: 'ssrf-fine', tarball: fineBytes },
      ])
      // Each failure would mark the upstream offline for five minutes.
      await createNpmRepository('npm-ssrf', { rclass: 'remote', url: fake.url, assumedOfflinePeriodSecs: 300 })
      const tarball = (name: string) => admin.get(`${API}/npm-ssrf/${name}/-/${name}-1.0.0.tgz`)

      // 1. The packuments pass through (their tarball URLs point back at Trove).
      for (const name of ['ssrf-metadata', 'ssrf-nat64']) {
        const packument = await admin.get(`${API}/npm-ssrf/${name}`)
        expect(packument.status, packument.text).toBe(200)
        expect(packument.json().versions['1.0.0'].dist.tarball).toBe(`${server.url}${API}/npm-ssrf/${name}/-/${name}-1.0.0.tgz`)
      }
      // 2. Their tarballs are refused with a message that names the address and the setting.
      const literal = await tarball('ssrf-metadata')
      expectNpmError(literal, 502, /'npm-ssrf' may not connect to http:\/\/169\.254\.169\.254 .*169\.254\.169\.254 is a loopback, private or link-local address; allow it with TROVE_ALLOWED_UPSTREAM_HOSTS/)
      const nat64 = await tarball('ssrf-nat64')
      expectNpmError(nat64, 502, /64:ff9b::a9fe:a9fe \(embedding 169\.254\.169\.254\) is a loopback, private or link-local address/)
      // 3. The other package still comes through the same remote: one refused URL is not an offline upstream.
      const fine = await tarball('ssrf-fine')
      expect(fine.status, fine.text).toBe(200)
      expect(fine.body.equals(fineBytes)).toBe(true)
      // 4. Asked again, the refused tarball is refused for what it is (not "assumed offline"), and never cached.
      expectNpmError(await tarball('ssrf-metadata'), 502, /TROVE_ALLOWED_UPSTREAM_HOSTS/)
      expect((await admin.get('/artifactory/api/storage/npm-ssrf/ssrf-metadata/-/ssrf-metadata-1.0.0.tgz')).status).toBe(404)
      // 5. The refusals are counted as such.
      const metrics = (await admin.get('/artifactory/api/v1/metrics')).text
      expect(metricValue(metrics, 'trove_remote_upstream_requests_total', { repo: 'npm-ssrf', outcome: 'refused' })).toBe(3)
      expect(metricValue(metrics, 'trove_remote_upstream_requests_total', { repo: 'npm-ssrf', outcome: 'error' })).toBeUndefined()
    })
  })

  describe('virtual', () => {
    it('merges packuments in member order: union of versions, dist-tags from the first member that has the package', async () => {
      await createNpmRepository('npm-local-first', {
        rclass: 'virtual',
        repositories: ['npm-local', 'npm-remote'],
        dependencyConfusionGuard: false,
      })
      await createNpmRepository('npm-remote-first', {
        rclass: 'virtual',
        repositories: ['npm-remote', 'npm-local'],
        dependencyConfusionGuard: false,
      })
      const localFirst = (await admin.get(`${API}/npm-local-first/merged`)).json()
      expect(Object.keys(localFirst.versions).sort()).toEqual(['1.0.0', '1.5.0', '2.0.0'])
      expect(localFirst['dist-tags'].latest).toBe('1.5.0')
      expect(localFirst.versions['1.0.0'].dist.shasum).toBe(sha1(tarballs.get('merged@1.0.0@local')!))
      // Tarball URLs point at the virtual, which resolves them in the member that has them.
      expect(localFirst.versions['2.0.0'].dist.tarball).toBe(`${server.url}${API}/npm-local-first/merged/-/merged-2.0.0.tgz`)
      expect((await admin.get(`${API}/npm-local-first/merged/-/merged-1.0.0.tgz`)).body.equals(tarballs.get('merged@1.0.0@local')!)).toBe(true)
      expect((await admin.get(`${API}/npm-local-first/merged/-/merged-2.0.0.tgz`)).body.equals(tarballs.get('merged@2.0.0@upstream')!)).toBe(true)

      const remoteFirst = (await admin.get(`${API}/npm-remote-first/merged`)).json()
      expect(Object.keys(remoteFirst.versions).sort()).toEqual(['1.0.0', '1.5.0', '2.0.0'])
      expect(remoteFirst['dist-tags'].latest).toBe('2.0.0')
      expect(remoteFirst.versions['1.0.0'].dist.shasum).toBe(sha1(tarballs.get('merged@1.0.0@upstream')!))
      expect((await admin.get(`${API}/npm-remote-first/merged/-/merged-1.0.0.tgz`)).body.equals(tarballs.get('merged@1.0.0@upstream')!)).toBe(true)
    })

    it('serves a name that exists locally from the local member only (the guard, on by default)', async () => {
      const guarded = (await admin.get(`${API}/npm-virtual/merged`)).json()
      expect(Object.keys(guarded.versions).sort()).toEqual(['1.0.0', '1.5.0'])
      expectNpmError(await admin.get(`${API}/npm-virtual/merged/-/merged-2.0.0.tgz`), 404, /no member of virtual repository 'npm-virtual'/)
      // A name no local member has still comes from the remote.
      expect(Object.keys((await admin.get(`${API}/npm-virtual/pkg-a`)).json().versions)).toEqual(['1.0.0', '1.1.0'])
    })

    it('never asks the upstream for a name a local member has, unless the guard is off', async () => {
      const publicTarball = (await npmPackage({ name: 'internal-tool', version: '9.9.9' })).tarball
      const fake = await fakeRegistry('internal-tool', publicTarball)
      await createNpmRepository('npm-fake', { rclass: 'remote', url: fake.url })
      await createNpmRepository('npm-guarded', { rclass: 'virtual', repositories: ['npm-fake', 'npm-local'] })
      await createNpmRepository('npm-unguarded', { rclass: 'virtual', repositories: ['npm-fake', 'npm-local'], dependencyConfusionGuard: false })
      const local = await publishTo(admin, 'npm-local', { name: 'internal-tool', version: '1.0.0' }, 'local')

      const served = (await admin.get(`${API}/npm-guarded/internal-tool`)).json()
      expect(Object.keys(served.versions)).toEqual(['1.0.0'])
      expect((await admin.get(`${API}/npm-guarded/internal-tool/-/internal-tool-1.0.0.tgz`)).body.equals(local)).toBe(true)
      expectNpmError(await admin.get(`${API}/npm-guarded/internal-tool/-/internal-tool-9.9.9.tgz`), 404, /no member/)
      // The guard reaches remotes inside a nested virtual too.
      await createNpmRepository('npm-inner', { rclass: 'virtual', repositories: ['npm-fake'] })
      await createNpmRepository('npm-outer', { rclass: 'virtual', repositories: ['npm-inner', 'npm-local'] })
      expect(Object.keys((await admin.get(`${API}/npm-outer/internal-tool`)).json().versions)).toEqual(['1.0.0'])
      expectNpmError(await admin.get(`${API}/npm-outer/internal-tool/-/internal-tool-9.9.9.tgz`), 404, /no member/)
      expect(fake.requests).toHaveLength(0)

      // Without the guard the upstream is asked (and, listed first, wins the dist-tags).
      const open = (await admin.get(`${API}/npm-unguarded/internal-tool`)).json()
      expect(fake.hits('/internal-tool')).toBe(1)
      expect(open['dist-tags'].latest).toBe('1.0.0')
      expect(Object.keys(open.versions).sort()).toEqual(['1.0.0'])
    })

    it('skips members the caller may not read', async () => {
      await createNpmRepository('npm-private', { rclass: 'local', anonymousRead: false })
      await publishTo(admin, 'npm-private', { name: 'secret', version: '1.0.0' }, 'private')
      await createNpmRepository('npm-mixed', { rclass: 'virtual', repositories: ['npm-private', 'npm-remote'] })
      await createUser(admin, 'npm-reader', 'npm-reader-password')
      await grant(admin, 'npm-mixed', 'npm-reader', ['read'])
      const reader = admin.asUser('npm-reader', 'npm-reader-password')
      expectNpmError(await reader.get(`${API}/npm-mixed/secret`), 404, /no member of virtual repository 'npm-mixed'/)
      expectNpmError(await reader.get(`${API}/npm-mixed/secret/-/secret-1.0.0.tgz`), 404, /no member/)
      expect((await admin.get(`${API}/npm-mixed/secret`)).status).toBe(200)
      // The readable remote member still serves the caller.
      expect((await reader.get(`${API}/npm-mixed/pkg-a`)).status).toBe(200)
    })

    it('publishes through the virtual into its defaultDeploymentRepo; refuses without one', async () => {
      const tarball = await publishTo(admin, 'npm-virtual', { name: 'via-virtual', version: '1.0.0' }, 'virtual')
      const local = await admin.get(`${API}/npm-local/via-virtual`)
      expect(local.status, local.text).toBe(200)
      expect(local.json().versions['1.0.0'].dist.shasum).toBe(sha1(tarball))
      expect((await admin.get('/artifactory/api/storage/npm-local/via-virtual/-/via-virtual-1.0.0.tgz')).status).toBe(200)
      const tag = await admin.put(`${API}/npm-virtual/-/package/via-virtual/dist-tags/stable`, { body: '"1.0.0"', headers: { 'content-type': 'application/json' } })
      expect(tag.status, tag.text).toBe(201)
      expect((await admin.get(`${API}/npm-local/-/package/via-virtual/dist-tags`)).json()).toEqual({ latest: '1.0.0', stable: '1.0.0' })

      const pkg = await npmPackage({ name: 'nowhere', version: '1.0.0' })
      expectNpmError(await admin.put(`${API}/npm-local-first/nowhere`, { body: pkg.body }), 405, /has no defaultDeploymentRepo/)
    })
  })

  describe.skipIf(!hasNpm)('the npm CLI', () => {
    const install = async (registry: string, dependencies: Record<string, string>): Promise<{ result: ClientResult; dir: string }> => {
      const home = await ClientHome.create()
      homes.push(home)
      await home.writeNpmrc([`registry=${server.url}${API}/${registry}/`])
      const dir = await home.folder('project', { 'package.json': JSON.stringify({ name: 'project', version: '1.0.0', private: true, dependencies }) })
      const result = await home.run('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir })
      return { result, dir }
    }
    const installedVersion = async (dir: string, name: string) => JSON.parse(await readFile(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version

    it('installs through the remote and the virtual into fresh folders with fresh caches, then again with the upstream stopped', async () => {
      const viaRemote = await install('npm-remote', { 'pkg-b': '^1.0.0', '@acme/util': '^2.0.0' })
      expect(viaRemote.result.code, viaRemote.result.output).toBe(0)
      expect(await installedVersion(viaRemote.dir, 'pkg-a')).toBe('1.1.0')
      expect(await installedVersion(viaRemote.dir, '@acme/util')).toBe('2.0.0')
      const lock = JSON.parse(await readFile(join(viaRemote.dir, 'package-lock.json'), 'utf8'))
      expect(lock.packages['node_modules/pkg-a'].resolved).toBe(`${server.url}${API}/npm-remote/pkg-a/-/pkg-a-1.1.0.tgz`)

      const viaVirtual = await install('npm-virtual', { 'pkg-b': '^1.0.0', merged: '^1.0.0' })
      expect(viaVirtual.result.code, viaVirtual.result.output).toBe(0)
      expect(await installedVersion(viaVirtual.dir, 'merged')).toBe('1.5.0')
      expect(await readFile(join(viaVirtual.dir, 'node_modules', 'merged', 'index.js'), 'utf8')).toContain('local')

      // Warm: everything is cached in Trove; the upstream goes away, fresh client caches again.
      await upstreamTrove.close()
      isUpstreamStopped = true
      const warmRemote = await install('npm-remote', { 'pkg-b': '^1.0.0', '@acme/util': '^2.0.0' })
      expect(warmRemote.result.code, warmRemote.result.output).toBe(0)
      expect(await installedVersion(warmRemote.dir, 'pkg-a')).toBe('1.1.0')
      const warmVirtual = await install('npm-virtual', { 'pkg-b': '^1.0.0', merged: '^1.0.0' })
      expect(warmVirtual.result.code, warmVirtual.result.output).toBe(0)
      expect(await installedVersion(warmVirtual.dir, 'pkg-a')).toBe('1.1.0')
    }, 240_000)
  })
})

/** GETs `url` over its own connection, hashing the body; `onFirstBytes` is called when the first bytes arrive. */
function getStreamed(url: string, onFirstBytes: () => void): Promise<{ status: number; sha256: string; error?: Error }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const hash = createHash('sha256')
      let hasBytes = false
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk)
        if (!hasBytes) {
          hasBytes = true
          onFirstBytes()
        }
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sha256: hash.digest('hex') }))
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, sha256: '', error }))
    })
    req.setTimeout(60_000, () => req.destroy(new Error(`GET ${url}: no answer within 60 s`)))
    req.on('error', reject)
  })
}
