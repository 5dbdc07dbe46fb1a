/**
 * Where the copies of virtual resolution used to disagree, the one engine's rule, over real HTTP
 * (upstreams are small node:http servers on 127.0.0.1):
 * 1. download policies apply with the repository that holds the file, also to a first pull
 *    through a virtual (npm and PyPI used to ask the virtual's policies only for a stream);
 * 2. a download is counted once on the serving member's file, the first pull-through included
 *    (a pulled-through stream used to go uncounted);
 * 3. a virtual's include/exclude patterns apply to every format's files (npm, PyPI and docker
 *    ignored them; the plain layout and Maven applied them);
 * 4. a merged document whose members all failed upstream is a 502, not an empty document (Helm's
 *    index used to answer 200 with no entries; npm, PyPI, Maven and the plain layout said 502);
 * 5. the dependency-confusion guard counts locals in nested virtuals (docker looked at direct
 *    members only), and a member whose upstream fails is left out of a merged docker tag list
 *    (docker failed the whole list; npm, PyPI and Maven merged the others).
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { npmPackage } from '../helpers/npm.js'
import { buildImage } from '../helpers/oci-images.js'
import { RegistryClient, expectOciError, startOciServer, type OciServer } from '../helpers/oci.js'
import { metadataBackends } from '../helpers/postgres.js'
import { Client, expectRestError, waitUntil } from './generic-support.js'
import { fakeRegistry } from './registry-support.js'
import { createRemote, sendBody, startUpstream, type FakeUpstream } from './remote-support.js'

const backends = await metadataBackends()
const ALLOW_LOOPBACK = { remote: { allowedUpstreamHosts: ['127.0.0.1'] } }
const NPM = '/artifactory/api/npm'

describe.each(backends)('virtual resolution, one rule for every format (%s)', (backend) => {
  let server: OciServer
  let admin: Client
  let registry: RegistryClient
  const upstreams: FakeUpstream[] = []
  let tarball: Buffer

  const upstream = async (handler: Parameters<typeof startUpstream>[0]) => {
    const started = await startUpstream(handler)
    upstreams.push(started)
    return started
  }
  const create = async (key: string, config: Record<string, unknown>) => {
    const response = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, anonymousRead: true, ...config } })
    expect(response.status, response.text).toBe(200)
  }
  const statsOf = async (repoPath: string) => (await admin.get(`/artifactory/api/storage/${repoPath}?stats`)).json() as { downloadCount?: number }

  beforeAll(async () => {
    server = await startOciServer(backend, ALLOW_LOOPBACK)
    admin = new Client(server.url, server.adminAuth)
    registry = new RegistryClient(server, server.adminAuth)

    // An npm registry with one package, whose tarball the packument describes.
    tarball = (await npmPackage({ name: 'leftpad', version: '1.0.0' })).tarball
    let base = ''
    const npmUpstream = await upstream((request, response) => {
      const path = (request.url ?? '').split('?')[0]
      if (path === '/leftpad') {
        const dist = { tarball: `${base}/leftpad/-/leftpad-1.0.0.tgz`, shasum: createHash('sha1').update(tarball).digest('hex') }
        const packument = { name: 'leftpad', 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { name: 'leftpad', version: '1.0.0', dist } } }
        return sendBody(response, JSON.stringify(packument), { 'content-type': 'application/json' })
      }
      if (path === '/leftpad/-/leftpad-1.0.0.tgz') return sendBody(response, tarball)
      return sendBody(response, '{"error":"not found"}', { 'content-type': 'application/json' }, 404)
    })
    base = npmUpstream.url
    await create('npm-local', { rclass: 'local', packageType: 'npm' })
    await create('npm-remote', { rclass: 'remote', packageType: 'npm', url: npmUpstream.url })
    await create('npm-virtual', { rclass: 'virtual', packageType: 'npm', repositories: ['npm-local', 'npm-remote'] })
    await create('npm-narrow', { rclass: 'virtual', packageType: 'npm', repositories: ['npm-remote'], excludesPattern: 'leftpad/**' })

    const files = await upstream((request, response) => {
      if ((request.url ?? '').split('?')[0] === '/tools/cli.bin') return sendBody(response, 'a command line tool')
      return sendBody(response, 'not found', {}, 404)
    })
    await createRemote(admin, 'gen-remote', files.url)
    await create('gen-virtual', { rclass: 'virtual', packageType: 'generic', repositories: ['gen-remote'] })

    const down = await upstream((_request, response) => sendBody(response, 'maintenance', {}, 503))
    await create('helm-down', { rclass: 'remote', packageType: 'helm', url: down.url })
    await create('helm-empty', { rclass: 'local', packageType: 'helm' })
    await create('helm-only-down', { rclass: 'virtual', packageType: 'helm', repositories: ['helm-down'] })
    await create('helm-with-local', { rclass: 'virtual', packageType: 'helm', repositories: ['helm-down', 'helm-empty'] })
  }, 60_000)

  afterAll(async () => {
    for (const started of upstreams) await started.close().catch(() => {})
    await server?.close()
  })

  it('1. applies the policies of the member that serves a file through a virtual, also to its first pull-through', async () => {
    const created = await admin.put('/api/v1/scan/policies/remote-unscanned', { body: { repositories: ['npm-remote'], blockUnscanned: true } })
    expect(created.status, created.text).toBe(201)
    try {
      const refused = await admin.get(`${NPM}/npm-virtual/leftpad/-/leftpad-1.0.0.tgz`)
      expect(refused.status, refused.text).toBe(403)
      expect(refused.json().error).toMatch(/leftpad-1\.0\.0\.tgz is blocked by policy 'remote-unscanned': it has not been scanned yet/)
      // Refused, it still completed into the member's cache, so that it gets scanned.
      expect(await waitUntil(async () => (await admin.get('/artifactory/api/storage/npm-remote/leftpad/-/leftpad-1.0.0.tgz')).status === 200)).toBe(true)
      // Cached now, it is refused the same way.
      expect((await admin.get(`${NPM}/npm-virtual/leftpad/-/leftpad-1.0.0.tgz`)).status).toBe(403)
    } finally {
      expect((await admin.delete('/api/v1/scan/policies/remote-unscanned')).status).toBe(204)
    }
    const allowed = await admin.get(`${NPM}/npm-virtual/leftpad/-/leftpad-1.0.0.tgz`)
    expect(allowed.status).toBe(200)
    expect(Buffer.from(allowed.body).equals(tarball)).toBe(true)
  })

  it('2. counts a download once, on the file of the member that served it, the first pull-through included', async () => {
    // The first GET streams from the upstream as it is cached, the second is served from the cache.
    for (let i = 0; i < 2; i++) {
      const response = await admin.get('/artifactory/gen-virtual/tools/cli.bin')
      expect(response.status, response.text).toBe(200)
      expect(response.text).toBe('a command line tool')
    }
    expect((await admin.head('/artifactory/gen-virtual/tools/cli.bin')).status).toBe(200) // a HEAD is no download
    expect(await waitUntil(async () => (await statsOf('gen-remote/tools/cli.bin')).downloadCount === 2)).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect((await statsOf('gen-remote/tools/cli.bin')).downloadCount).toBe(2)
  })

  it("3. applies a virtual's include/exclude patterns to npm tarballs as to every path", async () => {
    const excluded = await admin.get(`${NPM}/npm-narrow/leftpad/-/leftpad-1.0.0.tgz`)
    expect(excluded.status, excluded.text).toBe(404)
    expect(excluded.json().error).toMatch(/include\/exclude patterns of 'npm-narrow'/)
    // Through the virtual without patterns, the same member serves it.
    expect((await admin.get(`${NPM}/npm-virtual/leftpad/-/leftpad-1.0.0.tgz`)).status).toBe(200)
  })

  it('4. answers 502 for a Helm index whose only member failed upstream; leaves the failed member out when another answers', async () => {
    expectRestError(await admin.get('/artifactory/api/helm/helm-only-down/index.yaml'), 502, /503/)
    const served = await admin.get('/artifactory/api/helm/helm-with-local/index.yaml')
    expect(served.status, served.text).toBe(200)
    expect(served.text).toMatch(/^apiVersion: v1/m)
  })

  it('5. guards an image a local holds in a nested virtual, and merges tags/list past a member whose upstream fails', async () => {
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' }
    const up = fakeRegistry()
    const upUpstream = await upstream(up.handler)
    const ours = buildImage('nested-guard-ours', 1)
    const impostor = buildImage('nested-guard-impostor', 1)
    up.state.add('team/app', 'v1', impostor)
    up.state.add('team/app', 'v9', impostor)
    await create('n-private', { rclass: 'local', packageType: 'docker' })
    await registry.pushImage('n-private/team/app', 'v1', ours)
    await create('n-remote', { rclass: 'remote', packageType: 'docker', url: upUpstream.url })
    await create('n-inner', { rclass: 'virtual', packageType: 'docker', repositories: ['n-private'] })
    await create('n-outer', { rclass: 'virtual', packageType: 'docker', repositories: ['n-inner', 'n-remote'] })

    // The local image is one level down: the remote is still not asked for its name (a tag only the upstream has is unknown).
    let res = await registry.call('GET', '/v2/n-outer/team/app/manifests/v1', { headers: accept })
    expect(res.headers.get('docker-content-digest')).toBe(ours.manifest.descriptor.digest)
    await res.arrayBuffer()
    await expectOciError(await registry.call('GET', '/v2/n-outer/team/app/manifests/v9', { headers: accept }), 404, 'MANIFEST_UNKNOWN')
    res = await registry.call('GET', '/v2/n-outer/team/app/tags/list')
    expect(((await res.json()) as { tags: string[] }).tags).toEqual(['v1'])
    expect(upUpstream.hits('/v2/team/app/manifests/v9') + upUpstream.hits('/v2/team/app/tags/list')).toBe(0)

    // A member whose upstream fails with nothing cached is left out of the merged tag list.
    const down = fakeRegistry()
    down.state.status = 503
    await create('n-down', { rclass: 'remote', packageType: 'docker', url: (await upstream(down.handler)).url })
    await create('n-mixed', { rclass: 'virtual', packageType: 'docker', repositories: ['n-down', 'n-private'], dependencyConfusionGuard: false })
    res = await registry.call('GET', '/v2/n-mixed/team/app/tags/list')
    expect(res.status).toBe(200)
    expect(((await res.json()) as { tags: string[] }).tags).toEqual(['v1'])
  })
})
