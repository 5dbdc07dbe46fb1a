/**
 * The tokens page (issue #18 item 4), in Debian's chromium against a real Trove: a Developer
 * creates a token scoped to their project role and the real curl deploys with it into the project
 * and is refused outside it; console sessions are listed apart from tokens, and revoking the
 * session in use warns first and then logs out. (The server's minting errors on the page: projects.test.ts.)
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, clientCommand, requireClients } from '../../helpers/clients.js'
import { startTestServer, type TestServer } from '../../helpers/server.js'

const hasClients = await requireClients("the console's token tests", ['chromium', 'curl', CONSOLE_BUILD])

function curlDeploy(url: string, user: string, token: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(clientCommand('curl'), ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', `${user}:${token}`, '-T', file, url], { timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(Number(stdout))))
  })
}

describe.skipIf(!hasClients)('the tokens page', () => {
  let server: TestServer
  let browser: Browser
  let page: Page
  let work: string
  let file: string

  const call = (method: string, path: string, json?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: server.adminAuth, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: json === undefined ? undefined : JSON.stringify(json),
    })

  beforeAll(async () => {
    server = await startTestServer()
    work = await mkdtemp(join(tmpdir(), 'trove-console-tokens-'))
    file = join(work, 'a.txt')
    await writeFile(file, 'hello\n')
    expect((await call('POST', '/access/api/v1/projects', { project_key: 'team', display_name: 'Team' })).status).toBe(201)
    expect((await call('PUT', '/artifactory/api/security/users/dana', { password: 'dana-password-1', email: 'dana@example.test' })).status).toBe(201)
    expect((await call('PUT', '/access/api/v1/projects/team/users/dana', { roles: ['Developer'] })).status).toBe(200)
    for (const key of ['team-files', 'other-files']) expect((await call('PUT', `/artifactory/api/repositories/${key}`, { rclass: 'local', packageType: 'generic' })).status).toBe(200)
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
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('creates a token scoped to a project role that curl deploys with, only in that project', async () => {
    await page.getByRole('link', { name: 'Tokens' }).click()
    await page.getByRole('heading', { name: 'Access tokens', level: 1 }).waitFor()
    await page.getByLabel('Description').fill('laptop')
    await page.getByLabel('Scope').selectOption({ label: 'Developer in team' })
    await page.getByLabel('Expires after').selectOption({ label: '1 day' })
    await page.getByRole('button', { name: 'Create token' }).click()
    const token = (await page.getByTestId('new-token').textContent()) ?? ''
    expect(token).toMatch(/^trv_/)
    const row = page.getByTestId('token-list').getByRole('row').filter({ hasText: 'laptop' })
    await expect.poll(() => row.textContent()).toContain('Developer in team')
    expect(await curlDeploy(`${server.url}/artifactory/team-files/a.txt`, 'dana', token, file)).toBe(201)
    expect(await curlDeploy(`${server.url}/artifactory/other-files/a.txt`, 'dana', token, file)).toBe(403)
  })

  it('lists console sessions apart and warns before revoking the one in use', async () => {
    const sessions = page.getByTestId('session-list')
    const current = sessions.getByRole('row').filter({ hasText: '(this session)' })
    await current.waitFor()
    expect(await page.getByTestId('token-list').getByText('console session').count()).toBe(0)
    await current.getByRole('button', { name: /^Revoke / }).click()
    const confirm = current.getByRole('group', { name: 'This is the session you are using: revoking it logs you out. Revoke it?' })
    await confirm.getByRole('button', { name: 'Yes, revoke' }).click()
    await page.getByLabel('User name').waitFor()
    const left = (await (await call('GET', '/access/api/v1/tokens?username=dana')).json()) as { tokens: { description: string }[] }
    expect(left.tokens.map((t) => t.description)).toEqual(['laptop'])
    expect(browser.pageErrors).toEqual([])
  })
})
