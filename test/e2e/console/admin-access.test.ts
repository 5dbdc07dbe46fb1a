/**
 * The admin's groups and permission-target pages in a real browser (issue #18, item 5): an
 * admin creates a group with a user in it and a permission target granting that group read on
 * one repository; the user, logging in, then sees that repository and not the other. Bad input
 * (an empty name, a name taken, a target naming no repository) shows the server's refusal and
 * changes nothing; read-only mode disables both forms up front. axe checks each page.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consoleLogin, consoleLogout, openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, requireClients } from '../../helpers/clients.js'
import { ADMIN_PASSWORD, basicAuth, startTestServer, type TestServer } from '../../helpers/server.js'
import { expectAccessible } from './axe.js'

const hasBrowser = await requireClients("the console's groups and permission targets test", ['chromium', CONSOLE_BUILD])

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
const ERIN_PASSWORD = 'erin-password-1'

describe.skipIf(!hasBrowser)('admin pages for groups and permission targets', () => {
  let server: TestServer
  let browser: Browser
  let page: Page

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: server.adminAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  const ok = async (response: Promise<Response>) => {
    const r = await response
    expect(r.status, await r.clone().text()).toBeLessThan(300)
    return r
  }

  const get = async <T,>(path: string) => (await (await ok(call('GET', path))).json()) as T
  const group = (name: string) => get<{ name: string; description: string; userNames: string[] }>(`/artifactory/api/security/groups/${name}`)
  const names = async (path: string) => (await get<{ name: string }[]>(path)).map((e) => e.name)
  const erinReads = async (key: string) => (await fetch(`${server.url}/artifactory/api/storage/${key}`, { headers: { authorization: basicAuth('erin', ERIN_PASSWORD) } })).status

  beforeAll(async () => {
    server = await startTestServer()
    await ok(call('PUT', '/artifactory/api/security/users/erin', { email: 'erin@example.test', password: ERIN_PASSWORD }))
    for (const key of ['team-files', 'secret-files']) await ok(call('PUT', `/artifactory/api/repositories/${key}`, { rclass: 'local', packageType: 'generic' }))
    browser = await openBrowser()
    page = browser.page
    await consoleLogin(page, server.url, 'admin', ADMIN_PASSWORD)
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('1. the admin creates a group with erin in it, from the navigation', async () => {
    await page.getByRole('link', { name: 'Groups', exact: true }).click()
    await page.getByRole('heading', { name: 'Groups', level: 1 }).waitFor()
    await page.getByText('No groups yet').waitFor()
    await expectAccessible(page)
    await page.getByRole('link', { name: 'Create a group' }).click()
    await page.getByLabel('erin').waitFor()
    await expectAccessible(page)
    await page.getByLabel('Group name').fill('team')
    await page.getByLabel('Description').fill('The team')
    await page.getByLabel('erin').check()
    await page.getByRole('button', { name: 'Create group' }).click()
    await page.getByRole('heading', { name: 'Group team', level: 1 }).waitFor()
    expect(await page.getByLabel('erin').isChecked()).toBe(true)
    expect(await group('team')).toMatchObject({ name: 'team', description: 'The team', userNames: ['erin'] })
  })

  it('2. a group form with no name, a taken name, or a name the server refuses says why and creates nothing', async () => {
    await page.goto(`${server.url}/ui/admin/groups/new`)
    await page.getByRole('button', { name: 'Create group' }).click()
    await expect.poll(() => page.getByLabel('Group name').getAttribute('aria-invalid')).toBe('true')
    await page.getByText('A group name is required.').waitFor()

    await page.getByLabel('Group name').fill('team')
    await page.getByRole('button', { name: 'Create group' }).click()
    await page.getByText("A group named 'team' already exists").waitFor()
    expect((await group('team')).description).toBe('The team')

    await page.getByLabel('Group name').fill('bad name')
    await page.getByRole('button', { name: 'Create group' }).click()
    const refusal = await call('PUT', '/artifactory/api/security/groups/bad%20name', {})
    expect(refusal.status).toBe(400)
    const { errors } = (await refusal.json()) as { errors: { message: string }[] }
    await page.getByText(errors[0]!.message).first().waitFor()
    expect(await names('/artifactory/api/security/groups')).toEqual(['team'])
  })

  it('3. the admin creates a permission target giving the group read on team-files', async () => {
    await page.getByRole('link', { name: 'Permission targets', exact: true }).click()
    await page.getByRole('heading', { name: 'Permission targets', level: 1 }).waitFor()
    await expectAccessible(page)
    await page.getByRole('link', { name: 'Create a permission target' }).click()
    await page.getByLabel('Group team: Read').waitFor()
    await expectAccessible(page)
    await page.getByLabel('Name', { exact: true }).fill('team-read')
    await page.getByLabel('team-files', { exact: true }).check()
    await page.getByLabel('Group team: Read').check()
    await page.getByRole('button', { name: 'Create permission target' }).click()
    await page.getByRole('heading', { name: 'Permission target team-read', level: 1 }).waitFor()
    expect(await page.getByLabel('Group team: Read').isChecked()).toBe(true)
    expect(await page.getByLabel('team-files', { exact: true }).isChecked()).toBe(true)
    await page.screenshot({ path: join(SCREENSHOTS, 'permission-target.png'), fullPage: true })
    expect(await get('/artifactory/api/v2/security/permissions/team-read')).toMatchObject({
      repo: { repositories: ['team-files'], 'include-patterns': ['**'], actions: { users: {}, groups: { team: ['read'] } } },
    })
  })

  it('4. a taken name and a target with no repository show the server\'s error and change nothing', async () => {
    await page.goto(`${server.url}/ui/admin/permissions/new`)
    await page.getByLabel('Group team: Read').waitFor()
    await page.getByLabel('Name', { exact: true }).fill('team-read')
    await page.getByLabel('secret-files', { exact: true }).check()
    await page.getByLabel('User erin: Read').check()
    await page.getByRole('button', { name: 'Create permission target' }).click()
    await page.getByText("permission target 'team-read' already exists").waitFor()

    await page.getByLabel('Name', { exact: true }).fill('nothing')
    await page.getByLabel('secret-files', { exact: true }).uncheck()
    await page.getByRole('button', { name: 'Create permission target' }).click()
    await page.getByText('name at least one repository').waitFor()
    expect(await names('/artifactory/api/v2/security/permissions')).toEqual(['team-read'])
    expect((await get<{ repo: { actions: { users: unknown } } }>('/artifactory/api/v2/security/permissions/team-read')).repo.actions.users).toEqual({})
  })

  it('5. erin logs in and sees team-files, not secret-files', async () => {
    await consoleLogout(page)
    await consoleLogin(page, server.url, 'erin', ERIN_PASSWORD)
    await page.getByRole('link', { name: 'team-files', exact: true }).waitFor()
    expect(await page.getByRole('link', { name: 'secret-files', exact: true }).count()).toBe(0)
    expect(await page.getByRole('link', { name: 'Groups', exact: true }).count()).toBe(0)
    expect(await erinReads('team-files')).toBe(200)
    expect(await erinReads('secret-files')).not.toBe(200)
    await consoleLogout(page)
    await consoleLogin(page, server.url, 'admin', ADMIN_PASSWORD)
  })

  it("6. erin's page shows her groups (editable) and her project roles, her own and through a group", async () => {
    await ok(call('PUT', '/artifactory/api/security/groups/other', { description: 'Another group' }))
    await ok(call('POST', '/access/api/v1/projects', { project_key: 'apps', display_name: 'Apps' }))
    await ok(call('PUT', '/access/api/v1/projects/apps/groups/team', { roles: ['Developer'] }))
    await ok(call('PUT', '/access/api/v1/projects/apps/users/erin', { roles: ['Contributor'] }))
    await page.goto(`${server.url}/ui/admin/users/erin`)
    const roles = page.getByRole('table', { name: 'Project roles of erin' })
    await roles.getByRole('row', { name: /apps/ }).waitFor()
    expect((await roles.getByRole('row', { name: /apps/ }).allTextContents())[0]).toBe('appsContributorDeveloper (group team)')
    expect(await page.getByLabel('Group team').isChecked()).toBe(true)
    expect(await page.getByLabel('Group other').isChecked()).toBe(false)
    await expectAccessible(page)
    await page.screenshot({ path: join(SCREENSHOTS, 'user-access.png'), fullPage: true })
    await page.getByLabel('Group other').check()
    await page.getByRole('button', { name: 'Save groups' }).click()
    await page.getByText('Saved the groups of erin.').waitFor()
    expect((await group('other')).userNames).toEqual(['erin'])
    expect((await group('team')).userNames).toEqual(['erin'])
    await page.getByLabel('Group other').uncheck()
    await page.getByRole('button', { name: 'Save groups' }).click()
    await page.getByText('Saved the groups of erin.').waitFor()
    await expect.poll(async () => (await group('other')).userNames).toEqual([])
  })

  it('7. editing and deleting (with a confirmation): removing erin from the group ends her access; read-only disables both forms', async () => {
    await ok(call('PUT', '/api/v1/system/read-only', { enabled: true }))
    try {
      for (const path of ['/ui/admin/groups/team', '/ui/admin/permissions/team-read']) {
        await page.goto(`${server.url}${path}`)
        await page.getByTestId('read-only-note').waitFor()
        expect(await page.getByRole('button', { name: 'Save changes' }).isDisabled()).toBe(true)
      }
    } finally {
      await ok(call('PUT', '/api/v1/system/read-only', { enabled: false }))
    }
    await page.goto(`${server.url}/ui/admin/groups/team`)
    await page.getByLabel('erin').uncheck()
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByText('Saved team.').waitFor()
    expect((await group('team')).userNames).toEqual([])
    expect(await erinReads('team-files')).not.toBe(200)

    await page.goto(`${server.url}/ui/admin/permissions/team-read`)
    await page.getByRole('button', { name: 'Delete permission target' }).click()
    await page.getByRole('button', { name: 'Yes, delete' }).click()
    await page.getByRole('heading', { name: 'Permission targets', level: 1 }).waitFor()
    expect((await call('GET', '/artifactory/api/v2/security/permissions/team-read')).status).toBe(404)

    await page.goto(`${server.url}/ui/admin/groups/team`)
    await page.getByRole('button', { name: 'Delete group' }).click()
    await page.getByRole('button', { name: 'Yes, delete' }).click()
    await page.getByRole('heading', { name: 'Groups', level: 1 }).waitFor()
    expect((await call('GET', '/artifactory/api/security/groups/team')).status).toBe(404)

    await ok(call('PUT', '/artifactory/api/security/users/temp', { email: 'temp@example.test', password: 'temp-password-1' }))
    await page.goto(`${server.url}/ui/admin/users/temp`)
    await page.getByRole('button', { name: 'Delete user' }).click()
    await page.getByRole('button', { name: 'Cancel' }).click()
    expect((await call('GET', '/artifactory/api/security/users/temp')).status).toBe(200)
    await page.getByRole('button', { name: 'Delete user' }).click()
    await page.getByRole('button', { name: 'Yes, delete' }).click()
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor()
    expect((await call('GET', '/artifactory/api/security/users/temp')).status).toBe(404)
    expect(browser.pageErrors).toEqual([])
  })
})
