/**
 * Manifests, tags, the catalog and the referrers API over real HTTP, on every metadata backend:
 * pushes by tag and by digest of every manifest type, the refusals the specification lists,
 * content negotiation, deletions, the Artifactory layout of images, Helm-style OCI artifacts and
 * a delete while a pull is streaming.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  OCI_INDEX,
  OCI_MANIFEST,
  blobOf,
  buildImage,
  buildIndex,
  sha256,
  type Blob,
} from '../../../test/helpers/oci-images.js'
import { RegistryClient, expectOciError, readSlowly, startOciServer, type OciServer } from '../../../test/helpers/oci.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'

const backends = await metadataBackends()

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json'
const HELM_CHART = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip'

function json(mediaType: string, body: Record<string, unknown>): Blob {
  return blobOf(mediaType, Buffer.from(JSON.stringify(body)))
}

describe.each(backends)('manifests, tags and referrers on %s', (backend) => {
  let server: OciServer
  let admin: RegistryClient

  beforeAll(async () => {
    server = await startOciServer(backend)
    admin = new RegistryClient(server, server.adminAuth)
    await admin.createRepository('docker-local')
    await admin.createRepository('private-local')
  })
  afterAll(async () => server?.close())

  it('pushes an image by tag and serves it by tag and by digest, byte for byte', async () => {
    const image = buildImage('pull', 3)
    const digest = image.manifest.descriptor.digest
    for (const layer of [image.config, ...image.layers]) await admin.pushBlob('docker-local/app', layer.bytes)
    const res = await admin.putManifest('docker-local/app', 'v1', image.manifest)
    expect(res.status, await res.clone().text()).toBe(201)
    expect(res.headers.get('location')).toBe(`/v2/docker-local/app/manifests/${digest}`)
    expect(res.headers.get('docker-content-digest')).toBe(digest)

    for (const reference of ['v1', digest]) {
      const get = await admin.call('GET', `/v2/docker-local/app/manifests/${reference}`, { headers: { accept: OCI_MANIFEST } })
      expect(get.status).toBe(200)
      expect(get.headers.get('content-type')).toBe(OCI_MANIFEST)
      expect(get.headers.get('docker-content-digest')).toBe(digest)
      expect(Buffer.from(await get.arrayBuffer()).equals(image.manifest.bytes)).toBe(true)
      const head = await admin.call('HEAD', `/v2/docker-local/app/manifests/${reference}`)
      expect(head.status).toBe(200)
      expect(head.headers.get('content-length')).toBe(String(image.manifest.bytes.length))
      expect(head.headers.get('docker-content-digest')).toBe(digest)
      expect(await head.text()).toBe('')
    }
    const cached = await admin.call('GET', `/v2/docker-local/app/manifests/v1`, { headers: { 'if-none-match': `"${digest}"` } })
    expect(cached.status).toBe(304)
    for (const layer of image.layers) {
      const blob = await admin.call('GET', `/v2/docker-local/app/blobs/${layer.descriptor.digest}`)
      expect(Buffer.from(await blob.arrayBuffer()).equals(layer.bytes)).toBe(true)
    }
  })

  it('lays images out as Artifactory does, counts them in the repository size, and records pulls', async () => {
    const image = buildImage('layout', 2)
    await admin.pushImage('docker-local/layout/app', '1.0', image)
    const listing = await admin.call('GET', '/artifactory/api/storage/docker-local/layout/app?list&deep=1')
    const files = ((await listing.json()) as { files: { uri: string; size: number }[] }).files
    expect(files.map((f) => f.uri).sort()).toEqual(
      ['/1.0/manifest.json', ...[image.config, ...image.layers].map((b) => `/1.0/sha256__${b.descriptor.digest.slice(7)}`)].sort(),
    )
    const properties = await admin.call('GET', '/artifactory/api/storage/docker-local/layout/app/1.0/manifest.json?properties')
    expect(((await properties.json()) as { properties: Record<string, string[]> }).properties).toMatchObject({
      'docker.repoName': ['layout/app'],
      'docker.manifest': ['1.0'],
      'docker.manifest.digest': [image.manifest.descriptor.digest],
    })
    // Every manifest and layer counts towards the repository's size (what quotas will use).
    const usage = await server.trove.services.artifacts.usage()
    const expected = files.reduce((sum, f) => sum + f.size, 0)
    expect(usage.get('docker-local')!.bytes).toBeGreaterThanOrEqual(expected)

    await admin.call('GET', '/v2/docker-local/layout/app/manifests/1.0')
    await admin.call('GET', '/v2/docker-local/layout/app/manifests/1.0')
    await server.restart() // closing flushes the counted downloads
    const stats = await admin.call('GET', '/artifactory/api/storage/docker-local/layout/app/1.0/manifest.json?stats')
    expect(((await stats.json()) as { downloadCount: number }).downloadCount).toBe(2)
  })

  it('pushes by digest, and keeps a manifest pullable by digest when its tag moves on or is deleted', async () => {
    const first = buildImage('move-1', 1)
    const second = buildImage('move-2', 1)
    await admin.pushImage('docker-local/moving', 'latest', first)
    await admin.pushImage('docker-local/moving', 'latest', second)
    const old = await admin.call('GET', `/v2/docker-local/moving/manifests/${first.manifest.descriptor.digest}`)
    expect(old.status).toBe(200)
    const current = await admin.call('GET', '/v2/docker-local/moving/manifests/latest')
    expect(current.headers.get('docker-content-digest')).toBe(second.manifest.descriptor.digest)
    const tags = await admin.call('GET', '/v2/docker-local/moving/tags/list')
    expect(await tags.json()).toEqual({ name: 'docker-local/moving', tags: ['latest'] })

    const byDigest = buildImage('by-digest', 1)
    const digest = await admin.pushImage('docker-local/moving', byDigest.manifest.descriptor.digest, byDigest)
    expect((await admin.call('HEAD', `/v2/docker-local/moving/manifests/${digest}`)).status).toBe(200)

    // Deleting the tag leaves the manifest; deleting the manifest removes it and every tag naming it.
    expect((await admin.call('DELETE', '/v2/docker-local/moving/manifests/latest')).status).toBe(202)
    await expectOciError(await admin.call('GET', '/v2/docker-local/moving/manifests/latest'), 404, 'MANIFEST_UNKNOWN')
    expect((await admin.call('GET', `/v2/docker-local/moving/manifests/${second.manifest.descriptor.digest}`)).status).toBe(200)
    await admin.putManifest('docker-local/moving', 'a', second.manifest)
    await admin.putManifest('docker-local/moving', 'b', second.manifest)
    expect((await admin.call('DELETE', `/v2/docker-local/moving/manifests/${second.manifest.descriptor.digest}`)).status).toBe(202)
    for (const reference of ['a', 'b', second.manifest.descriptor.digest]) {
      await expectOciError(await admin.call('GET', `/v2/docker-local/moving/manifests/${reference}`), 404, 'MANIFEST_UNKNOWN')
    }
    await expectOciError(await admin.call('DELETE', '/v2/docker-local/moving/manifests/nope'), 404, 'MANIFEST_UNKNOWN')
    await expectOciError(await admin.call('DELETE', `/v2/docker-local/moving/manifests/sha256:${'9'.repeat(64)}`), 404, 'MANIFEST_UNKNOWN')
  })

  it('refuses a manifest that references blobs the image does not hold, listing each one', async () => {
    const image = buildImage('missing', 2)
    await admin.pushBlob('docker-local/missing', image.config.bytes)
    const res = await admin.putManifest('docker-local/missing', 'v1', image.manifest)
    const errors = await expectOciError(res, 400, 'MANIFEST_BLOB_UNKNOWN')
    expect(errors.map((e) => (e.detail as { digest: string }).digest)).toEqual(image.layers.map((l) => l.descriptor.digest))
    await expectOciError(await admin.call('GET', '/v2/docker-local/missing/manifests/v1'), 404, 'MANIFEST_UNKNOWN')
    // A blob held by another image does not count.
    for (const layer of image.layers) await admin.pushBlob('docker-local/elsewhere', layer.bytes)
    await expectOciError(await admin.putManifest('docker-local/missing', 'v1', image.manifest), 400, 'MANIFEST_BLOB_UNKNOWN')
  })

  it('refuses an index whose child manifests are missing, and serves one whose children are there', async () => {
    const amd = buildImage('multi', 1, { architecture: 'amd64', os: 'linux' })
    const arm = buildImage('multi', 1, { architecture: 'arm64', os: 'linux' })
    const index = buildIndex([amd, arm])
    await admin.pushImage('docker-local/multi', amd.manifest.descriptor.digest, amd)
    await expectOciError(await admin.putManifest('docker-local/multi', 'v1', index), 400, 'MANIFEST_BLOB_UNKNOWN', new RegExp(arm.manifest.descriptor.digest))
    await admin.pushImage('docker-local/multi', arm.manifest.descriptor.digest, arm)
    const res = await admin.putManifest('docker-local/multi', 'v1', index)
    expect(res.status, await res.clone().text()).toBe(201)

    const get = await admin.call('GET', '/v2/docker-local/multi/manifests/v1', { headers: { accept: `${OCI_MANIFEST}, ${OCI_INDEX}` } })
    expect(get.headers.get('content-type')).toBe(OCI_INDEX)
    expect(Buffer.from(await get.arrayBuffer()).equals(index.bytes)).toBe(true)
    // A client that cannot read indexes gets the linux/amd64 image.
    const legacy = await admin.call('GET', '/v2/docker-local/multi/manifests/v1', { headers: { accept: OCI_MANIFEST } })
    expect(legacy.status).toBe(200)
    expect(legacy.headers.get('docker-content-digest')).toBe(amd.manifest.descriptor.digest)
    // And one that reads neither gets MANIFEST_UNKNOWN.
    await expectOciError(await admin.call('GET', '/v2/docker-local/multi/manifests/v1', { headers: { accept: DOCKER_MANIFEST } }), 404, 'MANIFEST_UNKNOWN', /does not accept/)
    const listing = await admin.call('GET', '/artifactory/api/storage/docker-local/multi/v1')
    expect(((await listing.json()) as { children: { uri: string }[] }).children.map((c) => c.uri)).toEqual(['/list.manifest.json'])
  })

  it('pushes and pulls Docker schema 2 manifests and manifest lists', async () => {
    const config = blobOf('application/vnd.docker.container.image.v1+json', Buffer.from('{"architecture":"amd64","os":"linux"}'))
    const layer = blobOf('application/vnd.docker.image.rootfs.diff.tar.gzip', randomBytes(2000))
    await admin.pushBlob('docker-local/docker', config.bytes)
    await admin.pushBlob('docker-local/docker', layer.bytes)
    const manifest = json(DOCKER_MANIFEST, { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: config.descriptor, layers: [layer.descriptor] })
    expect((await admin.putManifest('docker-local/docker', manifest.descriptor.digest, manifest)).status).toBe(201)
    const list = json(DOCKER_LIST, {
      schemaVersion: 2,
      mediaType: DOCKER_LIST,
      manifests: [{ ...manifest.descriptor, platform: { architecture: 'amd64', os: 'linux' } }],
    })
    expect((await admin.putManifest('docker-local/docker', 'v2', list)).status).toBe(201)
    const get = await admin.call('GET', '/v2/docker-local/docker/manifests/v2', { headers: { accept: `${DOCKER_MANIFEST}, ${DOCKER_LIST}` } })
    expect(get.headers.get('content-type')).toBe(DOCKER_LIST)
    const child = await admin.call('GET', '/v2/docker-local/docker/manifests/v2', { headers: { accept: DOCKER_MANIFEST } })
    expect(child.headers.get('content-type')).toBe(DOCKER_MANIFEST)
    expect(Buffer.from(await child.arrayBuffer()).equals(manifest.bytes)).toBe(true)
    // An OCI manifest is not served to a client that reads only Docker's types.
    await admin.pushImage('docker-local/docker', 'oci', buildImage('oci-only', 1))
    await expectOciError(await admin.call('GET', '/v2/docker-local/docker/manifests/oci', { headers: { accept: DOCKER_MANIFEST } }), 404, 'MANIFEST_UNKNOWN')
  })

  it('refuses invalid manifests: bad JSON, wrong media types, wrong digests and sizes, too large, reserved tags', async () => {
    const image = buildImage('invalid', 1)
    for (const blob of [image.config, ...image.layers]) await admin.pushBlob('docker-local/invalid', blob.bytes)
    const put = (reference: string, body: string | Buffer, contentType = OCI_MANIFEST) =>
      admin.call('PUT', `/v2/docker-local/invalid/manifests/${reference}`, { headers: { 'content-type': contentType }, body })

    await expectOciError(await put('v1', '{not json'), 400, 'MANIFEST_INVALID', /JSON/)
    await expectOciError(await put('v1', image.manifest.bytes, DOCKER_MANIFEST), 400, 'MANIFEST_INVALID', /differs from its Content-Type/)
    await expectOciError(await put('v1', JSON.stringify({ schemaVersion: 2, mediaType: 'text/plain' }), 'text/plain'), 400, 'MANIFEST_INVALID', /media type/)
    await expectOciError(await put('v1', JSON.stringify({ schemaVersion: 1, name: 'x', fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+prettyjws'), 400, 'MANIFEST_INVALID', /schema 1/)
    await expectOciError(await put(`sha256:${'0'.repeat(64)}`, image.manifest.bytes), 400, 'DIGEST_INVALID')
    const wrongSize = JSON.parse(image.manifest.bytes.toString()) as { layers: { size: number }[] }
    wrongSize.layers[0]!.size += 1
    await expectOciError(await put('v1', JSON.stringify(wrongSize)), 400, 'MANIFEST_INVALID', /sizes/)
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20)
    await expectOciError(await put('v1', huge), 413, 'MANIFEST_INVALID', /larger than/)
    await expectOciError(await put('_uploads', image.manifest.bytes), 400, 'MANIFEST_INVALID', /reserved/)
    await expectOciError(await put('bad..tag!', image.manifest.bytes), 400, 'MANIFEST_INVALID')
    // Nothing was stored by any of them.
    await expectOciError(await admin.call('GET', '/v2/docker-local/invalid/tags/list'), 404, 'NAME_UNKNOWN')
  })

  it('accepts a manifest of almost 4 MiB', async () => {
    const image = buildImage('big-manifest', 1)
    for (const blob of [image.config, ...image.layers]) await admin.pushBlob('docker-local/big', blob.bytes)
    const body = JSON.parse(image.manifest.bytes.toString()) as Record<string, unknown>
    body.annotations = { filler: 'x'.repeat(4 * 1024 * 1024 - image.manifest.bytes.length - 100) }
    const manifest = json(OCI_MANIFEST, body)
    expect(manifest.bytes.length).toBeLessThanOrEqual(4 * 1024 * 1024)
    const res = await admin.putManifest('docker-local/big', 'v1', manifest)
    expect(res.status, await res.clone().text()).toBe(201)
    const get = await admin.call('GET', '/v2/docker-local/big/manifests/v1')
    expect(Buffer.from(await get.arrayBuffer()).equals(manifest.bytes)).toBe(true)
  })

  it('lists tags in order with n/last pagination and Link headers', async () => {
    const image = buildImage('tags', 1)
    const tags = ['b', 'a', 'C', '1.0', '1.1', 'latest', 'z_last']
    await admin.pushImage('docker-local/tagged', tags[0]!, image)
    for (const tag of tags.slice(1)) expect((await admin.putManifest('docker-local/tagged', tag, image.manifest)).status).toBe(201)
    const sorted = [...tags].sort()
    expect(await (await admin.call('GET', '/v2/docker-local/tagged/tags/list')).json()).toEqual({ name: 'docker-local/tagged', tags: sorted })

    let res = await admin.call('GET', '/v2/docker-local/tagged/tags/list?n=3')
    expect(((await res.json()) as { tags: string[] }).tags).toEqual(sorted.slice(0, 3))
    expect(res.headers.get('link')).toBe(`</v2/docker-local/tagged/tags/list?n=3&last=${sorted[2]}>; rel="next"`)
    res = await admin.call('GET', `/v2/docker-local/tagged/tags/list?n=3&last=${sorted[2]}`)
    expect(((await res.json()) as { tags: string[] }).tags).toEqual(sorted.slice(3, 6))
    res = await admin.call('GET', `/v2/docker-local/tagged/tags/list?n=3&last=${sorted[5]}`)
    expect(((await res.json()) as { tags: string[] }).tags).toEqual(sorted.slice(6))
    expect(res.headers.get('link')).toBeNull()
    res = await admin.call('GET', `/v2/docker-local/tagged/tags/list?last=${sorted[4]}`)
    expect(((await res.json()) as { tags: string[] }).tags).toEqual(sorted.slice(5))
    res = await admin.call('GET', '/v2/docker-local/tagged/tags/list?n=0')
    expect(((await res.json()) as { tags: string[] }).tags).toEqual([])
    expect(res.headers.get('link')).toBeNull()
    await expectOciError(await admin.call('GET', '/v2/docker-local/tagged/tags/list?n=-1'), 400, 'UNSUPPORTED')
    await expectOciError(await admin.call('GET', '/v2/docker-local/untagged-nothing/tags/list'), 404, 'NAME_UNKNOWN')
    await expectOciError(await admin.call('GET', '/v2/no-such-repo/app/tags/list'), 404, 'NAME_UNKNOWN')
    // The same under Artifactory's API path, where names are relative to the repository.
    res = await admin.call('GET', '/artifactory/api/docker/docker-local/v2/tagged/tags/list?n=2')
    expect(await res.json()).toEqual({ name: 'tagged', tags: sorted.slice(0, 2) })
    expect(res.headers.get('link')).toBe(`</artifactory/api/docker/docker-local/v2/tagged/tags/list?n=2&last=${sorted[1]}>; rel="next"`)
  })

  it('lists the catalog of what the caller may read, with pagination', async () => {
    await admin.pushImage('private-local/secret', 'v1', buildImage('secret', 1))
    const all = ((await (await admin.call('GET', '/v2/_catalog')).json()) as { repositories: string[] }).repositories
    expect(all).toContain('private-local/secret')
    expect(all).toContain('docker-local/app')
    expect(all).toEqual([...all].sort())
    const reader = await admin.createUser(`reader-${backend}`, { 'docker-local': ['read'] })
    const visible = ((await (await admin.as(reader).call('GET', '/v2/_catalog')).json()) as { repositories: string[] }).repositories
    expect(visible.every((name) => name.startsWith('docker-local/'))).toBe(true)
    const page = await admin.call('GET', '/v2/_catalog?n=1')
    expect(((await page.json()) as { repositories: string[] }).repositories).toEqual(all.slice(0, 1))
    expect(page.headers.get('link')).toBe(`</v2/_catalog?n=1&last=${encodeURIComponent(all[0]!)}>; rel="next"`)
    const scoped = await admin.call('GET', '/artifactory/api/docker/private-local/v2/_catalog')
    expect(await scoped.json()).toEqual({ repositories: ['secret'] })
  })

  it('stores Helm-style OCI artifacts and lists their referrers by subject and artifactType', async () => {
    // A Helm chart: config and content layer of Helm's own media types.
    const chartConfig = blobOf(HELM_CONFIG, Buffer.from('{"name":"mychart","version":"0.1.0","apiVersion":"v2"}'))
    const chartContent = blobOf(HELM_CHART, randomBytes(3000))
    await admin.pushBlob('docker-local/charts/mychart', chartConfig.bytes)
    await admin.pushBlob('docker-local/charts/mychart', chartContent.bytes)
    const chart = json(OCI_MANIFEST, { schemaVersion: 2, mediaType: OCI_MANIFEST, config: chartConfig.descriptor, layers: [chartContent.descriptor] })
    expect((await admin.putManifest('docker-local/charts/mychart', '0.1.0', chart)).status).toBe(201)

    // No referrers yet: an empty index, not a 404.
    let res = await admin.call('GET', `/v2/docker-local/charts/mychart/referrers/${chart.descriptor.digest}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(OCI_INDEX)
    expect(await res.json()).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })

    // A signature and an SBOM refer to the chart (artifactType and subject, empty config).
    const empty = blobOf('application/vnd.oci.empty.v1+json', Buffer.from('{}'))
    await admin.pushBlob('docker-local/charts/mychart', empty.bytes)
    const referrer = (artifactType: string, annotations: Record<string, string>) => {
      const payload = blobOf('application/octet-stream', randomBytes(100))
      const manifest = json(OCI_MANIFEST, {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config: empty.descriptor,
        layers: [payload.descriptor],
        subject: chart.descriptor,
        annotations,
      })
      return { payload, manifest }
    }
    const signature = referrer('application/vnd.example.signature.v1', { 'org.example.signer': 'ci' })
    const sbom = referrer('application/vnd.example.sbom.v1', { 'org.example.format': 'spdx' })
    for (const { payload, manifest } of [signature, sbom]) {
      await admin.pushBlob('docker-local/charts/mychart', payload.bytes)
      res = await admin.putManifest('docker-local/charts/mychart', manifest.descriptor.digest, manifest)
      expect(res.status, await res.clone().text()).toBe(201)
      expect(res.headers.get('oci-subject')).toBe(chart.descriptor.digest)
    }

    res = await admin.call('GET', `/v2/docker-local/charts/mychart/referrers/${chart.descriptor.digest}`)
    const listed = ((await res.json()) as { manifests: Record<string, unknown>[] }).manifests
    expect(listed).toHaveLength(2)
    expect(listed).toContainEqual({
      mediaType: OCI_MANIFEST,
      digest: signature.manifest.descriptor.digest,
      size: signature.manifest.bytes.length,
      artifactType: 'application/vnd.example.signature.v1',
      annotations: { 'org.example.signer': 'ci' },
    })
    res = await admin.call('GET', `/v2/docker-local/charts/mychart/referrers/${chart.descriptor.digest}?artifactType=application/vnd.example.sbom.v1`)
    expect(res.headers.get('oci-filters-applied')).toBe('artifactType')
    expect(((await res.json()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest)).toEqual([sbom.manifest.descriptor.digest])

    // The chart's own artifact type is its config media type; referrers of other images are not listed here.
    const other = await admin.call('GET', `/v2/docker-local/app/referrers/${chart.descriptor.digest}`)
    expect(((await other.json()) as { manifests: unknown[] }).manifests).toEqual([])
    // Deleting a referrer removes it from the list.
    expect((await admin.call('DELETE', `/v2/docker-local/charts/mychart/manifests/${sbom.manifest.descriptor.digest}`)).status).toBe(202)
    res = await admin.call('GET', `/v2/docker-local/charts/mychart/referrers/${chart.descriptor.digest}`)
    expect(((await res.json()) as { manifests: unknown[] }).manifests).toHaveLength(1)

    await expectOciError(await admin.call('GET', '/v2/docker-local/charts/mychart/referrers/sha256:nope'), 400, 'DIGEST_INVALID')
    await expectOciError(await admin.call('GET', `/v2/no-such-repo/app/referrers/${chart.descriptor.digest}`), 404, 'NAME_UNKNOWN')
  })

  it('accepts a manifest whose subject does not exist yet', async () => {
    const empty = blobOf('application/vnd.oci.empty.v1+json', Buffer.from('{}'))
    await admin.pushBlob('docker-local/early', empty.bytes)
    const subject = { mediaType: OCI_MANIFEST, digest: `sha256:${sha256('not pushed yet')}`, size: 14 }
    const manifest = json(OCI_MANIFEST, { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example', config: empty.descriptor, layers: [], subject })
    const res = await admin.putManifest('docker-local/early', manifest.descriptor.digest, manifest)
    expect(res.status, await res.clone().text()).toBe(201)
    expect(res.headers.get('oci-subject')).toBe(subject.digest)
    const referrers = await admin.call('GET', `/v2/docker-local/early/referrers/${subject.digest}`)
    expect(((await referrers.json()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest)).toEqual([manifest.descriptor.digest])
  })

  it('deletes a whole image through the REST API', async () => {
    await admin.pushImage('docker-local/doomed', 'v1', buildImage('doomed', 1))
    expect((await admin.call('DELETE', '/artifactory/docker-local/doomed')).status).toBe(204)
    await expectOciError(await admin.call('GET', '/v2/docker-local/doomed/tags/list'), 404, 'NAME_UNKNOWN')
    await expectOciError(await admin.call('GET', '/v2/docker-local/doomed/manifests/v1'), 404, 'MANIFEST_UNKNOWN')
  })

  it('needs the delete permission to move a tag, not to push a new one', async () => {
    const pusher = await admin.createUser(`pusher-${backend}`, { 'docker-local': ['read', 'deploy'] })
    const asPusher = admin.as(pusher)
    const first = buildImage('perm-1', 1)
    await asPusher.pushImage('docker-local/perm', 'v1', first)
    // Pushing the same manifest again changes nothing and is allowed.
    expect((await asPusher.putManifest('docker-local/perm', 'v1', first.manifest)).status).toBe(201)
    const second = buildImage('perm-2', 1)
    for (const blob of [second.config, ...second.layers]) await asPusher.pushBlob('docker-local/perm', blob.bytes)
    await expectOciError(await asPusher.putManifest('docker-local/perm', 'v1', second.manifest), 403, 'DENIED', /delete permission/)
    await expectOciError(await asPusher.call('DELETE', '/v2/docker-local/perm/manifests/v1'), 403, 'DENIED')
    expect((await asPusher.putManifest('docker-local/perm', 'v2', second.manifest)).status).toBe(201)
  })

  it('serves names of 255 characters (past Fastify’s default parameter length)', async () => {
    const image = `${Array(24).fill('abcdefghi').join('/')}/xy`
    const name = `docker-local/${image}`.slice(0, 255)
    expect(name.length).toBe(255)
    await admin.pushImage(name, 'v1', buildImage('long', 1))
    const res = await admin.call('GET', `/v2/${name}/tags/list`)
    expect(await res.json()).toEqual({ name, tags: ['v1'] })
  })

  it('finishes a pull that is streaming while its image is deleted and collected, and then answers 404', async () => {
    const big = blobOf('application/vnd.oci.image.layer.v1.tar+gzip', randomBytes(8 * 1024 * 1024))
    const config = blobOf('application/vnd.oci.image.config.v1+json', Buffer.from('{"os":"linux","architecture":"amd64"}'))
    await admin.pushBlob('docker-local/pulled', big.bytes)
    await admin.pushBlob('docker-local/pulled', config.bytes)
    const manifest = json(OCI_MANIFEST, { schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: [big.descriptor] })
    expect((await admin.putManifest('docker-local/pulled', 'v1', manifest)).status).toBe(201)

    const pull = await admin.call('GET', `/v2/docker-local/pulled/blobs/${big.descriptor.digest}`)
    expect(pull.status).toBe(200)
    const received = await readSlowly(pull, async () => {
      // Mid-transfer: the tag, the manifest and the blob go, and garbage collection runs with no grace.
      expect((await admin.call('DELETE', '/v2/docker-local/pulled/manifests/v1')).status).toBe(202)
      expect((await admin.call('DELETE', `/v2/docker-local/pulled/manifests/${manifest.descriptor.digest}`)).status).toBe(202)
      await admin.call('DELETE', `/v2/docker-local/pulled/blobs/${big.descriptor.digest}`)
      const collected = await server.trove.services.gc.collect(0)
      expect(collected.deleted).toBeGreaterThan(0)
    })
    expect(received.length).toBe(big.bytes.length)
    expect(sha256(received)).toBe(big.descriptor.digest.slice(7))
    await expectOciError(await admin.call('GET', `/v2/docker-local/pulled/blobs/${big.descriptor.digest}`), 404, 'BLOB_UNKNOWN')
    await expectOciError(await admin.call('GET', '/v2/docker-local/pulled/manifests/v1'), 404, 'MANIFEST_UNKNOWN')
  })
})
