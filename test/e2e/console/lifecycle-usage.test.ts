/**
 * Storage usage in the console (docs/lifecycle.md), in Debian's chromium against a real Trove: a
 * project member opens the project's page and a repository's page and reads the files, bytes
 * after deduplication, what the trash holds and the largest packages, as the REST API reports them.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, requireClients } from '../../helpers/clients.js'
import { startTestServer, type TestServer } from '../../helpers/server.js'
import { Client, createRepository, createUser, deploy } from '../generic-support.js'

const hasClients = await requireClients("the console's usage tests", ['chromium', CONSOLE_BUILD])

for (const run of hasClients ? ['chromium'] : []) {
  describe(`storage usage in the console (${run})`, () => {
    let server: TestServer
    let browser: Browser
    let page: Page

    beforeAll(async () => {
      server = await startTestServer({ settings: { trashcan: { enabled: true, retentionPeriodDays: 14 } } })
      const admin = new Client(server.url, server.adminAuth)
      expect((await admin.post('/access/api/v1/projects', { body: { project_key: 'acme', display_name: 'Acme' } })).status).toBe(201)
      await createRepository(admin, 'acme-libs', { projectKey: 'acme' })
      await createUser(admin, 'dana', 'dana-password-1')
      expect((await admin.put('/access/api/v1/projects/acme/users/dana', { body: { roles: ['Developer'] } })).status).toBe(200)
      await deploy(admin, 'acme-libs/big/1.0/big.bin', 'b'.repeat(3000))
      await deploy(admin, 'acme-libs/big/1.1/big.bin', 'b'.repeat(3000))
      await deploy(admin, 'acme-libs/small/1.0/small.bin', 's'.repeat(10))
      expect((await admin.delete('/artifactory/acme-libs/small')).status).toBe(204)
      browser = await openBrowser()
      page = browser.page
      await page.goto(`${server.url}/ui/`)
      await page.getByLabel('User name').fill('dana')
      await page.getByLabel('Password').fill('dana-password-1')
      await page.getByRole('button', { name: 'Log in' }).click()
      await page.getByRole('heading', { name: 'Repositories', level: 1 }).waitFor()
    }, 120_000)

    afterAll(async () => {
      await browser?.close()
      await server?.close()
    })

    it("shows the project's usage on its page", async () => {
      await page.goto(`${server.url}/ui/projects/acme`)
      await page.getByRole('heading', { name: 'Acme (acme)', level: 1 }).waitFor()
      await page.getByText('Storage usage').click()
      await expect.poll(() => page.getByTestId('usage-files').textContent()).toBe('2')
      // Two files of the same bytes (6000): stored once (3000).
      expect(await page.getByTestId('usage-logical').textContent()).toBe('5.9 KB')
      expect(await page.getByTestId('usage-stored').textContent()).toBe('2.9 KB')
      expect(await page.getByTestId('usage-trash').textContent()).toMatch(/^1 files, 10 B/)
      expect(await page.getByTestId('usage-largest').getByRole('row').filter({ hasText: 'big' }).textContent()).toMatch(/acme-libs/)
    })

    it("shows a repository's usage on its page", async () => {
      await page.goto(`${server.url}/ui/repositories/acme-libs`)
      await page.getByText('Storage usage').click()
      await expect.poll(() => page.getByTestId('usage-files').textContent()).toBe('2')
      expect(await page.getByTestId('usage-logical').textContent()).toBe('5.9 KB')
      expect(await page.getByTestId('usage-stored').textContent()).toBe('2.9 KB')
      expect(await page.getByTestId('usage-largest').getByRole('row').filter({ hasText: 'big' }).getByRole('cell').last().textContent()).toBe('5.9 KB')
    })
  })
}
