/**
 * Running the service in the console (issue #20), in Debian's chromium against a real Trove: a
 * window announced for tomorrow shows its banner with a countdown on the login page and on every
 * signed-in page; a user requests a project with the form; an admin approves it from the queue
 * with an edited quota; the requester deploys into it; the audit page shows the approval.
 * Screenshots land in .test-output/screenshots/.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServiceRequestBody } from '../../../src/api/operations.js'
import { openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, requireClients } from '../../helpers/clients.js'
import { ADMIN_PASSWORD, basicAuth, startTestServer, type TestServer } from '../../helpers/server.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SCREENSHOTS = join(ROOT, '.test-output', 'screenshots')
const hasBrowser = await requireClients("the console's operations tests", ['chromium', CONSOLE_BUILD])

describe.skipIf(!hasBrowser)('operations in the console', () => {
  let server: TestServer
  let browser: Browser
  let page: Page
  const dev = basicAuth('dev', 'dev-password-1')

  const call = (path: string, init: { method?: string; json?: unknown; body?: string; auth?: string } = {}) =>
    fetch(`${server.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: init.auth ?? server.adminAuth, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    })
  const login = async (user: string, password: string) => {
    await page.getByLabel('User name').fill(user)
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Repositories', level: 1 }).waitFor()
  }

  beforeAll(async () => {
    server = await startTestServer()
    await mkdir(SCREENSHOTS, { recursive: true })
    expect((await call('/artifactory/api/security/users/dev', { method: 'PUT', json: { password: 'dev-password-1', email: 'dev@example.test' } })).status).toBe(201)
    browser = await openBrowser()
    page = browser.page
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('shows an announced window with its countdown on the login page and after signing in', async () => {
    const start = Date.now() + 26 * 3600_000
    const res = await call('/api/v1/system/maintenance', { method: 'POST', json: { kind: 'read-only', message: 'Storage upgrade', start: new Date(start).toISOString(), end: new Date(start + 3600_000).toISOString() } })
    expect(res.status).toBe(201)
    await page.goto(`${server.url}/ui/`)
    const banner = page.getByTestId('maintenance-banner')
    await banner.waitFor()
    expect(await banner.textContent()).toMatch(/Read-only maintenance scheduled:\s*Storage upgrade/)
    expect(await page.getByTestId('maintenance-countdown').textContent()).toMatch(/^starts in 1 d (1|2) h$/)
    await page.screenshot({ path: join(SCREENSHOTS, 'maintenance-login.png') })
    await login('dev', 'dev-password-1')
    await page.getByTestId('maintenance-banner').waitFor()
    await page.getByRole('link', { name: 'Requests' }).click()
    await page.getByTestId('maintenance-banner').waitFor()
  })

  it('lets a user request a project with the form and see it pending', async () => {
    await page.getByRole('heading', { name: 'Requests', level: 1 }).waitFor()
    await page.getByLabel('Key', { exact: true }).fill('shop')
    await page.getByLabel('Name', { exact: true }).fill('Web shop')
    await page.getByLabel('Purpose').fill('the storefront team')
    await page.getByRole('button', { name: 'Send request' }).click()
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'sent' }).textContent()).toMatch(/Request for 'shop' sent/)
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'shop' }).textContent()).toMatch(/pending/)
    // A bad key is refused on the page, with the server's naming rule.
    await page.getByLabel('Key', { exact: true }).fill('Shop!')
    await page.getByLabel('Purpose').fill('x')
    await page.getByRole('button', { name: 'Send request' }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/invalid project key/)
    await page.getByRole('button', { name: 'Log out' }).click()
  })

  it('lets an admin approve it from the queue with a quota; the requester then deploys into the project', async () => {
    await page.getByLabel('User name').waitFor()
    await login('admin', ADMIN_PASSWORD)
    await page.getByRole('link', { name: 'Operations' }).click()
    await page.getByRole('link', { name: 'Request queue' }).click()
    await page.getByLabel('Quota for shop').fill('10')
    await page.screenshot({ path: join(SCREENSHOTS, 'request-queue.png') })
    await page.getByRole('button', { name: 'Approve shop' }).click()
    await page.getByText('No pending requests.').waitFor()

    const mine = (await (await call('/api/v1/requests', { auth: dev })).json()) as { requests: ServiceRequestBody[] }
    expect(mine.requests[0]).toMatchObject({ status: 'approved', decidedBy: 'admin', granted: { project: 'shop', storageQuotaBytes: 10 * 1024 * 1024 } })
    expect((await call('/artifactory/api/repositories/shop-files', { method: 'PUT', auth: dev, json: { rclass: 'local', packageType: 'generic' } })).status).toBe(200)
    expect((await call('/artifactory/shop-files/site.zip', { method: 'PUT', auth: dev, body: 'site' })).status).toBe(201)

    await page.getByRole('link', { name: 'Operations' }).click()
    await page.getByRole('link', { name: 'Audit log' }).click()
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'request.approve' }).textContent()).toMatch(/admin.*request\.approve.*success/)
    expect(browser.pageErrors).toEqual([])
  })

  it("shows the requester, now the project's admin, their project's audit events", async () => {
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByLabel('User name').waitFor()
    await login('dev', 'dev-password-1')
    await page.getByRole('link', { name: 'Audit' }).click()
    await page.getByText('Name a project you are a Project Admin of').waitFor()
    await page.getByLabel('Project (one you administer)').fill('shop')
    await page.getByRole('button', { name: 'Filter' }).click()
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'repository.create' }).textContent()).toMatch(/dev.*repository\.create.*shop-files.*success/)
    expect(await page.getByRole('row').filter({ hasText: 'user.put' }).count()).toBe(0)
    expect(browser.pageErrors).toEqual([])
  })
})
