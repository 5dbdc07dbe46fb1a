/**
 * Scan reports end to end: lodash 4.17.15 (built here with the real one's name and version) published to a local npm
 * repository of a Trove on 127.0.0.1; the OSV fixtures come through the scheduled sync, fetched
 * from a static server on 127.0.0.1 (a zip archive and a JSON file); then the repository and
 * project summaries, the report with CVSS scores, its CycloneDX 1.5 SBOM, and the Xray-compatible
 * artifact summary.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import yazl from 'yazl'
import { publishBody } from '../helpers/npm.js'
import { metadataBackends } from '../helpers/postgres.js'
import { OSV_FIXTURES, fixtureFiles, lodashTarball, packageJsonOf } from '../helpers/scanning.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'

const TARBALL = 'lodash/-/lodash-4.17.15.tgz'
const backends = await metadataBackends()

/** Every fixture but one as a zip archive (OSV's per-ecosystem form); the last one as a JSON file. */
async function syncedFiles(): Promise<{ zip: Buffer; json: Buffer }> {
  const files = await fixtureFiles()
  const zip = new yazl.ZipFile()
  for (const f of files.slice(0, -1)) zip.addBuffer(await readFile(join(OSV_FIXTURES, f)), f)
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer)
  return { zip: Buffer.concat(chunks), json: await readFile(join(OSV_FIXTURES, files.at(-1)!)) }
}

