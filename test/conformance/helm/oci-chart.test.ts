/**
 * Helm charts as OCI artifacts, in a docker repository: what `helm push <chart>.tgz
 * oci://host/<repo>/charts` sends (a config of media type `application/vnd.cncf.helm.config.v1+json`
 * holding the Chart.yaml as JSON, one layer `application/vnd.cncf.helm.chart.content.v1.tar+gzip`
 * holding the chart archive) pushed over the distribution API and pulled back, then copied out
 * with skopeo; the chart that comes back is a chart a Helm HTTP repository accepts. No helm binary
 * on the test machines, so the HTTP calls stand in for it.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildChart } from '../../helpers/helm.js'
import { OCI_MANIFEST, blobOf, sha256 } from '../../helpers/oci-images.js'
import { ADMIN_PASSWORD, RegistryClient, startOciServer, type OciServer } from '../../helpers/oci.js'
import { requireClients } from '../../helpers/clients.js'
import { metadataBackends } from '../../helpers/postgres.js'

const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json'
const HELM_CHART = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip'

const hasSkopeo = await requireClients('the skopeo part of the Helm OCI suite', ['skopeo'])

const backends = await metadataBackends()

describe.each(backends)('Helm charts as OCI artifacts (%s)', (backend) => {
  let server: OciServer
  let admin: RegistryClient
  let work: string

  beforeAll(async () => {
    server = await startOciServer(backend)
    admin = new RegistryClient(server, server.adminAuth)
    await admin.createRepository('oci-charts')
    work = await mkdtemp(join(tmpdir(), 'trove-helm-oci-'))
    artifact = await chartArtifact()
  })

  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  let artifact: Awaited<ReturnType<typeof chartArtifact>>
  const chartArtifact = async () => {
    const chart = await buildChart({ name: 'ocichart', version: '0.3.0', appVersion: '1.2' })
    const config = blobOf(HELM_CONFIG, Buffer.from(JSON.stringify({ apiVersion: 'v2', name: 'ocichart', version: '0.3.0', appVersion: '1.2', type: 'application' })))
    const layer = blobOf(HELM_CHART, chart)
    const manifest = blobOf(
      OCI_MANIFEST,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: config.descriptor,
          layers: [layer.descriptor],
          annotations: { 'org.opencontainers.image.title': 'ocichart', 'org.opencontainers.image.version': '0.3.0' },
        }),
      ),
    )
    return { chart, config, layer, manifest }
  }

  it('pushes a chart as helm push does and pulls it back byte for byte', async () => {
    const { chart, config, layer, manifest } = artifact
    const name = 'oci-charts/charts/ocichart'

    // 1. Push: the config and the chart layer as blobs, then the manifest under the chart's version.
    await admin.pushBlob(name, config.bytes)
    await admin.pushBlob(name, layer.bytes)
    const pushed = await admin.putManifest(name, '0.3.0', manifest)
    expect(pushed.status, await pushed.clone().text()).toBe(201)
    expect(pushed.headers.get('docker-content-digest')).toBe(manifest.descriptor.digest)

    // 2. Pull: tags, the manifest with Helm's media types, the config, and the chart itself.
    const tags = await admin.call('GET', `/v2/${name}/tags/list`)
    expect(await tags.json()).toEqual({ name, tags: ['0.3.0'] })
    const got = await admin.call('GET', `/v2/${name}/manifests/0.3.0`, { headers: { accept: OCI_MANIFEST } })
    expect(got.status).toBe(200)
    const body = Buffer.from(await got.arrayBuffer())
    expect(sha256(body)).toBe(manifest.descriptor.digest.slice(7))
    const parsed = JSON.parse(body.toString()) as { config: { mediaType: string }; layers: { mediaType: string; digest: string }[] }
    expect(parsed.config.mediaType).toBe(HELM_CONFIG)
    expect(parsed.layers.map((l) => l.mediaType)).toEqual([HELM_CHART])
    const configBack = await admin.call('GET', `/v2/${name}/blobs/${config.descriptor.digest}`)
    expect(JSON.parse(await configBack.text())).toMatchObject({ name: 'ocichart', version: '0.3.0' })
    const chartBack = Buffer.from(await (await admin.call('GET', `/v2/${name}/blobs/${parsed.layers[0]!.digest}`)).arrayBuffer())
    expect(sha256(chartBack)).toBe(sha256(chart))

    // 3. The chart that came back is a real chart: a Helm HTTP repository accepts and indexes it.
    const created = await admin.call('PUT', '/artifactory/api/repositories/helm-from-oci', {
      headers: { 'content-type': 'application/json', authorization: server.adminAuth },
      body: JSON.stringify({ rclass: 'local', packageType: 'helm' }),
    })
    expect(created.status).toBe(200)
    const deployed = await admin.call('PUT', '/artifactory/api/helm/helm-from-oci/ocichart-0.3.0.tgz', { body: chartBack })
    expect(deployed.status, await deployed.clone().text()).toBe(201)
    const index = await (await admin.call('GET', '/artifactory/api/helm/helm-from-oci/index.yaml')).text()
    expect(index).toContain(`digest: ${sha256(chart)}`)
  })

  it.skipIf(!hasSkopeo)('copies the chart artifact out with skopeo', async () => {
    const { chart, manifest } = artifact
    const host = new URL(server.url).host
    const out = join(work, 'chart-out')
    const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        'skopeo',
        ['copy', '--src-tls-verify=false', '--src-creds', `admin:${ADMIN_PASSWORD}`, `docker://${host}/oci-charts/charts/ocichart:0.3.0`, `oci:${out}:0.3.0`],
        { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } },
        (err, _stdout, stderr) => resolve({ code: err ? 1 : 0, stderr }),
      )
    })
    expect(run.code, run.stderr).toBe(0)
    // The layout holds the very manifest and chart pushed.
    expect(sha256(await readFile(join(out, 'blobs', 'sha256', manifest.descriptor.digest.slice(7))))).toBe(manifest.descriptor.digest.slice(7))
    expect(sha256(await readFile(join(out, 'blobs', 'sha256', sha256(chart))))).toBe(sha256(chart))
  })
})
