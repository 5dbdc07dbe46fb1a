/**
 * Scanning images, wheels and jars end to end: an OCI image assembled by the test (layers made
 * with the `tar` package from a tiny Debian-like root and a node_modules folder, the second layer
 * whiting out a package of the first), pushed with skopeo to a Trove on 127.0.0.1, scanned as a
 * job; its report names each OS-package finding's layer. A wheel, a jar and a pom deployed to a
 * generic repository show their findings too; a policy blocking high vulnerabilities stops skopeo
 * from pulling the image. The OSV fixtures are the database.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import * as tar from 'tar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, blobOf, sha256, writeLayout, type Blob } from '../helpers/oci-images.js'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { fixtureRecords } from '../helpers/scanning.js'
import { dpkgParagraph, jarOf, wheelOf } from '../helpers/scan-archives.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'

const hasSkopeo = await requireClients('the image scanning suite', ['skopeo'])

const backends = await metadataBackends()

interface Report {
  status: string
  reason: string | null
  path: string
  components: { ecosystem: string; name: string; version: string; relation: string; location: string }[]
  vulnerabilities: { ids: string[]; aliases: string[]; components: { name: string; version: string; location: string; fixedVersions: string[] }[] }[]
}

/** A gzipped tar layer made with the `tar` package from `files` written to a folder. */
async function layerOf(work: string, name: string, files: Record<string, string>): Promise<{ blob: Blob; diffId: string }> {
  const root = join(work, name)
  for (const [path, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), body)
  }
  const archive = join(work, `${name}.tar.gz`)
  await tar.create({ gzip: true, file: archive, cwd: root, portable: true }, await readdir(root))
  const bytes = await readFile(archive)
  return { blob: blobOf(OCI_LAYER_GZIP, bytes), diffId: `sha256:${sha256(gunzipSync(bytes))}` }
}

const STATUS = [
  // Debian's advisories name source packages: nginx-full comes from nginx (DSA-3029-1: fixed 1.2.1-2.2+wheezy3).
  dpkgParagraph('nginx-full', '1.2.1-2.2+wheezy2', 'nginx'),
  dpkgParagraph('nginx-common', '1.2.1-2.2+wheezy2', 'nginx'),
  dpkgParagraph('libc6', '2.13-38+deb7u1', 'eglibc'),
  dpkgParagraph('base-files', '7.1wheezy8'),
].join('\n')

