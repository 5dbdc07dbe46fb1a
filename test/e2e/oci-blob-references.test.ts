/**
 * Issue #13, item 2: a manifest may name only blobs its repository holds, and the scanner reads only
 * those. The story: project `victim` keeps a private image whose layer installs `secret-sauce`; a
 * Developer of project `mallory` pushes to their own docker repository a manifest that names that
 * layer's digest (with and without `urls`). The push is refused (`400 MANIFEST_BLOB_UNKNOWN`); with
 * the repository's `allowForeignLayers` on, a non-distributable layer with `urls` may be absent, is
 * never fetched (a listener on 127.0.0.1 counts requests) and is named in the report as not
 * scanned. A manifest that names a foreign blob all the same (written by an earlier version, or
 * cached by a remote repository from an upstream) is scanned with the repository's own blobs
 * only, and whether a report is `done` or `pending` never tells whether the same bytes were
 * scanned in another repository.
 */
import type http from 'node:http'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, blobOf, type Blob } from '../helpers/oci-images.js'
import { expectOciError } from '../helpers/oci.js'
import { metadataBackends } from '../helpers/postgres.js'
import { tarOfFiles } from '../helpers/scan-archives.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createUser, eventually, type ApiCall } from './admin-http.js'
import { sendBody, startUpstream, type FakeUpstream } from './remote-support.js'

const backends = await metadataBackends()

const NONDISTRIBUTABLE = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'
const DOCKER_FOREIGN = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'

interface Report {
  status: string
  reason: string | null
  scannedAt: string | null
  components: { name: string; version: string; location: string }[]
  skipped?: { location: string; reason: string }[]
}

/** A gzipped layer installing one npm package (what the scanner reports, with the layer's path). */
function packageLayer(name: string, version: string): Blob {
  return blobOf(OCI_LAYER_GZIP, gzipSync(tarOfFiles({ [`usr/lib/node_modules/${name}/package.json`]: JSON.stringify({ name, version }) })))
}

function configOf(seed: string): Blob {
  return blobOf(OCI_CONFIG, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Env: [`SEED=${seed}`] }, rootfs: { type: 'layers', diff_ids: [] } })))
}

function manifestOf(config: Blob, layers: readonly object[]): Blob {
  return blobOf(OCI_MANIFEST, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers })))
}

