/**
 * Security in the console (issue #18 item 2), in Debian's chromium against a real Trove: lodash
 * 4.17.15 (built with the real one's name and version) published to a project's npm repository and
 * scanned against the OSV fixtures. The admin reads the repository's summary (counts by severity,
 * a severity filter, a JSON export) and the tarball's findings (severity, CVSS, ids and aliases,
 * package, installed and fixed versions, path); once a policy blocks high vulnerabilities, a
 * Developer of the project sees the verdict and, pressing Download, the refusal in words (the same
 * message a real client gets in its 403).
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consoleLogin, consoleLogout, openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, requireClients } from '../../helpers/clients.js'
import { publishBody } from '../../helpers/npm.js'
import { fixtureRecords, lodashTarball, packageJsonOf } from '../../helpers/scanning.js'
import { ADMIN_PASSWORD, basicAuth, startTestServer, type TestServer } from '../../helpers/server.js'

const TARBALL = 'lodash/-/lodash-4.17.15.tgz'
const hasBrowser = await requireClients("the console's security tests", ['chromium', CONSOLE_BUILD])

describe.skipIf(!hasBrowser)('security in the console', () => {
  let server: TestServer
  let browser: Browser
  let page: Page
  const devAuth = basicAuth('dana', 'dana-password-1')

  const call = (method: string, path: string, json?: unknown, auth?: string) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: auth ?? server.adminAuth, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: json === undefined ? undefined : JSON.stringify(json),
    })
  const login = (user: string, password: string) => consoleLogin(page, server.url, user, password)
  const logout = () => consoleLogout(page)

  beforeAll(async () => {
    await mkdir(join(process.cwd(), '.test-output', 'screenshots'), { recursive: true })
    server = await startTestServer()
    expect((await call('POST', '/access/api/v1/projects', { project_key: 'team', display_name: 'Team' })).status).toBe(201)
    expect((await call('PUT', '/artifactory/api/security/users/dana', { password: 'dana-password-1', email: 'dana@example.test' })).status).toBe(201)
    expect((await call('PUT', '/access/api/v1/projects/team/users/dana', { roles: ['Developer'] })).status).toBe(200)
    expect((await call('PUT', '/artifactory/api/repositories/team-npm', { rclass: 'local', packageType: 'npm', projectKey: 'team' })).status).toBe(200)
    expect((await call('POST', '/api/v1/vulndb/import', await fixtureRecords())).status).toBe(200)
    const tarball = await lodashTarball()
    const published = await call('PUT', '/artifactory/api/npm/team-npm/lodash', publishBody({ tarball, manifest: await packageJsonOf(tarball) }))
    expect(published.status).toBe(201)
    await server.trove.services.jobs.runDue()
    browser = await openBrowser()
    page = browser.page
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('shows the admin a repository summary with a severity filter and a JSON export', async () => {
    await login('admin', ADMIN_PASSWORD)
    await page.goto(`${server.url}/ui/repositories/team-npm`)
    const section = page.getByTestId('repository-security')
    await section.waitFor()
    expect(await page.getByTestId('scan-counts').textContent()).toMatch(/1 scannable files: 1 scanned, 0 not yet scanned, 0 failed; 1 with known vulnerabilities/)
    const api = (await (await call('GET', '/api/v1/scan/repository/team-npm/summary')).json()) as { vulnerabilities: Record<string, number>; topVulnerabilities: { ids: string[]; level: string }[] }
    expect(api.vulnerabilities.high).toBeGreaterThan(0)
    const highRow = section.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'high' }) })
    expect(await highRow.textContent()).toContain(String(api.vulnerabilities.high))
    const worst = section.getByTestId('worst-vulnerabilities').getByRole('listitem')
    expect(await worst.count()).toBe(api.topVulnerabilities.length)
    await section.getByLabel('Show severity at least').selectOption('critical')
    expect(await worst.count()).toBe(api.topVulnerabilities.filter((v) => v.level === 'critical').length)
    await section.getByLabel('Show severity at least').selectOption('high')
    expect(await worst.count()).toBe(api.topVulnerabilities.filter((v) => v.level === 'critical' || v.level === 'high').length)
    const [download] = await Promise.all([page.waitForEvent('download'), section.getByRole('button', { name: 'Export as JSON' }).click()])
    expect(download.suggestedFilename()).toBe('team-npm-scan-summary.json')
    const exported = JSON.parse(await readFile((await download.path())!, 'utf8')) as { repo: string; vulnerabilities: unknown }
    expect(exported.repo).toBe('team-npm')
    expect(exported.vulnerabilities).toEqual(api.vulnerabilities)
    await page.screenshot({ path: `${process.cwd()}/.test-output/screenshots/console-security-repository.png`, fullPage: true })
    // The project's page sums its repositories (here one): the same counts.
    await page.goto(`${server.url}/ui/projects/team`)
    const project = page.getByTestId('repository-security')
    await project.getByTestId('scan-counts').waitFor()
    expect(await project.getByTestId('scan-counts').textContent()).toMatch(/1 scannable files: 1 scanned/)
    expect(await project.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'high' }) }).textContent()).toContain(String(api.vulnerabilities.high))
  })

  it("shows the admin a tarball's findings with CVSS, aliases, installed and fixed versions, and no policy yet", async () => {
    await page.goto(`${server.url}/ui/repositories/team-npm/${TARBALL}`)
    const section = page.getByTestId('artifact-security')
    await section.getByTestId('findings').waitFor()
    expect(await section.getByTestId('policy-verdict').textContent()).toMatch(/No download policy covers this repository/)
    const report = (await (await call('GET', `/api/v1/scan/artifact/team-npm/${TARBALL}`)).json()) as {
      vulnerabilities: { ids: string[]; aliases: string[]; level: string; cvss: { score: number } | null; components: { fixedVersions: string[] }[] }[]
    }
    const worst = report.vulnerabilities[0]!
    const row = section.getByRole('row').filter({ has: page.getByRole('rowheader', { name: worst.ids[0] }) }).first()
    const text = (await row.textContent()) ?? ''
    expect(text).toContain(worst.level)
    if (worst.cvss) expect(text).toContain(worst.cvss.score.toFixed(1))
    for (const alias of worst.aliases) expect(text).toContain(alias)
    expect(text).toContain('lodash')
    expect(text).toContain('4.17.15')
    for (const fixed of worst.components[0]!.fixedVersions) expect(text).toContain(fixed)
    const rows = await section.getByTestId('findings').locator('tbody tr').count()
    expect(rows).toBe(report.vulnerabilities.reduce((n, v) => n + v.components.length, 0))
    await section.getByLabel('Minimum severity').selectOption('critical')
    const critical = report.vulnerabilities.filter((v) => v.level === 'critical').reduce((n, v) => n + v.components.length, 0)
    await expect.poll(() => section.locator('tbody tr').count()).toBe(critical)
    // Exports: the report as JSON and the SBOM as CycloneDX, both as the API gives them.
    const [json] = await Promise.all([page.waitForEvent('download'), section.getByRole('button', { name: 'Export report as JSON' }).click()])
    expect(json.suggestedFilename()).toBe('lodash-4.17.15.tgz.scan.json')
    expect(JSON.parse(await readFile((await json.path())!, 'utf8'))).toEqual(report)
    const [sbom] = await Promise.all([page.waitForEvent('download'), section.getByRole('button', { name: 'Export SBOM (CycloneDX)' }).click()])
    expect(sbom.suggestedFilename()).toBe('lodash-4.17.15.tgz.cdx.json')
    const bom = JSON.parse(await readFile((await sbom.path())!, 'utf8')) as { bomFormat: string; vulnerabilities: unknown[] }
    expect(bom.bomFormat).toBe('CycloneDX')
    expect(bom.vulnerabilities).toHaveLength(report.vulnerabilities.length)
    // Through a virtual repository the file has no report of its own: the page says where it is.
    expect((await call('PUT', '/artifactory/api/repositories/npm-all', { rclass: 'virtual', packageType: 'npm', repositories: ['team-npm'] })).status).toBe(200)
    await page.goto(`${server.url}/ui/repositories/npm-all/${TARBALL}`)
    await expect.poll(() => page.getByTestId('scan-state').textContent()).toMatch(/No scan report here: reports belong to the repository that stores the file/)
    await logout()
  })

  it('shows a Developer why a download is blocked, with the message a client gets', async () => {
    expect((await call('PUT', '/api/v1/scan/policies/no-high', { projects: ['team'], minSeverity: 'high' })).status).toBe(201)
    const refused = await fetch(`${server.url}/artifactory/team-npm/${TARBALL}`, { headers: { authorization: devAuth } })
    expect(refused.status).toBe(403)
    const clientMessage = ((await refused.json()) as { errors: { message: string }[] }).errors[0]!.message
    expect(clientMessage).toMatch(/is blocked by policy 'no-high'/)
    await login('dana', 'dana-password-1')
    await page.goto(`${server.url}/ui/repositories/team-npm/${TARBALL}`)
    const verdict = page.getByTestId('policy-verdict')
    await verdict.waitFor()
    expect(await verdict.textContent()).toContain(clientMessage)
    await page.getByRole('link', { name: 'Download' }).click()
    const reason = page.getByTestId('download-refused')
    await reason.waitFor()
    expect(await reason.textContent()).toBe(`Download blocked: ${clientMessage}`)
    await page.screenshot({ path: `${process.cwd()}/.test-output/screenshots/console-security-blocked.png`, fullPage: true })
    // A file no policy blocks downloads as before: the unblocked state says so.
    expect((await call('DELETE', '/api/v1/scan/policies/no-high')).status).toBe(204)
    await page.reload()
    await expect.poll(() => page.getByTestId('policy-verdict').textContent()).toMatch(/No download policy covers this repository/)
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download' }).click()])
    expect(download.suggestedFilename()).toBe('lodash-4.17.15.tgz')
    expect(browser.pageErrors).toEqual([])
  })

  it('refuses the verdict to a user who may not read the file, and names a file', async () => {
    expect((await call('PUT', '/artifactory/api/security/users/eve', { password: 'eve-password-1', email: 'eve@example.test' })).status).toBe(201)
    expect((await call('GET', `/api/v1/ui/scan/verdict/team-npm/${TARBALL}`, undefined, basicAuth('eve', 'eve-password-1'))).status).toBe(403)
    expect((await call('GET', '/api/v1/ui/scan/verdict/team-npm/', undefined, devAuth)).status).toBe(400)
    expect((await call('GET', '/api/v1/ui/scan/verdict/team-npm/no/such.tgz', undefined, devAuth)).status).toBe(404)
  })
})
