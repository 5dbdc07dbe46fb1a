/**
 * Download policies end to end: lodash 4.17.15 (built here with the real one's name and version) published to a local npm
 * repository and scanned against the OSV fixtures; a policy blocking high vulnerabilities makes the
 * real `npm install` fail with the message naming the tarball and its advisories, in every download
 * path (npm tarball URL, plain layout), with each protocol's error body; ignore rules let it
 * through until they expire; Project Admins manage their project's policies only; and with
 * `blockUnscanned` on a docker repository, the real `skopeo copy` of a pushed image fails with
 * the message.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientHome } from '../conformance/npm/clients.js'
import { requireClients } from '../helpers/clients.js'
import { publishBody } from '../helpers/npm.js'
import { blobsOfImage, buildImage, writeLayout } from '../helpers/oci-images.js'
import { metadataBackends } from '../helpers/postgres.js'
import { fixtureRecords, lodashTarball, packageJsonOf } from '../helpers/scanning.js'
import { ADMIN_PASSWORD, basicAuth, startTestServer, type TestServer } from '../helpers/server.js'

const TARBALL = 'lodash/-/lodash-4.17.15.tgz'

const hasNpm = await requireClients('the scan policy suite', ['npm'])
const hasSkopeo = await requireClients('the skopeo part of the scan policy suite', ['skopeo'])
const backends = await metadataBackends()

describe.skipIf(!hasNpm).each(backends)('download policies on %s', (backend) => {
  let server: TestServer
  let home: ClientHome
  let work: string
  const leadAuth = basicAuth('lead', 'lead-password-1234')

  const call = (method: string, path: string, body?: unknown, auth: string = server.adminAuth) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { ...(auth ? { authorization: auth } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
    })
  const restError = async (response: Response) => ((await response.json()) as { errors: { message: string }[] }).errors[0]!.message
  const install = async (name: string) => {
    const project = await home.folder(name, { 'package.json': JSON.stringify({ name, version: '1.0.0', dependencies: { lodash: '4.17.15' } }) })
    return home.run('npm', ['install', '--no-audit', '--no-fund', '--prefer-online'], { cwd: project })
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    home = await ClientHome.create()
    work = await mkdtemp(join(tmpdir(), 'trove-policies-'))
    const tarball = await lodashTarball()
    for (const [key, packageType] of [['npm-local', 'npm'], ['docker-local', 'docker'], ['files', 'generic']] as const) {
      expect((await call('PUT', `/artifactory/api/repositories/${key}`, { key, rclass: 'local', packageType })).status).toBe(200)
    }
    expect((await call('POST', '/api/v1/vulndb/import', await fixtureRecords())).status).toBe(200)
    const published = await call('PUT', '/artifactory/api/npm/npm-local/lodash', publishBody({ tarball, manifest: await packageJsonOf(tarball) }))
    expect(published.status).toBe(201)
    await server.trove.services.jobs.runDue()
    const registry = `${server.url}/artifactory/api/npm/npm-local/`
    const auth = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')
    await home.writeNpmrc([`registry=${registry}`, `${registry.replace(/^http:/, '')}:_auth=${auth}`])
  }, 180_000)
  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('1. refuses bad policies with a clear error, storing nothing', async () => {
    const anonymous = await call('PUT', '/api/v1/scan/policies/p', { repositories: ['npm-local'], minSeverity: 'high' }, '')
    expect(anonymous.status).toBe(401)
    const cases: [unknown, RegExp][] = [
      [{ repositories: ['npm-local'], minSeverity: 'severe' }, /minSeverity must be one of/],
      [{ repositories: ['npm-local'] }, /blocks nothing/],
      [{ minSeverity: 'high' }, /must name repositories/],
      [{ repositories: ['no-such-repo'], minSeverity: 'high' }, /'no-such-repo' does not exist/],
      [{ repositories: ['npm-local'], minSeverity: 'high', ignoreRules: [{ vulnerability: 'CVE-2020-8203' }] }, /reason is required/],
      [{ repositories: ['npm-local'], minSeverity: 'high', ignoreRules: [{ reason: 'x' }] }, /must name a vulnerability/],
      [{ repositories: ['npm-local'], minSeverity: 'high', ignoreRules: [{ package: 'lodash', reason: 'x', expiresAt: 'soon' }] }, /ISO 8601/],
      [{ repositories: ['npm-local'], minSeverity: 'high', color: 'red' }, /unknown field 'color'/],
    ]
    for (const [body, message] of cases) {
      const response = await call('PUT', '/api/v1/scan/policies/p', body)
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(await restError(response)).toMatch(message)
    }
    expect((await call('PUT', '/api/v1/scan/policies/Bad Name', { repositories: ['npm-local'], minSeverity: 'high' })).status).toBe(400)
    expect(await (await call('GET', '/api/v1/scan/policies')).json()).toEqual([])
    // Without a policy, the vulnerable tarball installs.
    const ok = await install('app-before')
    expect(ok.code, ok.output).toBe(0)
  })

  it('2. a policy blocking high vulnerabilities stops npm install with the message', async () => {
    const created = await call('PUT', '/api/v1/scan/policies/no-high', { repositories: ['npm-local'], minSeverity: 'high', description: 'no high or critical' })
    expect(created.status).toBe(201)
    expect(await created.json()).toMatchObject({ name: 'no-high', minSeverity: 'high', blockUnscanned: false, enabled: true, ignoreRules: [] })
    expect((await call('POST', '/api/v1/scan/policies', { name: 'no-high', repositories: ['npm-local'], minSeverity: 'high' })).status).toBe(409)

    const failed = await install('app-blocked')
    expect(failed.code).not.toBe(0)
    // npm prints `403 Forbidden - GET <url> - <error>`.
    expect(failed.output).toMatch(/403 Forbidden/)
    expect(failed.output).toContain("lodash-4.17.15.tgz is blocked by policy 'no-high': GHSA-p6mc-m468-83gw (high, CVSS 7.4), GHSA-35jh-r3h4-6jhm (high, CVSS 7.2)")

    // The npm protocol's error body, and the plain layout's REST body, for the same file.
    const viaNpm = await call('GET', `/artifactory/api/npm/npm-local/${TARBALL}`)
    expect(viaNpm.status).toBe(403)
    expect(((await viaNpm.json()) as { error: string }).error).toMatch(/^lodash-4\.17\.15\.tgz is blocked by policy 'no-high': GHSA-p6mc-m468-83gw/)
    const plain = await call('GET', `/artifactory/npm-local/${TARBALL}`)
    expect(plain.status).toBe(403)
    expect(await restError(plain)).toMatch(/blocked by policy 'no-high'/)
    // Metadata and the scan report stay readable: the reviewer can see why.
    expect((await call('GET', '/artifactory/api/npm/npm-local/lodash')).status).toBe(200)
    expect((await call('GET', `/api/v1/scan/artifact/npm-local/${TARBALL}`)).status).toBe(200)
  })

  it('3. ignore rules let it through, by alias and by package, until they expire', async () => {
    const base = { repositories: ['npm-local'], minSeverity: 'high' }
    // Ignoring one advisory by its CVE alias: the other one still blocks.
    await call('PUT', '/api/v1/scan/policies/no-high', { ...base, ignoreRules: [{ vulnerability: 'CVE-2020-8203', reason: 'not reachable in our code' }] })
    const one = await call('GET', `/artifactory/api/npm/npm-local/${TARBALL}`)
    expect(one.status).toBe(403)
    const message = ((await one.json()) as { error: string }).error
    expect(message).toContain('GHSA-35jh-r3h4-6jhm')
    expect(message).not.toContain('GHSA-p6mc-m468-83gw')

    // The whole package, for a while (long enough for a slow machine's npm install).
    const expiresAt = new Date(Date.now() + 120_000).toISOString()
    const aliasRule = { vulnerability: 'CVE-2020-8203', reason: 'not reachable in our code' }
    const updated = await call('PUT', '/api/v1/scan/policies/no-high', { ...base, ignoreRules: [aliasRule, { package: 'lodash', version: '4.17.15', reason: 'upgrade planned', expiresAt }] })
    expect(updated.status).toBe(200)
    const rules = ((await updated.json()) as { ignoreRules: { createdBy: string; expiresAt: string | null }[] }).ignoreRules
    expect(rules.map((r) => [r.createdBy, r.expiresAt])).toEqual([
      ['admin', null],
      ['admin', expiresAt],
    ])
    const ok = await install('app-ignored')
    expect(ok.code, ok.output).toBe(0)

    // The same rule once its time has passed (a rule may be saved expired; it just no longer applies): blocked again.
    const expired = new Date(Date.now() - 1000).toISOString()
    await call('PUT', '/api/v1/scan/policies/no-high', { ...base, ignoreRules: [aliasRule, { package: 'lodash', version: '4.17.15', reason: 'upgrade planned', expiresAt: expired }] })
    const again = await call('GET', `/artifactory/api/npm/npm-local/${TARBALL}`)
    expect(again.status).toBe(403)
    expect(((await again.json()) as { error: string }).error).toContain('GHSA-35jh-r3h4-6jhm (high')
    // Another version of the package is not covered by a version-scoped rule.
    await call('PUT', '/api/v1/scan/policies/no-high', { ...base, ignoreRules: [aliasRule, { package: 'lodash', version: '4.17.21', reason: 'other version' }] })
    expect((await call('GET', `/artifactory/api/npm/npm-local/${TARBALL}`)).status).toBe(403)

    // Disabled, and then deleted: downloads pass.
    await call('PUT', '/api/v1/scan/policies/no-high', { ...base, enabled: false })
    expect((await call('GET', `/artifactory/api/npm/npm-local/${TARBALL}`)).status).toBe(200)
    expect((await call('DELETE', '/api/v1/scan/policies/no-high')).status).toBe(204)
    expect((await call('DELETE', '/api/v1/scan/policies/no-high')).status).toBe(404)
  }, 60_000)

  it('4. Project Admins manage the policies of their project only, which cover its repositories', async () => {
    expect((await call('PUT', '/artifactory/api/security/users/lead', { email: 'lead@example.test', password: 'lead-password-1234' })).status).toBeLessThan(300)
    expect((await call('POST', '/access/api/v1/projects', { project_key: 'team', display_name: 'Team' })).status).toBeLessThan(300)
    expect((await call('PUT', '/access/api/v1/projects/team/users/lead', { roles: ['Project Admin'] })).status).toBe(200)
    const repo = await call('PUT', '/artifactory/api/repositories/team-npm', { key: 'team-npm', rclass: 'local', packageType: 'npm', projectKey: 'team' })
    expect(repo.status).toBe(200)
    const tarball = await (await call('GET', `/artifactory/api/npm/npm-local/${TARBALL}`)).arrayBuffer()
    const published = await call('PUT', '/artifactory/api/npm/team-npm/lodash', publishBody({ tarball: Buffer.from(tarball), manifest: await packageJsonOf(Buffer.from(tarball)) }))
    expect(published.status).toBe(201)
    await server.trove.services.jobs.runDue()

    // Not the other repositories, not every repository.
    const outside = await call('PUT', '/api/v1/scan/policies/lead-wide', { repositories: ['npm-local'], minSeverity: 'low' }, leadAuth)
    expect(outside.status).toBe(403)
    expect(await restError(outside)).toMatch(/only administrators, and Project Admins/)
    expect((await call('PUT', '/api/v1/scan/policies/lead-wide', { repositories: ['*'], minSeverity: 'low' }, leadAuth)).status).toBe(403)
    const own = await call('PUT', '/api/v1/scan/policies/team-critical', { projects: ['team'], minSeverity: 'moderate' }, leadAuth)
    expect(own.status).toBe(201)
    expect(((await (await call('GET', '/api/v1/scan/policies', undefined, leadAuth)).json()) as { name: string }[]).map((p) => p.name)).toEqual(['team-critical'])

    const blocked = await call('GET', `/artifactory/api/npm/team-npm/${TARBALL}`)
    expect(blocked.status).toBe(403)
    expect(((await blocked.json()) as { error: string }).error).toMatch(/blocked by policy 'team-critical'/)
    // The project's policy does not reach outside it.
    expect((await call('GET', `/artifactory/api/npm/npm-local/${TARBALL}`)).status).toBe(200)
    expect((await call('DELETE', '/api/v1/scan/policies/team-critical', undefined, leadAuth)).status).toBe(204)
  })

  it.skipIf(!hasSkopeo)('5. blockUnscanned on a docker repository makes skopeo copy fail with the message', async () => {
    const host = new URL(server.url).host
    const creds = `admin:${ADMIN_PASSWORD}`
    const skopeo = (...args: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile('skopeo', args, { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } }, (err, _stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        )
      })
    const image = buildImage('policy-image', 2)
    const source = join(work, 'image')
    await writeLayout(source, 'v1', image.manifest, blobsOfImage(image))
    const pushed = await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${source}:v1`, `docker://${host}/docker-local/team/app:v1`)
    expect(pushed.code, pushed.stderr).toBe(0)

    expect((await call('PUT', '/api/v1/scan/policies/scanned-images-only', { repositories: ['docker-local'], blockUnscanned: true })).status).toBe(201)
    const pulled = await skopeo('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/docker-local/team/app:v1`, `oci:${join(work, 'out')}:v1`)
    expect(pulled.code).not.toBe(0)
    expect(pulled.stderr).toContain("docker-local/team/app:v1 is blocked by policy 'scanned-images-only': it has not been scanned yet")
    // The registry's own error body.
    const token = Buffer.from(creds).toString('base64')
    const manifest = await fetch(`${server.url}/v2/docker-local/team/app/manifests/v1`, {
      headers: { authorization: `Basic ${token}`, accept: 'application/vnd.oci.image.manifest.v1+json' },
    })
    expect(manifest.status).toBe(403)
    const body = (await manifest.json()) as { errors: { code: string; message: string }[] }
    expect(body.errors[0]!.code).toBe('DENIED')
    expect(body.errors[0]!.message).toMatch(/blocked by policy 'scanned-images-only'/)

    // Files the scanner does not read are never "unscanned": a generic file passes a blockUnscanned policy.
    expect((await call('PUT', '/artifactory/files/notes.txt', Buffer.from('hello'))).status).toBe(201)
    await call('PUT', '/api/v1/scan/policies/scanned-images-only', { repositories: ['docker-local', 'files'], blockUnscanned: true })
    expect((await call('GET', '/artifactory/files/notes.txt')).status).toBe(200)

    await call('DELETE', '/api/v1/scan/policies/scanned-images-only')
    const after = await skopeo('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/docker-local/team/app:v1`, `oci:${join(work, 'out')}:v1`)
    expect(after.code, after.stderr).toBe(0)
  })
})
