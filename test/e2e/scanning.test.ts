/**
 * Security scanning end to end: lodash 4.17.15 (built here with the real one's name and version),
 * published to a local npm repository of a Trove on 127.0.0.1, the OSV fixtures imported through the REST API; then the artifact's report,
 * a re-match after a database change, the OSV query API, and `npm audit` through Trove.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { npmPackage, publishBody } from '../helpers/npm.js'
import { metadataBackends } from '../helpers/postgres.js'
import { OSV_FIXTURES, fixtureRecords, lodashTarball, packageJsonOf } from '../helpers/scanning.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { ClientHome } from '../conformance/npm/clients.js'
import { requireClients } from '../helpers/clients.js'

const TARBALL_PATH = 'lodash/-/lodash-4.17.15.tgz'
/** The fixture advisories that affect lodash 4.17.15 (EXPECTED.md rows 2 to 4: between 4.17.12 and 4.17.19). */
const LODASH_4_17_15 = ['GHSA-35jh-r3h4-6jhm', 'GHSA-p6mc-m468-83gw']

const hasNpm = await requireClients('the scanning suite (npm audit)', ['npm'])
const backends = await metadataBackends()

describe.skipIf(!hasNpm).each(backends)('scanning on %s', (backend) => {
  let server: TestServer
  let home: ClientHome
  let tarball: Buffer

  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: server.adminAuth,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
    })
  const report = async () => {
    const response = await api('GET', `/api/v1/scan/artifact/npm-local/${TARBALL_PATH}`)
    expect(response.status).toBe(200)
    return (await response.json()) as { status: string; components: { name: string; relation: string }[]; vulnerabilities: { ids: string[]; aliases: string[]; components: { name: string; version: string; fixedVersions: string[] }[] }[] }
  }

  beforeAll(async () => {
    server = await startTestServer({ backend, settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    home = await ClientHome.create()
    tarball = await lodashTarball()
    expect((await api('PUT', '/artifactory/api/repositories/npm-local', { key: 'npm-local', rclass: 'local', packageType: 'npm' })).status).toBe(200)
  })
  afterAll(async () => {
    await server?.close()
  })

  it('1. refuses imports from non-admins and bad bodies, changing nothing', async () => {
    const anonymous = await fetch(`${server.url}/api/v1/vulndb/import`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' })
    expect(anonymous.status).toBe(401)
    const notJson = await api('POST', '/api/v1/vulndb/import', Buffer.from('{not json'), { 'content-type': 'application/json' })
    expect(notJson.status).toBe(400)
    expect(((await notJson.json()) as { errors: { message: string }[] }).errors[0]!.message).toBeTruthy()
    const notZip = await api('POST', '/api/v1/vulndb/import', Buffer.from('PK but not really'), { 'content-type': 'application/zip' })
    expect(notZip.status).toBe(400)
    expect(((await notZip.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/zip/)
    const query = await api('POST', '/api/v1/vulndb/query', { package: { ecosystem: 'npm', name: 'lodash' }, version: '4.17.15' })
    expect(await query.json()).toEqual({ vulns: [] })
  })

  it('2. imports the OSV fixtures through the API', async () => {
    const response = await api('POST', '/api/v1/vulndb/import', await fixtureRecords())
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ imported: 39, withdrawn: 1, invalid: 0 })
  })

  it('3. answers OSV queries: the body and answer of /v1/query', async () => {
    const response = await api('POST', '/api/v1/vulndb/query', { package: { ecosystem: 'npm', name: 'lodash' }, version: '4.17.15' })
    expect(response.status).toBe(200)
    const { vulns } = (await response.json()) as { vulns: { id: string; modified: string; affected: unknown[] }[] }
    expect(vulns.map((v) => v.id).sort()).toEqual(LODASH_4_17_15)
    expect(vulns[0]!.affected.length).toBeGreaterThan(0) // whole records, as OSV answers
    const bad = await api('POST', '/api/v1/vulndb/query', { package: { name: 'lodash' } })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/ecosystem/)
  })

  it('4. scans lodash 4.17.15 on publish and reports its advisories', async () => {
    const manifest = await packageJsonOf(tarball)
    const published = await api('PUT', '/artifactory/api/npm/npm-local/lodash', publishBody({ tarball, manifest }))
    expect(published.status, await published.clone().text()).toBe(201)
    expect((await report()).status).toBe('pending')
    await server.trove.services.jobs.runDue()
    const scanned = await report()
    expect(scanned.status).toBe('done')
    expect(scanned.components).toContainEqual(expect.objectContaining({ name: 'lodash', relation: 'self' }))
    expect(scanned.vulnerabilities.flatMap((v) => v.ids).sort()).toEqual(LODASH_4_17_15)
    const prototype = scanned.vulnerabilities.find((v) => v.ids.includes('GHSA-p6mc-m468-83gw'))!
    expect(prototype.aliases).toContain('CVE-2020-8203')
    expect(prototype.components).toEqual([expect.objectContaining({ name: 'lodash', version: '4.17.15', fixedVersions: ['4.17.20'] })])
  })

  it('5. re-matches stored components when the database changes, without re-extracting', async () => {
    const record = JSON.parse(await readFile(join(OSV_FIXTURES, 'GHSA-jf85-cpcp-j695.json'), 'utf8')) as { modified: string; affected: { package: { name: string }; ranges: { events: Record<string, string>[] }[] }[] }
    record.modified = '2099-01-01T00:00:00Z'
    for (const a of record.affected) if (a.package.name === 'lodash') a.ranges[0]!.events = [{ introduced: '0' }, { fixed: '4.17.16' }]
    const response = await api('POST', '/api/v1/vulndb/import', record)
    expect(await response.json()).toMatchObject({ updated: 1 })
    await server.trove.services.jobs.runDue()
    expect((await report()).vulnerabilities.flatMap((v) => v.ids)).toContain('GHSA-jf85-cpcp-j695')
  })

  it('6. scans what a remote repository caches on first pull, as a job, and reports it under the remote', async () => {
    // An upstream registry (a second Trove) with a package of other bytes than the one published
    // here, so that the remote's download is content this Trove has never scanned.
    const upstream = await startTestServer()
    try {
      const manifest = { name: 'lodash', version: '4.17.15', description: 'a stand-in with the same name and version' }
      const { tarball: standIn, body } = await npmPackage(manifest)
      const upstreamCall = (method: string, path: string, json?: unknown) =>
        fetch(`${upstream.url}${path}`, {
          method,
          headers: { authorization: upstream.adminAuth, 'content-type': 'application/json' },
          body: json === undefined ? undefined : JSON.stringify(json),
        })
      expect((await upstreamCall('PUT', '/artifactory/api/repositories/npm-up', { rclass: 'local', packageType: 'npm', anonymousRead: true })).status).toBe(200)
      expect((await upstreamCall('PUT', '/artifactory/api/npm/npm-up/lodash', body)).status).toBe(201)
      const created = await api('PUT', '/artifactory/api/repositories/npm-remote', {
        rclass: 'remote',
        packageType: 'npm',
        url: `${upstream.url}/artifactory/api/npm/npm-up/`,
      })
      expect(created.status, await created.clone().text()).toBe(200)
      const pulled = await api('GET', `/artifactory/api/npm/npm-remote/${TARBALL_PATH}`)
      expect(pulled.status).toBe(200)
      expect(Buffer.from(await pulled.arrayBuffer()).equals(standIn)).toBe(true)
      const remoteReport = async () => (await (await api('GET', `/api/v1/scan/artifact/npm-remote/${TARBALL_PATH}`)).json()) as { status: string; sha256: string; vulnerabilities: { ids: string[] }[] }
      const queued = await remoteReport()
      expect(queued.sha256).toBe(createHash('sha256').update(standIn).digest('hex'))
      expect(queued.status).toBe('pending')
      await server.trove.services.jobs.runDue()
      const scanned = await remoteReport()
      expect(scanned.status).toBe('done')
      expect(scanned.vulnerabilities.flatMap((v) => v.ids)).toEqual(expect.arrayContaining(LODASH_4_17_15))
    } finally {
      await upstream.close()
    }
  })

  it('7. npm audit through Trove lists the advisories', async () => {
    const registry = `${server.url}/artifactory/api/npm/npm-local/`
    const auth = Buffer.from(`admin:${'admin-password-for-tests'}`).toString('base64')
    await home.writeNpmrc([`registry=${registry}`, `${registry.replace(/^http:/, '')}:_auth=${auth}`])
    const project = await home.folder('app', { 'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { lodash: '4.17.15' } }) })
    const install = await home.run('npm', ['install', '--no-audit'], { cwd: project })
    expect(install.code, install.output).toBe(0)
    const audit = await home.run('npm', ['audit', '--json'], { cwd: project })
    // npm audit exits 1 when it finds vulnerabilities.
    expect(audit.code, audit.output).toBe(1)
    const result = JSON.parse(audit.stdout) as {
      vulnerabilities: Record<string, { via: { url: string; title: string; cvss: { score: number; vectorString: string | null } }[] }>
    }
    const via = result.vulnerabilities.lodash!.via
    const titles = via.map((v) => v.title)
    expect(titles.length).toBe(3) // the two fixture advisories and the re-imported GHSA-jf85
    expect(titles.join('\n')).toMatch(/Prototype Pollution/i)
    // Scores are computed from the records' CVSS v3 vectors (GHSA-p6mc-m468-83gw: 7.4).
    expect(via.map((v) => v.cvss.score)).toContain(7.4)
    for (const v of via) if (v.cvss.vectorString?.startsWith('CVSS:3')) expect(v.cvss.score).toBeGreaterThan(0)
  })
})
