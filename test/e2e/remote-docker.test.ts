/**
 * Docker remote and virtual repositories: pull-through from the distribution registry (Debian's
 * `docker-registry`) with skopeo, cold and then warm with the upstream stopped; tag re-checks with
 * HEAD after the cache period; an upstream that sends the wrong bytes for a digest; an upstream
 * that requires the registry token login; and virtual resolution order, the dependency-confusion
 * guard and pushes to the default deployment repository (small `node:http` registries).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobsOfImage, buildImage, buildIndex, readLayoutBlobs, sha256, writeLayout } from '../helpers/oci-images.js'
import { RegistryClient, expectOciError, startOciServer, type OciServer } from '../helpers/oci.js'
import { clientCommand, requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { fakeRegistry } from './registry-support.js'
import { sendBody, sleep, startUpstream, type FakeUpstream } from './remote-support.js'

const hasClients = await requireClients('the distribution-registry pull-through tests', ['docker-registry', 'skopeo'])

const backends = await metadataBackends()

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** The distribution registry on 127.0.0.1, with its storage in `dir`. */
async function startDistribution(dir: string, port: number): Promise<ChildProcess> {
  const config = join(dir, 'config.yml')
  await writeFile(
    config,
    ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'),
  )
  const child = spawn(clientCommand('docker-registry'), ['serve', config], { stdio: 'ignore' })
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`)
      if (res.status === 200) return child
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  child.kill()
  throw new Error('the distribution registry did not start')
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  // A child killed by a signal has a signalCode and no exitCode: it is gone all the same.
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill()
  await exited
}

describe.each(backends)('docker remote and virtual repositories on %s', (backend) => {
  let server: OciServer
  let admin: RegistryClient
  const upstreams: FakeUpstream[] = []

  async function createRepo(key: string, config: Record<string, unknown>): Promise<Response> {
    return admin.call('PUT', `/artifactory/api/repositories/${key}`, {
      headers: { 'content-type': 'application/json', authorization: server.adminAuth },
      body: JSON.stringify({ key, packageType: 'docker', ...config }),
    })
  }
  async function createRemote(key: string, url: string, config: Record<string, unknown> = {}): Promise<void> {
    const res = await createRepo(key, { rclass: 'remote', url, ...config })
    expect(res.status, await res.text()).toBe(200)
  }
  async function fake(options: Parameters<typeof fakeRegistry>[0] = {}) {
    const registry = fakeRegistry(options)
    const upstream = await startUpstream(registry.handler)
    upstreams.push(upstream)
    return { ...registry, upstream }
  }
  const accept = { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' }

  beforeAll(async () => {
    server = await startOciServer(backend, { remote: { allowedUpstreamHosts: ['127.0.0.1'] } })
    admin = new RegistryClient(server, server.adminAuth)
  })
  afterAll(async () => {
    for (const upstream of upstreams) await upstream.close()
    await server?.close()
  })

  describe.skipIf(!hasClients)('with the distribution registry upstream', () => {
    let work: string
    let registry: ChildProcess | undefined

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'trove-docker-remote-'))
    })
    afterAll(async () => {
      await stopProcess(registry)
      if (work) await rm(work, { recursive: true, force: true })
    })

    function skopeo(...args: string[]): Promise<{ code: number; stderr: string }> {
      return new Promise((resolve) => {
        execFile('skopeo', args, { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } }, (err, _stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        )
      })
    }

    it('pulls an image through cold, then warm with the upstream stopped, and browses it', async () => {
      const port = await freePort()
      registry = await startDistribution(work, port)
      const upstreamUrl = `http://127.0.0.1:${port}`
      const image = buildImage('docker-remote-skopeo', 3, undefined, 32 * 1024)
      const source = join(work, 'source')
      await writeLayout(source, 'v1', image.manifest, blobsOfImage(image))
      const push = await skopeo('copy', '--dest-tls-verify=false', `oci:${source}:v1`, `docker://127.0.0.1:${port}/team/app:v1`)
      expect(push.code, push.stderr).toBe(0)
      await createRemote('dist-remote', upstreamUrl, { anonymousRead: true })

      const host = new URL(server.url).host
      const creds = ['--src-tls-verify=false', '--src-creds', `admin:${(await import('../helpers/oci.js')).ADMIN_PASSWORD}`]
      const cold = join(work, 'cold')
      let run = await skopeo('copy', ...creds, `docker://${host}/dist-remote/team/app:v1`, `oci:${cold}:v1`)
      expect(run.code, run.stderr).toBe(0)
      const expected = new Map(blobsOfImage(image).map((b) => [b.descriptor.digest.slice(7), b.bytes]))
      const pulled = await readLayoutBlobs(cold)
      for (const [hex, bytes] of expected) expect(pulled.get(hex)?.equals(bytes), hex).toBe(true)

      // Cached in the local layout: browsable through the storage API.
      let res = await admin.call('GET', `/artifactory/api/storage/dist-remote/team/app/v1/manifest.json`)
      expect(res.status, await res.clone().text()).toBe(200)
      const layer = image.layers[0]!.descriptor.digest.slice(7)
      res = await admin.call('GET', `/artifactory/api/storage/dist-remote/team/app/_uploads/sha256__${layer}`)
      expect(res.status).toBe(200)

      await stopProcess(registry)
      registry = undefined
      const warm = join(work, 'warm')
      run = await skopeo('copy', ...creds, `docker://${host}/dist-remote/team/app:v1`, `oci:${warm}:v1`)
      expect(run.code, run.stderr).toBe(0)
      // Past the tag's cache period with the upstream down: served stale.
      res = await admin.call('POST', `/artifactory/api/repositories/dist-remote`, {
        headers: { 'content-type': 'application/json', authorization: server.adminAuth },
        body: JSON.stringify({ retrievalCachePeriodSecs: 0 }),
      })
      expect(res.status).toBe(200)
      const stale = join(work, 'stale')
      run = await skopeo('copy', ...creds, `docker://${host}/dist-remote/team/app:v1`, `oci:${stale}:v1`)
      expect(run.code, run.stderr).toBe(0)
      expect((await readLayoutBlobs(stale)).size).toBe(expected.size)
    })

    it("lists an image's tags from the upstream (skopeo list-tags), cached under the cache period, and catalogs what is cached", async () => {
      const dir = join(work, 'tags')
      await mkdir(dir, { recursive: true })
      const port = await freePort()
      const tagsRegistry = await startDistribution(dir, port)
      try {
        const image = buildImage('docker-remote-tags', 1)
        const source = join(dir, 'source')
        await writeLayout(source, 'v1', image.manifest, blobsOfImage(image))
        for (const tag of ['v1', 'v2', 'latest']) {
          const push = await skopeo('copy', '--dest-tls-verify=false', `oci:${source}:v1`, `docker://127.0.0.1:${port}/team/lib:${tag}`)
          expect(push.code, push.stderr).toBe(0)
        }
        await createRemote('tags-remote', `http://127.0.0.1:${port}`, { anonymousRead: true })
        const host = new URL(server.url).host
        const creds = ['--tls-verify=false', '--creds', `admin:${(await import('../helpers/oci.js')).ADMIN_PASSWORD}`]
        const listTags = async (name: string) => {
          const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile('skopeo', ['list-tags', ...creds, `docker://${host}/tags-remote/${name}`], { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } }, (err, stdout, stderr) =>
              resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
            )
          })
          return { ...run, tags: run.code === 0 ? ((JSON.parse(run.stdout) as { Tags: string[] }).Tags ?? []) : undefined }
        }

        // 1. Tags nobody pulled yet are listed: they come from the upstream.
        let listed = await listTags('team/lib')
        expect(listed.code, listed.stderr).toBe(0)
        expect(listed.tags).toEqual(['latest', 'v1', 'v2'])
        // Nothing pulled, so nothing is cataloged, and only the tag list is cached.
        let res = await admin.call('GET', '/artifactory/api/docker/tags-remote/v2/_catalog')
        expect(res.status).toBe(200)
        expect(((await res.json()) as { repositories: string[] }).repositories).toEqual([])
        res = await admin.call('GET', '/artifactory/api/storage/tags-remote/.docker/team/lib/tags.list.json')
        expect(res.status, await res.clone().text()).toBe(200)

        // 2. A pull caches the image: the repository's catalog and the global one list it.
        const pulled = await skopeo('copy', '--src-tls-verify=false', '--src-creds', creds[2]!, `docker://${host}/tags-remote/team/lib:v2`, `oci:${join(dir, 'pulled')}:v2`)
        expect(pulled.code, pulled.stderr).toBe(0)
        res = await admin.call('GET', '/artifactory/api/docker/tags-remote/v2/_catalog')
        expect(((await res.json()) as { repositories: string[] }).repositories).toEqual(['team/lib'])
        res = await admin.call('GET', '/v2/_catalog')
        expect(((await res.json()) as { repositories: string[] }).repositories).toContain('tags-remote/team/lib')

        // 3. A new tag upstream is not seen within the cache period (the list is cached) ...
        const push = await skopeo('copy', '--dest-tls-verify=false', `oci:${source}:v1`, `docker://127.0.0.1:${port}/team/lib:v3`)
        expect(push.code, push.stderr).toBe(0)
        expect((await listTags('team/lib')).tags).toEqual(['latest', 'v1', 'v2'])
        // ... and is once the period is over.
        res = await admin.call('POST', `/artifactory/api/repositories/tags-remote`, {
          headers: { 'content-type': 'application/json', authorization: server.adminAuth },
          body: JSON.stringify({ retrievalCachePeriodSecs: 0 }),
        })
        expect(res.status).toBe(200)
        expect((await listTags('team/lib')).tags).toEqual(['latest', 'v1', 'v2', 'v3'])

        // 4. An image the upstream does not have: the registry's NAME_UNKNOWN, 404.
        res = await admin.call('GET', '/v2/tags-remote/team/none/tags/list')
        expect(res.status).toBe(404)
        expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NAME_UNKNOWN')

        // 5. The upstream down: the cached list is served stale.
        await stopProcess(tagsRegistry)
        listed = await listTags('team/lib')
        expect(listed.code, listed.stderr).toBe(0)
        expect(listed.tags).toEqual(['latest', 'v1', 'v2', 'v3'])
      } finally {
        await stopProcess(tagsRegistry)
      }
    })
  })

  it('re-checks a tag with HEAD after its cache period, downloads only a changed one, and serves stale when the upstream fails', async () => {
    const up = await fake()
    const first = buildImage('tag-first', 1)
    const second = buildImage('tag-second', 1)
    up.state.add('app', 'v1', first)
    await createRemote('ttl-remote', up.upstream.url, { retrievalCachePeriodSecs: 1, assumedOfflinePeriodSecs: 0 })
    const get = async () => {
      const res = await admin.call('GET', '/v2/ttl-remote/app/manifests/v1', { headers: accept })
      expect(res.status, await res.clone().text()).toBe(200)
      await res.arrayBuffer()
      return res.headers.get('docker-content-digest')
    }
    expect(await get()).toBe(first.manifest.descriptor.digest)
    expect(await get()).toBe(first.manifest.descriptor.digest)
    expect(up.upstream.hits('/v2/app/manifests/v1')).toBe(1)
    expect(up.upstream.hits('/v2/app/manifests/v1', 'HEAD')).toBe(0)

    await sleep(1100)
    expect(await get()).toBe(first.manifest.descriptor.digest)
    expect(up.upstream.hits('/v2/app/manifests/v1', 'HEAD')).toBe(1)
    expect(up.upstream.hits('/v2/app/manifests/v1')).toBe(1) // unchanged: no download
    expect(await get()).toBe(first.manifest.descriptor.digest) // marked fetched: fresh again
    expect(up.upstream.hits('/v2/app/manifests/v1', 'HEAD')).toBe(1)

    up.state.add('app', 'v1', second)
    await sleep(1100)
    expect(await get()).toBe(second.manifest.descriptor.digest)
    expect(up.upstream.hits('/v2/app/manifests/v1', 'HEAD')).toBe(2)
    expect(up.upstream.hits('/v2/app/manifests/v1')).toBe(2)

    up.state.status = 503
    await sleep(1100)
    expect(await get()).toBe(second.manifest.descriptor.digest)
    // Blobs by digest are cached for good: fetched once.
    const config = second.config.descriptor.digest
    up.state.status = undefined
    for (let i = 0; i < 2; i++) {
      const res = await admin.call('GET', `/v2/ttl-remote/app/blobs/${config}`)
      expect(res.status).toBe(200)
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(config.slice(7))
    }
    expect(up.upstream.hits(`/v2/app/blobs/${config}`)).toBe(1)
  })

  it('serves a cached tag list stale when the upstream fails (429), else the tags cached in the layout, else a clear error', async () => {
    const up = await fake()
    up.state.add('app', 'v1', buildImage('tags-stale-a', 1))
    up.state.add('app', 'v2', buildImage('tags-stale-b', 1))
    up.state.add('other', 'v1', buildImage('tags-stale-c', 1))
    up.state.add('never', 'v1', buildImage('tags-stale-d', 1))
    // Re-checked on every request; a failure does not make the upstream "assumed offline".
    await createRemote('tags-stale', up.upstream.url, { anonymousRead: true, retrievalCachePeriodSecs: 0, assumedOfflinePeriodSecs: 0 })
    const tagsOf = async (name: string) => {
      const res = await admin.call('GET', `/v2/tags-stale/${name}/tags/list`)
      return { status: res.status, body: (await res.json()) as { name?: string; tags?: string[]; errors?: { code: string; message: string }[] } }
    }

    let listed = await tagsOf('app')
    expect(listed).toEqual({ status: 200, body: { name: 'tags-stale/app', tags: ['v1', 'v2'] } })
    // `other` gets a tag cached by a pull, but its list is never fetched.
    const pulled = await admin.call('GET', '/v2/tags-stale/other/manifests/v1', { headers: accept })
    expect(pulled.status).toBe(200)
    const asked = up.upstream.hits('/v2/app/tags/list')

    up.state.status = 429
    // 1. The cached list, stale: the upstream was asked and failed.
    listed = await tagsOf('app')
    expect(listed).toEqual({ status: 200, body: { name: 'tags-stale/app', tags: ['v1', 'v2'] } })
    expect(up.upstream.hits('/v2/app/tags/list')).toBe(asked + 1)
    // 2. No list cached: the tags a pull can be served from.
    listed = await tagsOf('other')
    expect(listed).toEqual({ status: 200, body: { name: 'tags-stale/other', tags: ['v1'] } })
    // 3. Nothing cached at all: an OCI error that names the upstream's failure, not a 404.
    listed = await tagsOf('never')
    expect(listed.status).toBeGreaterThanOrEqual(500)
    expect(listed.body.errors?.[0]?.code).toBe('UNKNOWN')
    up.state.status = undefined
    expect(await tagsOf('never')).toEqual({ status: 200, body: { name: 'tags-stale/never', tags: ['v1'] } })
  })

  it('asks for library/<name> upstream when dockerLibraryPrefix is set, and refuses pushes to a remote', async () => {
    const up = await fake()
    const image = buildImage('library-image', 1)
    up.state.add('library/alpine', 'latest', image)
    await createRemote('hub-remote', up.upstream.url, { dockerLibraryPrefix: true })
    let res = await admin.call('GET', '/v2/hub-remote/alpine/manifests/latest', { headers: accept })
    expect(res.status, await res.clone().text()).toBe(200)
    expect(up.upstream.hits('/v2/library/alpine/manifests/latest')).toBe(1)
    // By digest too, and a two-segment name is sent as it is.
    res = await admin.call('GET', `/v2/hub-remote/alpine/manifests/${image.manifest.descriptor.digest}`, { headers: accept })
    expect(res.status).toBe(200)
    res = await admin.call('GET', '/v2/hub-remote/some/thing/manifests/latest', { headers: accept })
    expect(res.status).toBe(404)
    expect(up.upstream.hits('/v2/some/thing/manifests/latest')).toBe(1)

    res = await admin.call('POST', `/v2/hub-remote/alpine/blobs/uploads/`)
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toMatch(/UNSUPPORTED|DENIED/)
    res = await admin.putManifest('hub-remote/alpine', 'v2', image.manifest)
    expect(res.status).toBeGreaterThanOrEqual(400)
  })

  it('fetches only the platform a client asks for from a multi-architecture index', async () => {
    const up = await fake()
    const amd64 = buildImage('multi-amd64', 1)
    const arm64 = buildImage('multi-arm64', 1, { architecture: 'arm64', os: 'linux' })
    const index = buildIndex([amd64, arm64])
    up.state.add('multi', 'amd', amd64)
    up.state.add('multi', 'arm', arm64)
    up.state.tags.set('multi:v1', { mediaType: index.descriptor.mediaType, bytes: index.bytes })
    up.state.manifests.set(index.descriptor.digest, { mediaType: index.descriptor.mediaType, bytes: index.bytes })
    await createRemote('multi-remote', up.upstream.url)
    let res = await admin.call('GET', '/v2/multi-remote/multi/manifests/v1', { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(index.descriptor.digest)
    // A client that cannot read indexes gets linux/amd64, fetched by digest.
    res = await admin.call('GET', '/v2/multi-remote/multi/manifests/v1', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
    expect(res.status, await res.clone().text()).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(amd64.manifest.descriptor.digest)
    for (const blob of blobsOfImage(amd64).slice(1)) {
      res = await admin.call('GET', `/v2/multi-remote/multi/blobs/${blob.descriptor.digest}`)
      expect(res.status).toBe(200)
      await res.arrayBuffer()
    }
    expect(up.upstream.hits(`/v2/multi/manifests/${arm64.manifest.descriptor.digest}`)).toBe(0)
    for (const blob of blobsOfImage(arm64).slice(1)) expect(up.upstream.hits(`/v2/multi/blobs/${blob.descriptor.digest}`)).toBe(0)
  })

  it('refuses a blob whose bytes do not match its digest, and caches nothing', async () => {
    const promised = sha256('the bytes that were promised')
    const sent = 'other bytes entirely'
    const up = await startUpstream((_request, response) => sendBody(response, sent, { 'content-type': 'application/octet-stream' }))
    upstreams.push(up)
    await createRemote('bad-remote', up.url, { assumedOfflinePeriodSecs: 0 })
    const blobUrl = `/v2/bad-remote/img/blobs/sha256:${promised}`
    // 1. Refused in the registry's error format, twice: the first refusal left nothing behind that
    //    the second could be served from, so it asks upstream again. The body fits in the one chunk
    //    Trove holds back until the digest is known, so no byte reaches the client before the
    //    refusal (a larger body would be cut mid-stream instead).
    for (let i = 0; i < 2; i++) {
      await expectOciError(
        await admin.call('GET', blobUrl),
        502,
        'UNKNOWN',
        `upstream ${up.url} of 'bad-remote' sent content that does not match what it declared: sha256 checksum mismatch: the client declared ${promised} but the content is ${sha256(sent)}`,
      )
    }
    expect(up.hits(`/v2/img/blobs/sha256:${promised}`)).toBe(2)
    // 2. Nothing cached: not the path the blob would be cached at, no file in the repository at
    //    all, and no blob of either digest in the blob store.
    expect((await admin.call('GET', `/artifactory/api/storage/bad-remote/img/_uploads/sha256__${promised}`)).status).toBe(404)
    const listing = await admin.call('GET', '/artifactory/api/storage/bad-remote/?list&deep=1')
    expect(listing.status).toBe(200)
    expect(((await listing.json()) as { files: unknown[] }).files).toEqual([])
    expect(await server.trove.services.blobs.exists(sha256(sent))).toBe(false)
    expect(await server.trove.services.blobs.exists(promised)).toBe(false)
    // 3. With the upstream gone there is nothing to serve it from: the refusal is now the upstream's absence.
    await up.close()
    await expectOciError(await admin.call('GET', blobUrl), 502, 'UNKNOWN', `upstream ${up.url} of 'bad-remote' failed: connect ECONNREFUSED`)
  })

  it('logs in to an upstream that requires the registry token dance', async () => {
    const up = await fake({ bearer: { user: 'robot', password: 'robot-secret' } })
    const image = buildImage('token-image', 2)
    up.state.add('private/app', 'v1', image)
    await createRemote('token-remote', up.upstream.url, { username: 'robot', password: 'robot-secret' })
    let res = await admin.call('GET', '/v2/token-remote/private/app/manifests/v1', { headers: accept })
    expect(res.status, await res.clone().text()).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(image.manifest.descriptor.digest)
    const layer = image.layers[1]!.descriptor.digest
    res = await admin.call('GET', `/v2/token-remote/private/app/blobs/${layer}`)
    expect(res.status).toBe(200)
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(layer.slice(7))
    expect(up.upstream.hits('/token')).toBeGreaterThanOrEqual(1)

    await createRemote('token-remote-anon', up.upstream.url)
    res = await admin.call('GET', '/v2/token-remote-anon/private/app/manifests/v1', { headers: accept })
    expect(res.status).toBeGreaterThanOrEqual(400)
  })

  it('resolves a virtual in order, guards against dependency confusion, and pushes to the default deployment repository', async () => {
    const up = await fake()
    const upstreamShared = buildImage('virtual-upstream-shared', 1)
    const onlyUpstream = buildImage('virtual-only-upstream', 1)
    const localShared = buildImage('virtual-local-shared', 1)
    up.state.add('shared/app', 'v1', upstreamShared)
    up.state.add('shared/app', 'upstream-only-tag', onlyUpstream)
    up.state.add('public/tool', 'v1', onlyUpstream)
    await admin.createRepository('v-deploy')
    await admin.createRepository('v-private')
    await createRemote('v-remote', up.upstream.url)
    await admin.pushImage('v-private/shared/app', 'v1', localShared)
    let res = await createRepo('v-virtual', { rclass: 'virtual', repositories: ['v-deploy', 'v-private', 'v-remote'], defaultDeploymentRepo: 'v-deploy' })
    expect(res.status, await res.text()).toBe(200)
    res = await createRepo('v-unguarded', { rclass: 'virtual', repositories: ['v-remote', 'v-private'], dependencyConfusionGuard: false })
    expect(res.status, await res.text()).toBe(200)

    const digestOf = async (path: string, client = admin) => {
      const r = await client.call('GET', path, { headers: accept })
      await r.arrayBuffer()
      return r.status === 200 ? r.headers.get('docker-content-digest') : r.status
    }
    // Order: the local member comes first.
    expect(await digestOf('/v2/v-virtual/shared/app/manifests/v1')).toBe(localShared.manifest.descriptor.digest)
    // Guard: the name exists locally, so the remote is not asked even for a tag only it has.
    expect(await digestOf('/v2/v-virtual/shared/app/manifests/upstream-only-tag')).toBe(404)
    expect(up.upstream.hits('/v2/shared/app/manifests/upstream-only-tag')).toBe(0)
    // Names no local member has come from the remote.
    expect(await digestOf('/v2/v-virtual/public/tool/manifests/v1')).toBe(onlyUpstream.manifest.descriptor.digest)
    const layer = onlyUpstream.layers[0]!.descriptor.digest
    res = await admin.call('GET', `/v2/v-virtual/public/tool/blobs/${layer}`)
    expect(res.status).toBe(200)
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(layer.slice(7))
    // Without the guard the order decides: the remote is listed first.
    expect(await digestOf('/v2/v-unguarded/shared/app/manifests/v1')).toBe(upstreamShared.manifest.descriptor.digest)

    // A caller who may not read the private member does not see it, nor the upstream's image of that name.
    const reader = await admin.createUser('v-reader', { 'v-virtual': ['read'], 'v-remote': ['read'], 'v-deploy': ['read'] })
    expect(await digestOf('/v2/v-virtual/shared/app/manifests/v1', admin.as(reader))).toBe(404)

    // tags/list merges the members.
    res = await admin.call('GET', '/v2/v-virtual/shared/app/tags/list')
    expect(((await res.json()) as { tags: string[] }).tags).toEqual(['v1'])

    // Pushes land in the default deployment repository.
    const pushed = buildImage('virtual-pushed', 2)
    await admin.pushImage('v-virtual/team/pushed', 'v1', pushed)
    expect(await digestOf('/v2/v-deploy/team/pushed/manifests/v1')).toBe(pushed.manifest.descriptor.digest)
    expect(await digestOf('/v2/v-virtual/team/pushed/manifests/v1')).toBe(pushed.manifest.descriptor.digest)
    res = await admin.call('POST', '/v2/v-unguarded/team/pushed/blobs/uploads/')
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/defaultDeploymentRepo/)

    // The catalog of a virtual lists its members' images.
    res = await admin.call('GET', '/artifactory/api/docker/v-virtual/v2/_catalog')
    expect(res.status).toBe(200)
    expect(((await res.json()) as { repositories: string[] }).repositories).toEqual(expect.arrayContaining(['shared/app', 'team/pushed', 'public/tool']))
  })
})
