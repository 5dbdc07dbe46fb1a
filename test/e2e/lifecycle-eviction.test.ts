/**
 * Remote cache eviction (`unusedArtifactsCleanupPeriodHours`) on both metadata engines: curl pulls
 * through a generic remote whose upstream is a second Trove; the eviction job removes what nobody
 * downloaded within the period (and nothing else), and the next pull fetches it upstream again.
 * The npm CLI installs through an npm remote: the cached packument and tarball are evicted, and the
 * next install fetches both again.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createRepository, curl, deploy, expectRestError, randomPayload, sha256Of, waitUntil } from './generic-support.js'
import { createRemote, updateRepository } from './remote-support.js'
import { ClientHome } from '../conformance/npm/clients.js'
import { npmPackage } from '../helpers/npm.js'

const backends = await metadataBackends()
const hasCurl = await requireClients('the cache eviction suite (curl)', ['curl'])
const hasNpm = await requireClients('the cache eviction suite (npm)', ['npm'])
const HOUR_MS = 3600 * 1000

for (const backend of hasCurl ? backends : []) {
  describe(`remote cache eviction (${backend})`, () => {
    let upstream: TestServer
    let server: TestServer
    let admin: Client
    let workDir: string
    const unused = randomPayload(20_000)
    const used = randomPayload(9_000)

    /** How often the upstream served a file: a pull that reached it counts one. */
    const upstreamDownloads = async (path: string) => (await new Client(upstream.url, upstream.adminAuth).get(`/artifactory/api/storage/up-local/${path}?stats`)).json().downloadCount as number
    const pull = async (path: string) => {
      const result = await curl([`${server.url}/artifactory/cache/${path}`], join(workDir, 'out.bin'))
      expect(result.status).toBe(200)
      return result.body
    }

    beforeAll(async () => {
      workDir = await mkdtemp(join(tmpdir(), 'trove-eviction-'))
      upstream = await startTestServer()
      const upstreamAdmin = new Client(upstream.url, upstream.adminAuth)
      await createRepository(upstreamAdmin, 'up-local', { anonymousRead: true })
      await deploy(upstreamAdmin, 'up-local/pkg/unused.bin', unused)
      await deploy(upstreamAdmin, 'up-local/pkg/used.bin', used)
      server = await startTestServer({
        backend,
        settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] }, upkeep: { cacheEvictionIntervalSecs: 0, usageSnapshotIntervalSecs: 0 } },
      })
      admin = new Client(server.url, server.adminAuth)
      await createRemote(admin, 'cache', `${upstream.url}/artifactory/up-local`, { unusedArtifactsCleanupPeriodHours: 1 })
    })

    afterAll(async () => {
      await server?.close()
      await upstream?.close()
      if (workDir) await rm(workDir, { recursive: true, force: true })
    })

    it('refuses a bad period, changing nothing', async () => {
      for (const bad of [-1, 1.5, 'soon']) {
        expectRestError(await admin.post('/artifactory/api/repositories/cache', { body: { unusedArtifactsCleanupPeriodHours: bad } }), 400, undefined, 'unusedArtifactsCleanupPeriodHours')
      }
      expect((await admin.get('/artifactory/api/repositories/cache')).json().unusedArtifactsCleanupPeriodHours).toBe(1)
    })

    it('evicts what nobody pulled within the period, keeps what was pulled, and pulls the evicted file again from upstream', async () => {
      expect(sha256Of(await pull('pkg/unused.bin'))).toBe(sha256Of(unused))
      expect(sha256Of(await pull('pkg/used.bin'))).toBe(sha256Of(used))
      expect(await upstreamDownloads('pkg/unused.bin')).toBe(1)
      const cachedAt = Date.now()
      // used.bin is pulled again later, from the cache (the upstream is not asked).
      expect(await waitUntil(() => Date.now() > cachedAt + 5)).toBe(true)
      expect(sha256Of(await pull('pkg/used.bin'))).toBe(sha256Of(used))
      const stats = async () => (await admin.get('/artifactory/api/storage/cache/pkg/used.bin?stats')).json().downloadCount as number
      expect(await waitUntil(async () => (await stats()) === 2)).toBe(true)
      expect(await upstreamDownloads('pkg/used.bin')).toBe(1)

      // An hour after caching: unused.bin was last used then; used.bin was pulled since.
      const result = await server.trove.services.cacheEviction.run(cachedAt + HOUR_MS + 1)
      expect(result).toEqual({ repositories: 1, files: 1, bytes: unused.length })
      expect((await admin.get('/artifactory/api/storage/cache/pkg/unused.bin')).status).toBe(404)
      expect((await admin.get('/artifactory/api/storage/cache/pkg/used.bin')).status).toBe(200)

      // The next pull fetches it upstream again, byte for byte.
      expect(sha256Of(await pull('pkg/unused.bin'))).toBe(sha256Of(unused))
      expect(await upstreamDownloads('pkg/unused.bin')).toBe(2)
      expect(sha256Of(await pull('pkg/used.bin'))).toBe(sha256Of(used))
      expect(await upstreamDownloads('pkg/used.bin')).toBe(1)

      const usage = (await admin.get('/api/v1/usage/repositories/cache')).json()
      expect(usage.freed).toEqual([expect.objectContaining({ source: 'eviction', files: 1, bytes: unused.length })])
    })

    it('leaves remote repositories without a period, and local repositories, alone', async () => {
      await updateRepository(admin, 'cache', { unusedArtifactsCleanupPeriodHours: 0 })
      await createRepository(admin, 'mine')
      await deploy(admin, 'mine/old.bin', 'old')
      const result = await server.trove.services.cacheEviction.run(Date.now() + 1000 * HOUR_MS)
      expect(result).toEqual({ repositories: 0, files: 0, bytes: 0 })
      expect((await admin.get('/artifactory/api/storage/cache/pkg/unused.bin')).status).toBe(200)
      expect((await admin.get('/artifactory/mine/old.bin')).text).toBe('old')
    })
  })
}

