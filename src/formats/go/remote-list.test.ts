/**
 * A Go remote's `@v/list` and `@latest` over a real upstream (a second Trove's Go local repository
 * on 127.0.0.1), plain HTTP: a warm remote keeps the bytes of the lists it read (resolver.ts), and
 * must still answer what the upstream lists once the cache period has passed, and the cached list
 * when the upstream is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '../../../test/e2e/generic-support.js'
import { libraryFiles, publishVersion } from '../../../test/helpers/go.js'
import { startTestServer, type TestServer } from '../../../test/helpers/server.js'

const MODULE = 'example.com/listed'

describe('Go remote lists', () => {
  let upstream: TestServer
  let server: TestServer
  let upstreamAdmin: Client
  let admin: Client
  let isUpstreamStopped = false

  beforeAll(async () => {
    upstream = await startTestServer()
    upstreamAdmin = new Client(upstream.url, upstream.adminAuth)
    expect((await upstreamAdmin.put('/artifactory/api/repositories/up-go', { body: { key: 'up-go', rclass: 'local', packageType: 'go', anonymousRead: true } })).status).toBe(200)
    await publishVersion(upstreamAdmin, 'up-go', MODULE, 'v1.0.0', libraryFiles(MODULE, 'one'))
    server = await startTestServer({ settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    admin = new Client(server.url, server.adminAuth)
    for (const [key, period] of [['always-checked', 0], ['kept', 7200]] as const) {
      const created = await admin.put(`/artifactory/api/repositories/${key}`, {
        body: { key, rclass: 'remote', packageType: 'go', url: `${upstream.url}/artifactory/api/go/up-go`, retrievalCachePeriodSecs: period, assumedOfflinePeriodSecs: 0 },
      })
      expect(created.status, created.text).toBe(200)
    }
  })

  afterAll(async () => {
    await server?.close()
    if (!isUpstreamStopped) await upstream?.close()
  })

  const list = async (repo: string) => {
    const response = await admin.get(`/artifactory/api/go/${repo}/${MODULE}/@v/list`)
    expect(response.status, response.text).toBe(200)
    return response.text
  }
  const latest = async (repo: string) => (JSON.parse((await admin.get(`/artifactory/api/go/${repo}/${MODULE}/@latest`)).text) as { Version: string }).Version

  it('answers a version published upstream after the list was read, once the cache period has passed', async () => {
    expect(await list('always-checked')).toBe('v1.0.0\n')
    expect(await list('always-checked')).toBe('v1.0.0\n')
    expect(await list('kept')).toBe('v1.0.0\n')
    await publishVersion(upstreamAdmin, 'up-go', MODULE, 'v1.1.0', libraryFiles(MODULE, 'two'))
    expect(await list('always-checked')).toBe('v1.0.0\nv1.1.0\n')
    expect(await latest('always-checked')).toBe('v1.1.0')
    // Within its cache period the other remote answers what it read, as before.
    expect(await list('kept')).toBe('v1.0.0\n')
  })

  it('answers the cached list with the upstream stopped', async () => {
    await upstream.close()
    isUpstreamStopped = true
    expect(await list('kept')).toBe('v1.0.0\n')
    expect(await list('always-checked')).toBe('v1.0.0\nv1.1.0\n')
  })
})
