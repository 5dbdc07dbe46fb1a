/**
 * The security-reviewer role (issue #20): a global reviewer (granted to a group) and a
 * project-only reviewer (granted by the Project Admin) read another project's scan report, SBOM,
 * summaries and policies, and query the vulnerability database, but get 403 downloading or
 * listing its artifacts; the project-only reviewer reads nothing of other projects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { publishBody } from '../helpers/npm.js'
import { fixtureRecords, lodashTarball, packageJsonOf } from '../helpers/scanning.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createUser, expectRestError, type ApiCall } from './admin-http.js'

const TARBALL = 'lodash/-/lodash-4.17.15.tgz'

describe('security reviewers', () => {
  let server: TestServer
  let call: ApiCall
  const auth: Record<string, string> = {}

  beforeAll(async () => {
    server = await startTestServer()
    call = apiClient(server)
    for (const name of ['lead', 'expert', 'helper', 'nobody']) auth[name] = await createUser(call, name)
    expect((await call('POST', '/api/v1/vulndb/import', { json: await fixtureRecords() })).status).toBe(200)
    for (const key of ['shop', 'bank']) {
      expect((await call('POST', '/access/api/v1/projects', { json: { project_key: key } })).status).toBe(201)
      expect((await call('PUT', `/artifactory/api/repositories/${key}-npm`, { json: { rclass: 'local', packageType: 'npm' } })).status).toBe(200)
    }
    expect((await call('PUT', '/access/api/v1/projects/shop/users/lead', { json: { roles: ['Project Admin'] } })).status).toBe(200)
    const tarball = await lodashTarball()
    for (const key of ['shop', 'bank']) {
      expect((await call('PUT', `/artifactory/api/npm/${key}-npm/lodash`, { json: publishBody({ tarball, manifest: await packageJsonOf(tarball) }) })).status).toBe(201)
    }
    await server.trove.services.jobs.runDue() // the scans
    expect((await call('PUT', '/api/v1/scan/policies/shop-block', { json: { repositories: ['shop-npm'], minSeverity: 'critical' } })).status).toBeLessThan(300)
    // The expert reviews everything through a group (an SSO group claim works the same way).
    expect((await call('PUT', '/artifactory/api/security/groups/security', { json: { userNames: ['expert'] } })).status).toBe(201)
  }, 180_000)

  afterAll(async () => {
    await server?.close()
  })

  const findings = async (repo: string, who: string) => call('GET', `/api/v1/scan/artifact/${repo}/${TARBALL}`, { auth: who })

  it('reads nothing before the grant', async () => {
    await expectRestError(await findings('shop-npm', auth.expert!), 403, /may not read/)
    await expectRestError(await call('PUT', '/api/v1/security/reviewers/groups/security', { auth: auth.lead }), 403, /not an administrator/)
  })

  it("lets a global reviewer read any project's findings, SBOM, summaries and policies, but not download or list artifacts", async () => {
    expect((await call('PUT', '/api/v1/security/reviewers/groups/security')).status).toBe(200)
    const report = await findings('bank-npm', auth.expert!)
    expect(report.status, await report.clone().text()).toBe(200)
    const body = (await report.json()) as { status: string; vulnerabilities: { ids: string[] }[] }
    expect(body.status).toBe('done')
    expect(body.vulnerabilities.flatMap((v) => v.ids)).toContain('GHSA-35jh-r3h4-6jhm')
    expect((await call('GET', `/api/v1/scan/artifact/bank-npm/${TARBALL}?format=cyclonedx`, { auth: auth.expert })).status).toBe(200)
    expect((await call('GET', '/api/v1/scan/repository/bank-npm/summary', { auth: auth.expert })).status).toBe(200)
    expect((await call('GET', '/api/v1/scan/project/bank/summary', { auth: auth.expert })).status).toBe(200)
    const policies = (await (await call('GET', '/api/v1/scan/policies', { auth: auth.expert })).json()) as { name: string }[]
    expect(policies.map((p) => p.name)).toEqual(['shop-block'])
    expect((await call('POST', '/api/v1/vulndb/query', { auth: auth.expert, json: { package: { ecosystem: 'npm', name: 'lodash' }, version: '4.17.15' } })).status).toBe(200)

    // Artifacts themselves stay closed: the download, the packument, the storage listing.
    await expectRestError(await call('GET', `/artifactory/bank-npm/${TARBALL}`, { auth: auth.expert }), 403, /may not read/)
    expect((await call('GET', `/artifactory/api/npm/bank-npm/${TARBALL}`, { auth: auth.expert })).status).toBe(403)
    expect((await call('GET', '/artifactory/api/npm/bank-npm/lodash', { auth: auth.expert })).status).toBe(403)
    await expectRestError(await call('GET', '/artifactory/api/storage/bank-npm/lodash', { auth: auth.expert }), 403, /may not read/)
    // Nor may the reviewer change a policy.
    expect((await call('DELETE', '/api/v1/scan/policies/shop-block', { auth: auth.expert })).status).toBe(404)
  })

  it("lets a Project Admin ask a reviewer for help on their project only", async () => {
    await expectRestError(await call('PUT', '/access/api/v1/projects/bank/reviewers/users/helper', { auth: auth.lead }), 403, /not a Project Admin of 'bank'/)
    expect((await call('PUT', '/access/api/v1/projects/shop/reviewers/users/helper', { auth: auth.lead })).status).toBe(200)
    expect((await findings('shop-npm', auth.helper!)).status).toBe(200)
    expect((await call('GET', '/api/v1/scan/project/shop/summary', { auth: auth.helper })).status).toBe(200)
    await expectRestError(await findings('bank-npm', auth.helper!), 403, /may not read/)
    expect((await call('GET', `/artifactory/shop-npm/${TARBALL}`, { auth: auth.helper })).status).toBe(403)
    expect((await findings('shop-npm', auth.nobody!)).status).toBe(403)

    expect((await call('DELETE', '/access/api/v1/projects/shop/reviewers/users/helper', { auth: auth.lead })).status).toBe(204)
    expect((await findings('shop-npm', auth.helper!)).status).toBe(403)
    const audit = (await (await call('GET', '/api/v1/audit?action=reviewer.')).json()) as { events: { action: string; actor: string; outcome: string }[] }
    expect(audit.events.map((e) => [e.action, e.actor, e.outcome])).toEqual([
      ['reviewer.revoke', 'lead', 'success'],
      ['reviewer.grant', 'lead', 'success'],
      ['reviewer.grant', 'lead', 'denied'],
      ['reviewer.grant', 'admin', 'success'],
      ['reviewer.grant', 'lead', 'denied'],
    ])
  })
})