for (const backend of hasNpm ? backends : []) {
  describe(`remote cache eviction with the npm CLI (${backend})`, () => {
    const API = '/artifactory/api/npm'
    let upstream: TestServer
    let server: TestServer
    let admin: Client
    const homes: ClientHome[] = []

    /** npm install of `evict-me` through the remote, in a fresh folder with a fresh client cache. */
    const install = async () => {
      const home = await ClientHome.create()
      homes.push(home)
      await home.writeNpmrc([`registry=${server.url}${API}/npm-remote/`])
      const dir = await home.folder('project', { 'package.json': JSON.stringify({ name: 'project', version: '1.0.0', private: true, dependencies: { 'evict-me': '^1.0.0' } }) })
      const result = await home.run('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir })
      expect(result.code, result.output).toBe(0)
    }
    const cached = async () => {
      const listed = await admin.get('/artifactory/api/storage/npm-remote?list&deep=1')
      return listed.status === 200 ? (listed.json().files as { uri: string }[]).map((f) => f.uri).sort() : []
    }
    const tarballDownloads = async () =>
      (await new Client(upstream.url, upstream.adminAuth).get('/artifactory/api/storage/up-npm/evict-me/-/evict-me-1.0.0.tgz?stats')).json().downloadCount as number

    beforeAll(async () => {
      upstream = await startTestServer()
      const upstreamAdmin = new Client(upstream.url, upstream.adminAuth)
      expect((await upstreamAdmin.put('/artifactory/api/repositories/up-npm', { body: { key: 'up-npm', rclass: 'local', packageType: 'npm', anonymousRead: true } })).status).toBe(200)
      const pkg = await npmPackage({ name: 'evict-me', version: '1.0.0' }, { 'index.js': 'module.exports = 1\n' })
      expect((await upstreamAdmin.put(`${API}/up-npm/evict-me`, { body: pkg.body })).status).toBe(201)
      server = await startTestServer({ backend, settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] }, upkeep: { cacheEvictionIntervalSecs: 0, usageSnapshotIntervalSecs: 0 } } })
      admin = new Client(server.url, server.adminAuth)
      const created = await admin.put('/artifactory/api/repositories/npm-remote', {
        body: { key: 'npm-remote', rclass: 'remote', packageType: 'npm', anonymousRead: true, url: `${upstream.url}${API}/up-npm/`, unusedArtifactsCleanupPeriodHours: 2 },
      })
      expect(created.status, created.text).toBe(200)
    })

    afterAll(async () => {
      for (const home of homes) await home.remove()
      await server?.close()
      await upstream?.close()
    })

    it('evicts the cached tarball and metadata nobody used, and npm install fetches them again', async () => {
      await install()
      const before = await cached()
      expect(before.some((uri) => uri.endsWith('evict-me-1.0.0.tgz'))).toBe(true)
      expect(before.length).toBeGreaterThan(1) // the packument is cached too
      expect(await tarballDownloads()).toBe(1)

      const result = await server.trove.services.cacheEviction.run(Date.now() + 3 * HOUR_MS)
      expect(result.files).toBe(before.length)
      expect(await cached()).toEqual([])

      await install()
      expect(await cached()).toEqual(before)
      expect(await tarballDownloads()).toBe(2)
    }, 240_000)
  })
}