describe.skipIf(!hasSkopeo).each(backends)('scanning images, wheels and jars on %s', (backend) => {
  let server: TestServer
  let work: string
  let base: { blob: Blob; diffId: string }
  let app: { blob: Blob; diffId: string }
  let manifest: Blob

  const api = (method: string, path: string, body?: unknown, contentType = 'application/json') =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: server.adminAuth, ...(body === undefined ? {} : { 'content-type': contentType }) },
      body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
    })

  /** Runs the job queue until the report is no longer pending (the scan is queued after the commit). */
  async function scanned(path: string): Promise<Report> {
    for (let i = 0; i < 50; i++) {
      await server.trove.services.jobs.runDue()
      const response = await api('GET', `/api/v1/scan/artifact/${path}`)
      expect(response.status, await response.clone().text()).toBe(200)
      const report = (await response.json()) as Report
      if (report.status !== 'pending') return report
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`${path} was not scanned`)
  }
  const idsOf = (report: Report) => report.vulnerabilities.flatMap((v) => v.ids).sort()

  beforeAll(async () => {
    server = await startTestServer({ backend })
    work = await mkdtemp(join(tmpdir(), 'trove-scan-oci-'))
    for (const [key, packageType] of [['docker-local', 'docker'], ['generic-local', 'generic']]) {
      expect((await api('PUT', `/artifactory/api/repositories/${key}`, { key, rclass: 'local', packageType })).status).toBe(200)
    }
    const records = await fixtureRecords()
    expect((await api('POST', '/api/v1/vulndb/import', records)).status).toBe(200)

    // The fixtures' Debian advisory (DSA-3029-1) is scoped to Debian 7 (wheezy): the root says so.
    base = await layerOf(work, 'base', {
      'etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 7 (wheezy)"\nNAME="Debian GNU/Linux"\nVERSION_ID="7"\nID=debian\n',
      'etc/debian_version': '7.11\n',
      'var/lib/dpkg/status': STATUS,
      'usr/lib/node_modules/minimist/package.json': JSON.stringify({ name: 'minimist', version: '1.2.0' }),
    })
    app = await layerOf(work, 'app', {
      'usr/lib/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: '4.17.15' }),
      // Removes minimist (affected by two advisories) from the image: it must not be reported.
      'usr/lib/node_modules/.wh.minimist': '',
    })
    const config = blobOf(
      OCI_CONFIG,
      Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [base.diffId, app.diffId] }, config: {} })),
    )
    manifest = blobOf(OCI_MANIFEST, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: [base.blob.descriptor, app.blob.descriptor] })))
    await writeLayout(join(work, 'layout'), 'v1', manifest, [config, base.blob, app.blob])
  })
  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('scans an image pushed with skopeo: OS packages with their layer, whiteouts applied', async () => {
    const host = new URL(server.url).host
    const copy = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        'skopeo',
        ['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_PASSWORD}`, `oci:${join(work, 'layout')}:v1`, `docker://${host}/docker-local/scan/debian:v1`],
        { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } },
        (err, _stdout, stderr) => resolve({ code: err ? 1 : 0, stderr }),
      ),
    )
    expect(copy.code, copy.stderr).toBe(0)

    const report = await scanned('docker-local/scan/debian/v1')
    expect(report.status, report.reason ?? '').toBe('done')
    expect(report.path).toBe('scan/debian/v1/manifest.json')
    const layer0 = `layer 0 (${base.blob.descriptor.digest})`
    const layer1 = `layer 1 (${app.blob.descriptor.digest})`
    expect(report.components).toContainEqual({ ecosystem: 'Debian:7', name: 'nginx-full', version: '1.2.1-2.2+wheezy2', relation: 'installed', location: `${layer0}: var/lib/dpkg/status` })
    expect(report.components.map((c) => c.name)).not.toContain('minimist')

    // DSA-3029-1 (nginx, the source package), and lodash 4.17.15's two advisories (EXPECTED.md rows 2-4).
    expect(idsOf(report)).toEqual(['DSA-3029-1', 'GHSA-35jh-r3h4-6jhm', 'GHSA-p6mc-m468-83gw'])
    const dsa = report.vulnerabilities.find((v) => v.ids.includes('DSA-3029-1'))!
    expect(dsa.aliases).toEqual(['CVE-2014-3616'])
    expect(dsa.components).toEqual([
      { name: 'nginx', version: '1.2.1-2.2+wheezy2', relation: 'installed', location: `${layer0}: var/lib/dpkg/status (source of nginx-full, nginx-common)`, fixedVersions: ['1.2.1-2.2+wheezy3'] },
    ])
    const lodash = report.vulnerabilities.find((v) => v.ids.includes('GHSA-p6mc-m468-83gw'))!
    expect(lodash.components).toEqual([expect.objectContaining({ name: 'lodash', version: '4.17.15', location: `${layer1}: usr/lib/node_modules/lodash/package.json` })])

    // The same report by tag (`image:tag`) and by digest.
    const byTag = await scanned('docker-local/scan/debian:v1')
    expect(idsOf(byTag)).toEqual(idsOf(report))
    const byDigest = await scanned(`docker-local/scan/debian@${manifest.descriptor.digest}`)
    expect(byDigest.path).toBe('scan/debian/v1/manifest.json')
    const missing = await api('GET', '/api/v1/scan/artifact/docker-local/scan/debian:v2')
    expect(missing.status).toBe(404)
  })

  it('a policy blocking high vulnerabilities makes skopeo copy of the scanned image fail with the message', async () => {
    const host = new URL(server.url).host
    const pull = () =>
      new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(
          'skopeo',
          ['copy', '--src-tls-verify=false', '--src-creds', `admin:${ADMIN_PASSWORD}`, `docker://${host}/docker-local/scan/debian:v1`, `oci:${join(work, 'pulled')}:v1`],
          { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } },
          (err, _stdout, stderr) => resolve({ code: err ? 1 : 0, stderr }),
        ),
      )
    expect((await api('PUT', '/api/v1/scan/policies/no-high-images', { repositories: ['docker-local'], minSeverity: 'high' })).status).toBe(201)
    const blocked = await pull()
    expect(blocked.code).not.toBe(0)
    // The image's worst findings are lodash's (high), found in its second layer.
    expect(blocked.stderr).toMatch(/docker-local\/scan\/debian:v1 is blocked by policy 'no-high-images': GHSA-p6mc-m468-83gw \(high/)
    expect((await api('DELETE', '/api/v1/scan/policies/no-high-images')).status).toBe(204)
    const allowed = await pull()
    expect(allowed.code, allowed.stderr).toBe(0)
  })

  it('scans a wheel, a jar and a pom deployed to a generic repository', async () => {
    const put = async (path: string, bytes: Buffer) => expect((await api('PUT', `/artifactory/generic-local/${path}`, bytes, 'application/octet-stream')).status).toBe(201)
    await put('python/requests-2.25.1-py3-none-any.whl', wheelOf('requests', '2.25.1', ['urllib3==1.26.16', 'idna>=2.5']))
    await put('java/log4j-core-2.14.1.jar', jarOf([['org.apache.logging.log4j', 'log4j-core', '2.14.1']]))
    await put(
      'java/spring-boot-starter-web-2.5.11.pom',
      Buffer.from(
        '<project><parent><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starters</artifactId><version>2.5.11</version></parent><artifactId>spring-boot-starter-web</artifactId></project>',
      ),
    )

    const wheel = await scanned('generic-local/python/requests-2.25.1-py3-none-any.whl')
    expect(wheel.status).toBe('done')
    // requests 2.25.1 (rows 64) and its exact pin urllib3==1.26.16 (row 68); the idna range is listed, not matched.
    expect(idsOf(wheel)).toEqual(['GHSA-34jh-p97f-mpxf', 'GHSA-9wx4-h78v-vm56', 'GHSA-j8r2-6x86-q33q', 'GHSA-v845-jxx5-vc9f'])
    expect(wheel.components).toContainEqual(expect.objectContaining({ name: 'idna', version: '>=2.5', relation: 'dependency' }))

    const jar = await scanned('generic-local/java/log4j-core-2.14.1.jar')
    expect(idsOf(jar)).toEqual(['GHSA-7rjr-3q55-vv33', 'GHSA-jfh8-c2jp-5v3q', 'GHSA-p6xc-xr62-6r2g']) // row 94
    const pom = await scanned('generic-local/java/spring-boot-starter-web-2.5.11.pom')
    expect(idsOf(pom)).toEqual(['GHSA-36p3-wjmg-h94x']) // row 112, version inherited from the parent
  })
})
