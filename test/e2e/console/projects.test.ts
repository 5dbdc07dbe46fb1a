/**
 * Projects and CI credentials in the console (issue #18 items 3 and 4), in Debian's chromium
 * against a real Trove: the admin creates a project with a quota at /ui/admin/projects and makes
 * `lead` its Project Admin; the Project Admin adds a Developer, creates a service account and a
 * token scoped to a project role, and the real curl deploys with it; the server's minting rule
 * refuses a token outliving the maximum lifetime and the page shows its words; revoking (after a
 * confirmation) stops curl at once; the quota bar shows the upload by repository; the Developer
 * sees the project, their role, and no management controls.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consoleLogin, consoleLogout, openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, clientCommand, requireClients } from '../../helpers/clients.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js'

const hasClients = await requireClients("the console's project tests", ['chromium', 'curl', CONSOLE_BUILD])
const SCREENSHOTS = join(process.cwd(), '.test-output', 'screenshots')

/** The real curl uploading a file as `user:token`; its HTTP status. */
function curlDeploy(url: string, user: string, token: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(clientCommand('curl'), ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', `${user}:${token}`, '-T', file, url], { timeout: 60_000 }, (err, stdout) => {
      if (err) reject(err)
      else resolve(Number(stdout))
    })
  })
}

describe.skipIf(!hasClients)('projects and CI credentials in the console', () => {
  let server: TestServer
  let browser: Browser
  let page: Page
  let work: string
  let artifact: string
  let token = ''

  const call = (method: string, path: string, json?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: server.adminAuth, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: json === undefined ? undefined : JSON.stringify(json),
    })
  const login = (user: string, password: string) => consoleLogin(page, server.url, user, password)
  const logout = () => consoleLogout(page)

  beforeAll(async () => {
    server = await startTestServer()
    await mkdir(SCREENSHOTS, { recursive: true })
    work = await mkdtemp(join(tmpdir(), 'trove-console-projects-'))
    artifact = join(work, 'app.bin')
    await writeFile(artifact, Buffer.alloc(300 * 1024, 7))
    for (const user of ['lead', 'dana']) {
      expect((await call('PUT', `/artifactory/api/security/users/${user}`, { password: `${user}-password-1`, email: `${user}@example.test` })).status).toBe(201)
    }
    browser = await openBrowser()
    page = browser.page
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('lets the admin create a project with a quota and make a Project Admin', async () => {
    await login('admin', ADMIN_PASSWORD)
    await page.goto(`${server.url}/ui/admin/projects`)
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor()
    // A bad key: the server's rule, next to the field; nothing created.
    await page.getByLabel('Project key').fill('Team!')
    await page.getByRole('button', { name: 'Create project' }).click()
    await page.getByRole('alert').filter({ hasText: "invalid project key 'Team!': 2 to 32 characters" }).waitFor()
    expect(await (await call('GET', '/access/api/v1/projects')).json()).toEqual([])
    await page.getByLabel('Project key').fill('team')
    await page.getByLabel('Display name').fill('Team')
    await page.getByLabel('Storage quota').fill('1')
    await page.getByLabel('Unit').selectOption('MiB')
    await page.getByRole('button', { name: 'Create project' }).click()
    await page.getByRole('heading', { name: 'Team (team)', level: 1 }).waitFor()
    const project = (await (await call('GET', '/access/api/v1/projects/team')).json()) as { storage_quota_bytes: number }
    expect(project.storage_quota_bytes).toBe(1024 * 1024)
    await page.getByLabel('Member name').fill('lead')
    await page.getByLabel('Role', { exact: true }).selectOption('Project Admin')
    await page.getByRole('button', { name: 'Add member' }).click()
    await expect.poll(() => page.getByTestId('project-members').getByRole('row').filter({ hasText: 'lead' }).count()).toBe(1)
    expect(await (await call('GET', '/access/api/v1/projects/team/users/lead')).json()).toEqual({ name: 'lead', roles: ['Project Admin'] })
    // The admin sets the quota on the project's page.
    const quotaForm = page.getByRole('form', { name: 'Set the quota' })
    await quotaForm.getByLabel('Storage quota').fill('2')
    await quotaForm.getByRole('button', { name: 'Set quota' }).click()
    await quotaForm.getByRole('status').waitFor()
    await expect.poll(() => page.getByTestId('quota').textContent()).toMatch(/0 B of 2\.0 MB used \(0%\)/)
    expect((await call('PUT', '/artifactory/api/repositories/team-generic', { rclass: 'local', packageType: 'generic' })).status).toBe(200)
    expect((await call('PATCH', '/api/v1/system/access', { tokenMaxExpirySecs: 30 * 86400 })).status).toBe(200)
    await logout()
  })

  it("lets a Project Admin add a Developer, make a service account and a role-scoped token that curl deploys with", async () => {
    await login('lead', 'lead-password-1')
    await page.getByRole('link', { name: 'Projects' }).click()
    await page.getByRole('heading', { name: 'My projects', level: 1 }).waitFor()
    await page.getByRole('link', { name: 'Team' }).click()
    expect(await page.getByTestId('my-roles').textContent()).toBe('Project Admin')
    await page.getByLabel('Member name').fill('dana')
    await page.getByLabel('Role', { exact: true }).selectOption('Developer')
    await page.getByRole('button', { name: 'Add member' }).click()
    await expect.poll(() => page.getByTestId('project-members').getByRole('row').filter({ hasText: 'dana' }).count()).toBe(1)
    await page.getByLabel('Service account name').fill('team-ci')
    await page.getByLabel('Service account role').selectOption('Developer')
    await page.getByRole('button', { name: 'Create service account' }).click()
    const account = page.getByTestId('service-account-team-ci')
    await account.waitFor()
    // The minting rule is the server's: a token longer than the maximum lifetime is refused, in its words.
    await account.getByLabel('Token scope').selectOption({ label: 'Developer in team' })
    await account.getByLabel('Token expires after').selectOption({ label: '1 year' })
    await account.getByRole('button', { name: 'Create token for team-ci' }).click()
    await expect.poll(() => account.getByRole('alert').first().textContent()).toBe('expires_in 31536000 is longer than the maximum token lifetime the administrator set (2592000 seconds)')
    expect(await (await call('GET', '/access/api/v1/tokens?username=team-ci')).json()).toEqual({ tokens: [] })
    await account.getByLabel('Token description').fill('deploy job')
    await account.getByLabel('Token expires after').selectOption({ label: '30 days' })
    await account.getByRole('button', { name: 'Create token for team-ci' }).click()
    token = (await account.getByTestId('new-token').textContent()) ?? ''
    expect(token).toMatch(/^trv_/)
    const row = account.getByTestId('tokens-team-ci').getByRole('row').filter({ hasText: 'deploy job' })
    expect(await row.textContent()).toContain('Developer in team')
    expect(await curlDeploy(`${server.url}/artifactory/team-generic/app/app.bin`, 'team-ci', token, artifact)).toBe(201)
    // Outside the role's project the token deploys nothing.
    expect((await call('PUT', '/artifactory/api/repositories/other-generic', { rclass: 'local', packageType: 'generic' })).status).toBe(200)
    expect(await curlDeploy(`${server.url}/artifactory/other-generic/app.bin`, 'team-ci', token, artifact)).toBe(403)
    await page.reload()
    await page.getByTestId('service-account-team-ci').waitFor()
    await expect.poll(() => page.getByTestId('tokens-team-ci').getByRole('row').filter({ hasText: 'deploy job' }).textContent()).not.toMatch(/never$/)
    await expect.poll(() => page.getByTestId('quota').textContent()).toMatch(/300 KB of 2\.0 MB used \(15%\)/)
    expect(await page.getByTestId('project-repositories').getByRole('row').filter({ hasText: 'team-generic' }).textContent()).toMatch(/generic.*local.*1.*300 KB.*100%/)
    await page.screenshot({ path: join(SCREENSHOTS, 'console-project.png'), fullPage: true })
  })

  it('revokes a token only after confirmation, and curl is refused at once', async () => {
    const account = page.getByTestId('service-account-team-ci')
    await account.getByRole('button', { name: 'Revoke deploy job' }).click()
    const confirm = account.getByRole('group', { name: /Revoke team-ci's token "deploy job"\?/ })
    await confirm.getByRole('button', { name: 'Cancel' }).click()
    expect(await curlDeploy(`${server.url}/artifactory/team-generic/app/again.bin`, 'team-ci', token, artifact)).toBe(201)
    await account.getByRole('button', { name: 'Revoke deploy job' }).click()
    await confirm.getByRole('button', { name: 'Yes, revoke' }).click()
    await expect.poll(() => account.getByText('No tokens: create one for the CI job below.').count()).toBe(1)
    expect(await curlDeploy(`${server.url}/artifactory/team-generic/app/late.bin`, 'team-ci', token, artifact)).toBe(401)
    expect(browser.pageErrors).toEqual([])
    await logout()
  })

  it('shows a Developer the project, their role and the quota, without management controls', async () => {
    await login('dana', 'dana-password-1')
    // The repository list: a project column, the caller's role there, and a project filter.
    const repoRow = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'team-generic' }) })
    expect(await repoRow.textContent()).toMatch(/team.*Developer/)
    expect((await call('PUT', '/artifactory/api/repositories/shared-files', { rclass: 'local', packageType: 'generic', anonymousRead: true })).status).toBe(200)
    await page.reload()
    await page.getByRole('rowheader', { name: 'shared-files' }).waitFor()
    await page.getByLabel('Project').selectOption('team')
    await expect.poll(() => page.getByRole('rowheader', { name: 'shared-files' }).count()).toBe(0)
    expect(await page.getByRole('rowheader', { name: 'team-generic' }).count()).toBe(1)
    await page.getByLabel('Project').selectOption({ label: '(no project)' })
    await expect.poll(() => page.getByRole('rowheader', { name: 'team-generic' }).count()).toBe(0)
    expect(await page.getByRole('rowheader', { name: 'shared-files' }).count()).toBe(1)
    await page.getByRole('link', { name: 'Projects' }).click()
    const row = page.getByRole('row').filter({ hasText: 'team' })
    expect(await row.textContent()).toMatch(/Developer/)
    await page.getByRole('link', { name: 'Team' }).click()
    expect(await page.getByTestId('my-roles').textContent()).toBe('Developer')
    await page.getByTestId('project-members').waitFor()
    expect(await page.getByRole('button', { name: 'Add member' }).count()).toBe(0)
    expect(await page.getByRole('button', { name: 'Create service account' }).count()).toBe(0)
    expect(await page.getByRole('button', { name: /^Remove / }).count()).toBe(0)
    expect(await page.getByTestId('quota').textContent()).toMatch(/of 2\.0 MB used/)
    // The API refuses what the page does not offer.
    const refused = await fetch(`${server.url}/access/api/v1/tokens?username=team-ci`, { headers: { authorization: `Basic ${Buffer.from('dana:dana-password-1').toString('base64')}` } })
    expect(refused.status).toBe(403)
    await page.goto(`${server.url}/ui/admin/projects`)
    await page.getByRole('heading', { name: 'Administrators only', level: 1 }).waitFor()
    expect(browser.pageErrors).toEqual([])
  })

  it("keeps other users' tokens from a Project Admin, and the project list from anonymous callers", async () => {
    const as = (user: string) => `Basic ${Buffer.from(`${user}:${user}-password-1`).toString('base64')}`
    const created = await fetch(`${server.url}/access/api/v1/tokens`, { method: 'POST', headers: { authorization: as('dana'), 'content-type': 'application/json' }, body: JSON.stringify({ description: 'mine', expires_in: 3600 }) })
    expect(created.status).toBe(200)
    const { token_id: id } = (await created.json()) as { token_id: string }
    // dana is a member of lead's project but no service account: lead neither lists nor revokes her tokens.
    expect((await fetch(`${server.url}/access/api/v1/tokens?username=dana`, { headers: { authorization: as('lead') } })).status).toBe(403)
    expect((await fetch(`${server.url}/access/api/v1/tokens/${id}`, { method: 'DELETE', headers: { authorization: as('lead') } })).status).toBe(404)
    const own = (await (await fetch(`${server.url}/access/api/v1/tokens?username=dana`, { headers: { authorization: as('dana') } })).json()) as { tokens: { token_id: string; subject: string }[] }
    expect(own.tokens.map((t) => t.token_id)).toContain(id)
    expect(new Set(own.tokens.map((t) => t.subject))).toEqual(new Set(['dana']))
    expect((await fetch(`${server.url}/api/v1/ui/projects`)).status).toBe(401)
    const mine = (await (await fetch(`${server.url}/api/v1/ui/projects`, { headers: { authorization: as('dana') } })).json()) as { projects: { key: string; roles: string[]; manageMembers: boolean }[] }
    expect(mine.projects.map((p) => [p.key, p.roles, p.manageMembers])).toEqual([['team', ['Developer'], false]])
  })
})