describe.each(backends)('scan reports on %s', (backend) => {
  let server: TestServer
  let statics: Server
  let staticUrl: string
  const requests: string[] = []

  const call = (method: string, path: string, body?: unknown, auth = '') =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: auth || server.adminAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  const restError = async (response: Response) => ((await response.json()) as { errors: { message: string }[] }).errors[0]!.message

  beforeAll(async () => {
    // A static file server with ETags, as an OSV mirror would be.
    const { zip, json } = await syncedFiles()
    const files: Record<string, Buffer> = { '/osv/all.zip': zip, '/osv/extra.json': json }
    statics = createServer((request, response) => {
      requests.push(`${request.method} ${request.url} ${request.headers['if-none-match'] ?? ''}`)
      const body = files[request.url ?? '']
      if (!body) return response.writeHead(404).end('not found')
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`
      if (request.headers['if-none-match'] === etag) return response.writeHead(304, { etag }).end()
      response.writeHead(200, { etag, 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body)
    })
    await new Promise<void>((resolve) => statics.listen(0, '127.0.0.1', resolve))
    staticUrl = `http://127.0.0.1:${(statics.address() as AddressInfo).port}`

    server = await startTestServer({ backend, settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    const tarball = await lodashTarball()
    expect((await call('PUT', '/artifactory/api/repositories/npm-local', { key: 'npm-local', rclass: 'local', packageType: 'npm' })).status).toBe(200)
    expect((await call('PUT', '/artifactory/api/npm/npm-local/lodash', publishBody({ tarball, manifest: await packageJsonOf(tarball) }))).status).toBe(201)
  }, 180_000)
  afterAll(async () => {
    await server?.close()
    await new Promise((resolve) => statics?.close(resolve))
  })

  it('1. summarizes a repository whose artifact is not scanned yet', async () => {
    const summary = await (await call('GET', '/api/v1/scan/repository/npm-local/summary')).json()
    expect(summary).toMatchObject({ repo: 'npm-local', artifacts: { total: 1, scanned: 0, pending: 1, failed: 0, vulnerable: 0 }, topVulnerabilities: [] })
    expect((await call('GET', '/api/v1/scan/repository/no-such/summary')).status).toBe(404)
    const anonymous = await fetch(`${server.url}/api/v1/scan/repository/npm-local/summary`)
    expect(anonymous.status).toBe(401)
  })

  it('2. refuses bad sync settings, changing nothing', async () => {
    for (const [body, message] of [
      [{ urls: ['ftp://127.0.0.1/all.zip'] }, /not an http or https URL/],
      [{ urls: ['http://169.254.169.254/latest'] }, /TROVE_ALLOWED_UPSTREAM_HOSTS/],
      [{ urls: 'http://127.0.0.1/all.zip' }, /urls must be a list/],
      [{ intervalSecs: 5 }, /intervalSecs must be 0/],
      [{ url: [] }, /unknown setting 'url'/],
    ] as const) {
      const response = await call('PUT', '/api/v1/vulndb/sync', body)
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(await restError(response)).toMatch(message)
    }
    expect(await (await call('GET', '/api/v1/vulndb/sync')).json()).toEqual({ urls: [], intervalSecs: 86400, status: { lastRunAt: null, lastSuccessAt: null, results: [] } })
    expect((await call('POST', '/api/v1/vulndb/sync/run')).status).toBe(400)
    expect((await fetch(`${server.url}/api/v1/vulndb/sync`)).status).toBe(401)
  })

  it('3. syncs the database from configured URLs as a job, then re-matches', async () => {
    const urls = [`${staticUrl}/osv/all.zip`, `${staticUrl}/osv/extra.json`, `${staticUrl}/osv/missing.zip`]
    const put = await call('PUT', '/api/v1/vulndb/sync', { urls, intervalSecs: 3600 })
    expect(put.status).toBe(200)
    expect((await call('POST', '/api/v1/vulndb/sync/run')).status).toBe(202)
    await server.trove.services.jobs.runDue() // the sync, the scan of the tarball, and the re-match it queued
    await server.trove.services.jobs.runDue()
    const state = (await (await call('GET', '/api/v1/vulndb/sync')).json()) as { status: { lastRunAt: string; lastSuccessAt: string | null; results: { url: string; ok: boolean; summary: { imported: number; withdrawn: number }; error?: string }[] } }
    const [zip, json, missing] = state.status.results
    expect(zip).toMatchObject({ url: urls[0], ok: true })
    expect(json).toMatchObject({ url: urls[1], ok: true })
    expect(zip!.summary.imported + json!.summary.imported).toBe(39)
    expect(zip!.summary.withdrawn + json!.summary.withdrawn).toBe(1)
    expect(missing).toMatchObject({ ok: false, error: expect.stringMatching(/answered 404/) })
    expect(state.status.lastSuccessAt).toBeNull() // one URL failed
    const query = await call('POST', '/api/v1/vulndb/query', { package: { ecosystem: 'npm', name: 'lodash' }, version: '4.17.15' })
    expect(((await query.json()) as { vulns: { id: string }[] }).vulns.map((v) => v.id).sort()).toEqual(['GHSA-35jh-r3h4-6jhm', 'GHSA-p6mc-m468-83gw'])

    // Not due again within the interval; when asked, unchanged archives are not downloaded again.
    expect(await server.trove.services.vulndbSync.runIfDue()).toEqual({ ran: false })
    requests.length = 0
    await call('PUT', '/api/v1/vulndb/sync', { urls: urls.slice(0, 2) })
    const again = await server.trove.services.vulndbSync.runIfDue(true)
    expect(again.results!.map((r) => r.notModified)).toEqual([true, true])
    expect(requests.every((r) => r.endsWith('"'))).toBe(true) // each sent If-None-Match
  })

  it('4. reports an artifact with levels and CVSS scores, as JSON and as CycloneDX 1.5', async () => {
    const report = (await (await call('GET', `/api/v1/scan/artifact/npm-local/${TARBALL}`)).json()) as {
      status: string
      vulnerabilities: { ids: string[]; level: string; levelSource: string; cvss: { score: number; vector: string } | null }[]
    }
    expect(report.status).toBe('done')
    expect(report.vulnerabilities.map((v) => [v.ids[0], v.level, v.levelSource, v.cvss?.score])).toEqual([
      ['GHSA-p6mc-m468-83gw', 'high', 'advisory', 7.4],
      ['GHSA-35jh-r3h4-6jhm', 'high', 'advisory', 7.2],
    ])

    const response = await call('GET', `/api/v1/scan/artifact/npm-local/${TARBALL}?format=cyclonedx`)
    expect(response.headers.get('content-type')).toMatch(/^application\/vnd\.cyclonedx\+json/)
    const bom = (await response.json()) as {
      bomFormat: string
      specVersion: string
      serialNumber: string
      metadata: { component: { hashes: { alg: string; content: string }[] } }
      components: { 'bom-ref': string; name: string; version?: string; purl?: string }[]
      vulnerabilities: { id: string; references: { id: string }[]; ratings: { score?: number; severity: string; method?: string; vector?: string }[]; affects: { ref: string }[] }[]
    }
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5' })
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/)
    expect(bom.metadata.component.hashes[0]!.alg).toBe('SHA-256')
    const lodash = bom.components.find((c) => c.purl === 'pkg:npm/lodash@4.17.15')!
    expect(lodash).toMatchObject({ name: 'lodash', version: '4.17.15' })
    const prototype = bom.vulnerabilities.find((v) => v.id === 'GHSA-p6mc-m468-83gw')!
    expect(prototype.references.map((r) => r.id)).toContain('CVE-2020-8203')
    expect(prototype.ratings[0]).toEqual(expect.objectContaining({ score: 7.4, severity: 'high', method: 'CVSSv31', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H' }))
    expect(prototype.affects).toEqual([expect.objectContaining({ ref: lodash['bom-ref'] })])
    expect(new Set(bom.components.map((c) => c['bom-ref'])).size).toBe(bom.components.length)

    const bad = await call('GET', `/api/v1/scan/artifact/npm-local/${TARBALL}?format=spdx`)
    expect(bad.status).toBe(400)
    expect(await restError(bad)).toMatch(/format must be json or cyclonedx/)
  })

  it('5. summarizes the repository and a project', async () => {
    const summary = await (await call('GET', '/api/v1/scan/repository/npm-local/summary')).json()
    expect(summary).toMatchObject({
      artifacts: { total: 1, scanned: 1, pending: 0, failed: 0, vulnerable: 1 },
      vulnerabilities: { critical: 0, high: 2, moderate: 0, low: 0 },
      findings: { critical: 0, high: 2, moderate: 0, low: 0 },
    })
    const top = (summary as { topVulnerabilities: { ids: string[]; level: string; cvssScore: number; artifacts: number; examples: string[] }[] }).topVulnerabilities
    expect(top.map((t) => [t.ids[0], t.cvssScore, t.artifacts])).toEqual([
      ['GHSA-p6mc-m468-83gw', 7.4, 1],
      ['GHSA-35jh-r3h4-6jhm', 7.2, 1],
    ])
    expect(top[0]!.examples).toEqual([`npm-local/${TARBALL}`])

    expect((await call('POST', '/access/api/v1/projects', { project_key: 'team', display_name: 'Team' })).status).toBeLessThan(300)
    const project = await call('GET', '/api/v1/scan/project/team/summary')
    expect(project.status).toBe(200)
    expect(await project.json()).toMatchObject({ project: 'team', repositories: [], artifacts: { total: 0 } })
    // Outsiders are not told the project exists.
    expect((await call('PUT', '/artifactory/api/security/users/outsider', { email: 'o@example.test', password: 'outsider-password-1' })).status).toBeLessThan(300)
    expect((await call('GET', '/api/v1/scan/project/team/summary', undefined, basicAuth('outsider', 'outsider-password-1'))).status).toBe(404)
  })

  it('6. answers the Xray-compatible artifact summary', async () => {
    const response = await call('POST', '/xray/api/v1/summary/artifact', {
      paths: [`npm-local/${TARBALL}`, `default/npm-local/${TARBALL}`, 'npm-local/lodash/-/missing.tgz', 'not a path'],
    })
    expect(response.status).toBe(200)
    const body = (await response.json()) as {
      artifacts: { general: Record<string, string>; issues: { issue_id: string; severity: string; cves: { cve?: string; cvss_v3?: string }[]; components: { fixed_versions: string[] }[] }[]; licenses: unknown[] }[]
      errors: { error: string; identifier: string }[]
    }
    expect(body.artifacts).toHaveLength(2)
    expect(body.artifacts[0]!.general).toMatchObject({ component_id: 'npm://lodash:4.17.15', name: 'lodash-4.17.15.tgz', path: `default/npm-local/${TARBALL}`, pkg_type: 'Npm' })
    const issue = body.artifacts[0]!.issues.find((i) => i.issue_id === 'GHSA-p6mc-m468-83gw')!
    expect(issue.severity).toBe('High')
    expect(issue.cves).toEqual([{ cve: 'CVE-2020-8203', cvss_v3: '7.4/CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H' }])
    expect(issue.components[0]!.fixed_versions).toEqual(['[4.17.20]'])
    expect(body.artifacts[0]!.licenses).toEqual([])
    expect(body.errors.map((e) => e.identifier)).toEqual(['npm-local/lodash/-/missing.tgz', 'not a path'])
    expect(body.errors[0]!.error).toMatch(/not indexed/)

    // By checksum too; bad bodies and anonymous callers refused.
    const sha256 = body.artifacts[0]!.general.sha256!
    const byChecksum = (await (await call('POST', '/xray/api/v1/summary/artifact', { checksums: [sha256] })).json()) as { artifacts: unknown[] }
    expect(byChecksum.artifacts).toHaveLength(1)
    expect((await call('POST', '/xray/api/v1/summary/artifact', { paths: 'npm-local/x' })).status).toBe(400)
    expect((await call('POST', '/xray/api/v1/summary/artifact', {})).status).toBe(400)
    const anonymous = await fetch(`${server.url}/xray/api/v1/summary/artifact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paths: [`npm-local/${TARBALL}`] }) })
    expect(anonymous.status).toBe(401)
    // A user who may not read the repository learns nothing about its files.
    const outsider = (await (await call('POST', '/xray/api/v1/summary/artifact', { paths: [`npm-local/${TARBALL}`] }, basicAuth('outsider', 'outsider-password-1'))).json()) as { artifacts: unknown[]; errors: unknown[] }
    expect(outsider).toMatchObject({ artifacts: [], errors: [{ identifier: `npm-local/${TARBALL}` }] })
  })
})
