/**
 * Remote cache eviction (`unusedArtifactsCleanupPeriodHours`) on both metadata engines: curl pulls
 * through a generic remote whose upstream is a second Trove; the eviction job removes what nobody
 * downloaded within the period (and nothing else), and the next pull fetches it upstream again.
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

const backends = await metadataBackends()
const hasCurl = await requireClients('the cache eviction suite (curl)', ['curl'])
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
