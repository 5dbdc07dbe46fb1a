/**
 * Security on an image's tag page (issue #18 item 2), in Debian's chromium against a real Trove:
 * an image pushed over the registry API and scanned; its tag's folder page shows the report the
 * scan API resolves for the tag (scan state, components) and the policy verdict; once a policy
 * blocks unscanned images the verdict there is the refusal a client gets.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, requireClients } from '../../helpers/clients.js'
import { RegistryClient, startOciServer, type OciServer } from '../../helpers/oci.js'
import { buildImage } from '../../helpers/oci-images.js'
import { ADMIN_PASSWORD } from '../../helpers/server.js'

const hasBrowser = await requireClients("the console's image security tests", ['chromium', CONSOLE_BUILD])

describe.skipIf(!hasBrowser)('security on an image tag page', () => {
  let server: OciServer
  let browser: Browser
  let page: Page
  const call = (method: string, path: string, json?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: server.adminAuth, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: json === undefined ? undefined : JSON.stringify(json),
    })

  beforeAll(async () => {
    server = await startOciServer('sqlite')
    expect((await call('PUT', '/artifactory/api/repositories/docker-local', { rclass: 'local', packageType: 'docker' })).status).toBe(200)
    // The job queue runs only when the test says so: 1.0 is scanned, 2.0 (pushed later) is not.
    await server.trove.services.jobs.stop()
    await new RegistryClient(server, server.adminAuth).pushImage('docker-local/app', '1.0', buildImage('console', 2))
    await server.trove.services.jobs.runDue()
    browser = await openBrowser()
    page = browser.page
    await page.goto(`${server.url}/ui/`)
    await page.getByLabel('User name').fill('admin')
    await page.getByLabel('Password').fill(ADMIN_PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Repositories', level: 1 }).waitFor()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it("shows the tag's scan state and verdict, and the refusal once a policy blocks it", async () => {
    const report = (await (await call('GET', '/api/v1/scan/artifact/docker-local/app/1.0')).json()) as { path: string; status: string; components: unknown[] }
    expect(report.path).not.toBe('app/1.0')
    await page.goto(`${server.url}/ui/repositories/docker-local/app/1.0`)
    const section = page.getByTestId('artifact-security')
    await section.waitFor()
    expect(report.status).toBe('done')
    expect(await section.getByTestId('scan-state').textContent()).toMatch(new RegExp(`: ${report.components.length} components, no known vulnerabilities\\.$`))
    expect(await section.getByTestId('policy-verdict').textContent()).toMatch(/No download policy covers this repository/)
    // A folder that names no artifact shows no security section.
    await page.goto(`${server.url}/ui/repositories/docker-local/app`)
    await page.getByRole('heading', { name: 'app/', level: 2 }).waitFor()
    expect(await page.getByTestId('artifact-security').count()).toBe(0)

    expect((await call('PUT', '/api/v1/scan/policies/scanned-only', { repositories: ['docker-local'], blockUnscanned: true, minSeverity: 'critical' })).status).toBe(201)
    const pull = (tag: string) => fetch(`${server.url}/v2/docker-local/app/manifests/${tag}`, { headers: { authorization: server.adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json' } })
    // The scanned tag passes: the page names the policy that let it through.
    expect((await pull('1.0')).status).toBe(200)
    await page.goto(`${server.url}/ui/repositories/docker-local/app/1.0`)
    await expect.poll(() => page.getByTestId('policy-verdict').textContent()).toMatch(/Allowed by 1 policy \(scanned-only\)/)
    // A tag not scanned yet is refused; its page says so in the client's words.
    await new RegistryClient(server, server.adminAuth).pushImage('docker-local/app', '2.0', buildImage('console-2', 1))
    const refused = await pull('2.0')
    expect(refused.status).toBe(403)
    const message = ((await refused.json()) as { errors: { message: string }[] }).errors[0]!.message
    expect(message).toMatch(/blocked by policy 'scanned-only': it has not been scanned yet/)
    await page.goto(`${server.url}/ui/repositories/docker-local/app/2.0`)
    const section2 = page.getByTestId('artifact-security')
    await section2.getByTestId('scan-state').waitFor()
    expect(await section2.getByTestId('scan-state').textContent()).toMatch(/Not scanned yet/)
    // The same refusal; the page names the artifact by the path it shows.
    expect(await section2.getByTestId('policy-verdict').textContent()).toContain(`docker-local/app/2.0${message.slice(message.indexOf(' is blocked by'))}`)
    expect(browser.pageErrors).toEqual([])
  })
})