describe.each(backends)('manifests name only blobs their repository holds (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall
  let developer: string
  let secret: Blob
  /** Where the foreign layers' `urls` point: nothing may ever ask it. */
  let foreign: FakeUpstream
  let foreignUrl: string

  const registry = (method: string, path: string, who: string, body?: Buffer | string, contentType?: string) =>
    fetch(`${server.url}${path}`, { method, headers: { authorization: who, ...(contentType ? { 'content-type': contentType } : {}) }, body })
  const pushBlob = async (repoImage: string, who: string, blob: Blob) => {
    const res = await registry('POST', `/v2/${repoImage}/blobs/uploads/?digest=${blob.descriptor.digest}`, who, blob.bytes, 'application/octet-stream')
    expect(res.status, await res.clone().text()).toBe(201)
  }
  const putManifest = (repoImage: string, tag: string, who: string, manifest: Blob) => registry('PUT', `/v2/${repoImage}/manifests/${tag}`, who, manifest.bytes, OCI_MANIFEST)
  /** Pushes an image's config and layers, then its manifest under `tag`. */
  const pushImage = async (repoImage: string, tag: string, who: string, config: Blob, layers: readonly Blob[]): Promise<Blob> => {
    for (const blob of [config, ...layers]) await pushBlob(repoImage, who, blob)
    const manifest = manifestOf(config, layers.map((l) => l.descriptor))
    const res = await putManifest(repoImage, tag, who, manifest)
    expect(res.status, await res.clone().text()).toBe(201)
    return manifest
  }
  const report = async (path: string, who = server.adminAuth): Promise<Report> => {
    const res = await call('GET', `/api/v1/scan/artifact/${path}`, { auth: who })
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as Report
  }
  /** Runs the job queue (stopped in `beforeAll`, so that nothing runs unless the test says so) once and reads the report. */
  const scanOnce = async (path: string, who = server.adminAuth): Promise<Report> => {
    await server.trove.services.jobs.runDue()
    return report(path, who)
  }
  /** The report once its scan ran (a stored file's scan is queued just after its commit, so it may take a moment). */
  const scanned = async (path: string, who = server.adminAuth): Promise<Report> => {
    let last: Report | undefined
    expect(await eventually(async () => (last = await scanOnce(path, who)).status !== 'pending', 5_000, 50), `${path} was not scanned`).toBe(true)
    return last!
  }

  beforeAll(async () => {
    foreign = await startUpstream((_request, response) => sendBody(response, 'no', {}, 404))
    foreignUrl = `${foreign.url}/layers/secret.tar.gz`

    server = await startTestServer({ backend, settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    await server.trove.services.jobs.stop()
    call = apiClient(server)
    for (const project of ['victim', 'mallory']) {
      expect((await call('POST', '/access/api/v1/projects', { json: { project_key: project, storage_quota_bytes: -1 } })).status).toBe(201)
      for (const [key, packageType] of [[`${project}-docker`, 'docker'], [`${project}-generic`, 'generic']]) {
        const res = await call('PUT', `/artifactory/api/repositories/${key}`, { json: { rclass: 'local', packageType } })
        expect(res.status, await res.clone().text()).toBe(200)
      }
    }
    developer = await createUser(call, 'dev')
    expect((await call('PUT', '/access/api/v1/projects/mallory/users/dev', { json: { roles: ['Developer'] } })).status).toBe(200)

    // The victim's private image, scanned: its layer installs secret-sauce.
    secret = packageLayer('secret-sauce', '1.0.0')
    await pushImage('victim-docker/secret', '1.0', server.adminAuth, configOf('victim'), [secret])
    const own = await scanned('victim-docker/secret:1.0')
    expect(own.status, own.reason ?? '').toBe('done')
    expect(own.components.map((c) => c.name)).toEqual(['secret-sauce'])

    // The developer may not read the victim's repository.
    expect((await registry('GET', `/v2/victim-docker/secret/blobs/${secret.descriptor.digest}`, developer)).status).toBe(403)
  })
  afterAll(async () => {
    await server?.close()
    await foreign?.close()
  })

  it("refuses a manifest naming another repository's blob, with or without urls, whatever its media type", async () => {
    const config = configOf('mallory-refused')
    await pushBlob('mallory-docker/app', developer, config)
    const variants = [
      { mediaType: OCI_LAYER_GZIP },
      { mediaType: OCI_LAYER_GZIP, urls: [foreignUrl] },
      { mediaType: NONDISTRIBUTABLE, urls: [foreignUrl] },
      { mediaType: DOCKER_FOREIGN, urls: [foreignUrl] },
    ]
    for (const [i, variant] of variants.entries()) {
      const layer = { ...secret.descriptor, ...variant }
      const errors = await expectOciError(await putManifest('mallory-docker/app', `v${i}`, developer, manifestOf(config, [layer])), 400, 'MANIFEST_BLOB_UNKNOWN')
      expect(errors[0]!.detail).toMatchObject({ digest: secret.descriptor.digest })
      // Nothing stored: no tag, no report, and the blob is not the repository's.
      await expectOciError(await registry('GET', `/v2/mallory-docker/app/manifests/v${i}`, developer), 404, 'MANIFEST_UNKNOWN')
      expect((await call('GET', `/api/v1/scan/artifact/mallory-docker/app:v${i}`, { auth: developer })).status).toBe(404)
    }
    await expectOciError(await registry('GET', `/v2/mallory-docker/app/blobs/${secret.descriptor.digest}`, developer), 404, 'BLOB_UNKNOWN')

    // Nor can the developer mount it from the victim's image (no read there): an ordinary upload starts instead.
    const mount = await registry('POST', `/v2/mallory-docker/app/blobs/uploads/?mount=${secret.descriptor.digest}&from=victim-docker/secret`, developer)
    expect(mount.status, await mount.clone().text()).toBe(202)
    await expectOciError(await putManifest('mallory-docker/app', 'mounted', developer, manifestOf(config, [secret.descriptor])), 400, 'MANIFEST_BLOB_UNKNOWN')
    expect(foreign.requests).toEqual([])
  })

  it('with allowForeignLayers, a non-distributable layer with urls may be absent: never fetched, never scanned, named in the report', async () => {
    expect((await call('POST', '/artifactory/api/repositories/mallory-docker', { json: { allowForeignLayers: true } })).status).toBe(200)
    try {
      const config = configOf('mallory-foreign')
      const mine = packageLayer('mine', '2.0.0')
      for (const blob of [config, mine]) await pushBlob('mallory-docker/foreign', developer, blob)
      const foreignLayer = { ...secret.descriptor, mediaType: NONDISTRIBUTABLE, urls: [foreignUrl] }

      // Only a non-distributable or foreign media type with urls may be absent.
      await expectOciError(await putManifest('mallory-docker/foreign', 'plain', developer, manifestOf(config, [{ ...secret.descriptor, urls: [foreignUrl] }])), 400, 'MANIFEST_BLOB_UNKNOWN')
      await expectOciError(await putManifest('mallory-docker/foreign', 'nourls', developer, manifestOf(config, [{ ...foreignLayer, urls: undefined }])), 400, 'MANIFEST_BLOB_UNKNOWN')

      const manifest = manifestOf(config, [foreignLayer, mine.descriptor])
      const res = await putManifest('mallory-docker/foreign', '1.0', developer, manifest)
      expect(res.status, await res.clone().text()).toBe(201)
      const pulled = await registry('GET', '/v2/mallory-docker/foreign/manifests/1.0', developer)
      expect(Buffer.from(await pulled.arrayBuffer()).equals(manifest.bytes)).toBe(true)
      // Trove does not serve or fetch the foreign layer: the client takes it from its urls.
      await expectOciError(await registry('GET', `/v2/mallory-docker/foreign/blobs/${secret.descriptor.digest}`, developer), 404, 'BLOB_UNKNOWN')

      const result = await scanned('mallory-docker/foreign:1.0', developer)
      expect(result.status, result.reason ?? '').toBe('done')
      expect(result.components.map((c) => c.name)).toEqual(['mine'])
      expect(result.skipped).toEqual([{ location: `layer 0 (${secret.descriptor.digest})`, reason: expect.stringMatching(/foreign|non-distributable/) }])
      expect(foreign.requests).toEqual([])
    } finally {
      expect((await call('POST', '/artifactory/api/repositories/mallory-docker', { json: { allowForeignLayers: false } })).status).toBe(200)
    }
  })

  it("scans a manifest that names a blob its repository does not hold with the repository's own blobs only", async () => {
    // As an earlier version could have stored it: the manifest laid out without the registry's checks.
    const { blobs, artifacts, repositories } = server.trove.services
    const config = configOf('mallory-legacy')
    await pushBlob('mallory-docker/legacy', developer, config)
    const manifest = manifestOf(config, [{ ...secret.descriptor, urls: [foreignUrl] }])
    const blob = await blobs.put(Readable.from([manifest.bytes]))
    const repository = await repositories.require('mallory-docker')
    await artifacts.applyChanges(repository, { put: [{ path: 'legacy/1.0/manifest.json', blob, contentType: OCI_MANIFEST }] }, 'dev')

    const result = await scanned('mallory-docker/legacy:1.0', developer)
    expect(result.components).toEqual([])
    expect(JSON.stringify(result)).not.toContain('secret-sauce')
    expect(result.status).toBe('failed')
    expect(result.reason).toMatch(new RegExp(`layer 0 \\(${secret.descriptor.digest}\\).*not in 'mallory-docker'`))
    expect(foreign.requests).toEqual([])
  })

  it("scans a remote repository's image with the layers it cached: never another repository's copy", async () => {
    // An upstream serving two images: one names the victim's layer (without its bytes), one its own.
    const config = configOf('upstream')
    const mine = packageLayer('upstream-pkg', '3.0.0')
    const evil = manifestOf(config, [secret.descriptor])
    const good = manifestOf(config, [mine.descriptor])
    const blobs = new Map([config, mine].map((b) => [b.descriptor.digest, b.bytes]))
    const upstream = await startUpstream((request: http.IncomingMessage, response: http.ServerResponse) => {
      const match = /^\/v2\/(evil|good)\/(manifests|blobs)\/([^/]+)$/.exec(request.url ?? '')
      if (match?.[2] === 'manifests') {
        const manifest = match[1] === 'evil' ? evil : good
        return sendBody(response, manifest.bytes, { 'content-type': OCI_MANIFEST, 'docker-content-digest': manifest.descriptor.digest })
      }
      const blob = match ? blobs.get(match[3]!) : undefined
      return blob ? sendBody(response, blob) : sendBody(response, 'unknown', {}, 404)
    })
    try {
      const res = await call('PUT', '/artifactory/api/repositories/mallory-remote', { json: { rclass: 'remote', packageType: 'docker', url: upstream.url } })
      expect(res.status, await res.clone().text()).toBe(200)
      const pull = async (path: string) => {
        const response = await registry('GET', `/v2/mallory-remote/${path}`, developer)
        return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) }
      }

      expect((await pull('evil/manifests/1')).status).toBe(200)
      // The layer is not the remote's: the scan waits for it (a retry), and a pull asks the upstream, which has not got it.
      expect(await eventually(async () => (await server.trove.services.jobs.runDue()) > 0, 5_000, 50)).toBe(true)
      expect((await report('mallory-remote/evil:1', developer)).status).toBe('pending')
      expect((await pull(`evil/blobs/${secret.descriptor.digest}`)).status).toBe(404)
      expect(upstream.hits(`/v2/evil/blobs/${secret.descriptor.digest}`)).toBe(1)
      const evilReport = await scanOnce('mallory-remote/evil:1', developer)
      expect(evilReport.status).toBe('pending')
      expect(evilReport.components).toEqual([])
      // Its scan ran, and waits for the remote to cache the layer (a retry, not a result).
      const job = await server.trove.services.metadata.db
        .selectFrom('jobs')
        .select(['status', 'attempts', 'result'])
        .where('dedupe_key', '=', `scan:mallory-remote:${evil.descriptor.digest.slice('sha256:'.length)}`)
        .executeTakeFirstOrThrow()
      expect(job.status).toBe('queued')
      expect(job.attempts).toBeGreaterThanOrEqual(1)
      expect(job.result).toContain(`layer 0 (${secret.descriptor.digest}) is not cached in 'mallory-remote' yet`)

      // An image whose layer the remote caches once pulled: scanned then (the job retries with a back-off).
      expect((await pull('good/manifests/1')).status).toBe(200)
      expect((await scanOnce('mallory-remote/good:1', developer)).status).toBe('pending')
      const layer = await pull(`good/blobs/${mine.descriptor.digest}`)
      expect(layer.bytes.equals(mine.bytes)).toBe(true)
      let last: Report | undefined
      expect(await eventually(async () => (last = await scanOnce('mallory-remote/good:1', developer)).status === 'done', 20_000, 250)).toBe(true)
      expect(last!.components.map((c) => c.name)).toEqual(['upstream-pkg'])
    } finally {
      await upstream.close()
    }
  })

  it('a scan job queued per blob (by an earlier version, or by the upgrade) scans it again in each repository holding it', async () => {
    const config = configOf('rescanned')
    const layer = packageLayer('rescanned', '1.0.0')
    const manifest = await pushImage('victim-docker/again', '1', server.adminAuth, config, [layer])
    await pushImage('mallory-docker/again', '1', developer, config, [layer])
    const before = [await scanned('victim-docker/again:1'), await scanned('mallory-docker/again:1', developer)]
    expect(before.map((r) => r.status)).toEqual(['done', 'done'])
    await new Promise((resolve) => setTimeout(resolve, 20)) // a later scannedAt
    const sha256 = manifest.descriptor.digest.slice('sha256:'.length)
    await server.trove.services.jobs.enqueue('scan', { sha256, format: 'oci' }, { dedupeKey: `scan:${sha256}` })
    const after = [await scanned('victim-docker/again:1'), await scanned('mallory-docker/again:1', developer)]
    for (const [i, report] of after.entries()) {
      expect(report.status).toBe('done')
      expect(Date.parse(report.scannedAt!)).toBeGreaterThan(Date.parse(before[i]!.scannedAt!))
      expect(report.components.map((c) => c.name)).toEqual(['rescanned'])
    }
  })

  it('a report is pending until its own repository scanned it, whether or not the same bytes were scanned elsewhere', async () => {
    // A public base image both projects build on: the developer holds every byte of it.
    const config = configOf('public-base')
    const layer = packageLayer('left-pad', '1.3.0')
    const manifest = await pushImage('victim-docker/base', '1', server.adminAuth, config, [layer])
    expect((await scanned('victim-docker/base:1')).status).toBe('done')
    expect(await pushImage('mallory-docker/base', '1', developer, config, [layer])).toEqual(manifest)
    expect((await report('mallory-docker/base:1', developer)).status).toBe('pending')
    const own = await scanned('mallory-docker/base:1', developer)
    expect(own.status).toBe('done')
    expect(own.components.map((c) => c.name)).toEqual(['left-pad'])

    // The same for any file: a pom in a generic repository.
    const pom = Buffer.from('<project><groupId>org.example</groupId><artifactId>shared</artifactId><version>1.0</version></project>')
    expect((await call('PUT', '/artifactory/victim-generic/shared-1.0.pom', { body: pom })).status).toBe(201)
    expect((await scanned('victim-generic/shared-1.0.pom')).status).toBe('done')
    expect((await call('PUT', '/artifactory/mallory-generic/shared-1.0.pom', { auth: developer, body: pom })).status).toBe(201)
    expect((await report('mallory-generic/shared-1.0.pom', developer)).status).toBe('pending')
    expect((await scanned('mallory-generic/shared-1.0.pom', developer)).status).toBe('done')
  })
})
