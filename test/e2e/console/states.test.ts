/**
 * States a user can read (issue #18 items 6 and 7), in Debian's chromium against a real Trove:
 * read-only mode shows on the login page too and disables write forms up front (their controls,
 * not a refusal after submitting); empty repositories say what to do; a user who may only read
 * is not offered the controls that change things, while one who may annotate is; every page
 * visited passes axe-core's WCAG A/AA rules, is reachable by keyboard with a visible focus, and
 * its tables fit 1280 px with long names wrapping.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consoleLogin, consoleLogout, openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, requireClients } from '../../helpers/clients.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js'
import { expectAccessible } from './axe.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SCREENSHOTS = join(ROOT, 'docs', 'screenshots')
const LONG_NAME = `${'very-long-folder-name-'.repeat(8)}end`

const hasBrowser = await requireClients("the console's state tests", ['chromium', CONSOLE_BUILD])

describe.skipIf(!hasBrowser)('states a user can read', () => {
  let server: TestServer
  let browser: Browser
  let page: Page
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: server.adminAuth, ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
  const ok = async (res: Promise<Response>) => {
    const answer = await res
    expect(answer.status, await answer.clone().text()).toBeLessThan(300)
  }
  const login = (user: string, password: string) => consoleLogin(page, server.url, user, password)
  const logout = () => consoleLogout(page)

  beforeAll(async () => {
    server = await startTestServer({ env: { TROVE_ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' } })
    await ok(call('PUT', '/artifactory/api/repositories/files', { key: 'files', rclass: 'local', packageType: 'generic' }))
    await ok(call('PUT', '/artifactory/api/repositories/images', { key: 'images', rclass: 'local', packageType: 'docker' }))
    await ok(call('PUT', '/artifactory/api/repositories/images-remote', { key: 'images-remote', rclass: 'remote', packageType: 'docker', url: `${server.url}/v2/` }))
    await ok(call('PUT', '/artifactory/api/repositories/files-b', { key: 'files-b', rclass: 'local', packageType: 'generic' }))
    await ok(call('PUT', `/artifactory/files/${LONG_NAME}/report.txt`, 'a report\n'))
    for (const [name, actions] of [
      ['reader', ['read']],
      ['annotator', ['read', 'annotate']],
    ] as const) {
      await ok(call('PUT', `/artifactory/api/security/users/${name}`, { email: `${name}@example.test`, password: `${name}-password-1` }))
      await ok(call('PUT', `/api/v1/repositories/files/grants/${name}`, { actions }))
    }
    browser = await openBrowser()
    page = browser.page
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('1. read-only mode shows on the login page, and write forms are disabled up front', async () => {
    await ok(call('PUT', '/api/v1/system/read-only', { enabled: true, message: 'Storage move until 18:00' }))
    await page.goto(`${server.url}/ui/`)
    const banner = page.getByTestId('read-only-banner')
    await expect.poll(() => banner.textContent()).toMatch(/Read-only mode:\s*Storage move until 18:00.*You can still log in/)
    await expectAccessible(page)
    await page.screenshot({ path: join(SCREENSHOTS, 'login-read-only.png') })

    await page.getByLabel('User name').fill('admin')
    await page.getByLabel('Password').fill(ADMIN_PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Repositories', level: 1 }).waitFor()
    await page.getByRole('link', { name: 'Tokens' }).click()
    await page.getByTestId('read-only-note').waitFor()
    expect(await page.getByRole('button', { name: 'Create token' }).isDisabled()).toBe(true)
    expect(await page.getByLabel('Description').isDisabled()).toBe(true)
    await page.goto(`${server.url}/ui/admin/repositories/new`)
    await page.getByTestId('read-only-note').waitFor()
    expect(await page.getByRole('button', { name: 'Create repository' }).isDisabled()).toBe(true)
    // The switch itself stays usable: the admin turns it off, and the forms come back.
    await page.goto(`${server.url}/ui/admin/system`)
    expect(await page.getByLabel('Read-only', { exact: true }).isDisabled()).toBe(false)
    await page.getByLabel('Read-only', { exact: true }).uncheck()
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => page.getByTestId('read-only-banner').count()).toBe(0)
    await page.getByRole('link', { name: 'Tokens' }).click()
    await expect.poll(() => page.getByRole('button', { name: 'Create token' }).isDisabled()).toBe(false)
    expect(await page.getByTestId('read-only-note').count()).toBe(0)
  })

  it('2. empty repositories say what to do: push (local) or pull through (remote)', async () => {
    await page.goto(`${server.url}/ui/packages/images`)
    await expect.poll(() => page.getByTestId('packages-empty').textContent()).toMatch(/No images yet\. See Set Me Up for the commands that push one here/)
    await expectAccessible(page)
    await page.goto(`${server.url}/ui/packages/images-remote`)
    await expect.poll(() => page.getByTestId('packages-empty').textContent()).toMatch(/Nothing cached yet: this repository fills as clients pull through it/)
    expect(await page.getByTestId('repository-state').textContent()).toMatch(/A remote repository: it fills as clients pull through it from/)
    await expectAccessible(page)
  })

  it('3. long names wrap and tables fit 1280 px; the keyboard starts at the skip link, and the focus is visible', async () => {
    await page.goto(`${server.url}/ui/repositories/files/${LONG_NAME}/report.txt`)
    await page.getByRole('heading', { name: 'report.txt', level: 2 }).waitFor()
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280)
    await page.goto(`${server.url}/ui/`)
    await page.getByRole('row', { name: /images-remote/ }).waitFor()
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280)
    await expectAccessible(page)

    // Tab from the top: the skip link first, then on into the page; the focused element shows an outline.
    await page.keyboard.press('Tab')
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content')
    await page.keyboard.press('Tab')
    const outline = await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')
    expect(outline).toBe('solid')
  })

  it('3b. a virtual repository’s members are picked in order: added from the same type, moved up, saved in that order', async () => {
    await page.goto(`${server.url}/ui/admin/repositories/new`)
    await page.getByLabel('Key').fill('files-all')
    await page.getByLabel('Class').selectOption('virtual')
    for (const key of ['files', 'files-b']) {
      await page.getByLabel('Add a member').selectOption(key)
      await page.getByRole('button', { name: 'Add', exact: true }).click()
    }
    // Only repositories of the same type are offered: the Docker ones are not.
    expect(await page.getByLabel('Add a member').locator('option').allTextContents()).toEqual(['Choose a repository…'])
    await page.getByRole('button', { name: 'Move files-b up' }).click()
    expect(await page.getByTestId('members').locator('li span').allTextContents()).toEqual(['files-b', 'files'])
    await expectAccessible(page)
    await page.getByRole('button', { name: 'Create repository' }).click()
    await page.getByRole('heading', { name: 'files-all', level: 1 }).waitFor()
    expect(((await (await call('GET', '/artifactory/api/repositories/files-all')).json()) as { repositories: string[] }).repositories).toEqual(['files-b', 'files'])
  })

  it('4. a reader is not offered the property editor; an annotator is', async () => {
    await logout()
    await login('reader', 'reader-password-1')
    await page.goto(`${server.url}/ui/repositories/files/${LONG_NAME}/report.txt`)
    await page.getByTestId('properties-permission-note').waitFor()
    expect(await page.getByRole('button', { name: 'Add property' }).count()).toBe(0)
    expect(await page.getByRole('link', { name: 'Manage repositories' }).count()).toBe(0)
    await expectAccessible(page)
    await logout()
    await login('annotator', 'annotator-password-1')
    await page.goto(`${server.url}/ui/repositories/files/${LONG_NAME}/report.txt`)
    await page.getByRole('button', { name: 'Add property' }).waitFor()
    expect(await page.getByTestId('properties-permission-note').count()).toBe(0)
    expect(browser.pageErrors).toEqual([])
  })
})
