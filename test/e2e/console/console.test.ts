/**
 * The web console in a real browser (Debian's chromium driven by playwright-core) against a real
 * Trove: a newcomer logs in, an admin creates a repository through the form, a file deployed
 * through the REST API is found in the tree with its checksums, a property is edited, quick search
 * finds it by name and by checksum, Set Me Up makes a token and its curl line runs as copied, an
 * XSS attempt renders as text, read-only mode shows its banner, an npm package published with the
 * copied .npmrc shows up in the tree, and logging out ends the session.
 * Screenshots of the main pages land in .test-output/screenshots/.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, requireClients } from '../../helpers/clients.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SCREENSHOTS = join(ROOT, '.test-output', 'screenshots')

const hasBrowser = await requireClients("the console's browser tests", ['chromium', CONSOLE_BUILD])

describe.skipIf(!hasBrowser)('web console in a browser', () => {
  let server: TestServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let work: string

  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { ...init, headers: { authorization: server.adminAuth, ...(init.headers as Record<string, string>) } })
  const ui = (path = '') => `${server.url}/ui/${path}`

  beforeAll(async () => {
    server = await startTestServer()
    work = await mkdtemp(join(tmpdir(), 'trove-console-'))
    await mkdir(SCREENSHOTS, { recursive: true })
    browser = await openBrowser()
    context = browser.context
    page = browser.page
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await rm(work, { recursive: true, force: true })
  })

  it('1. / leads to the login page; a wrong password is refused on the page', async () => {
    await page.goto(server.url)
    await page.getByLabel('User name').waitFor()
    expect(new URL(page.url()).pathname).toBe('/ui/')
    await page.getByLabel('User name').fill('admin')
    await page.getByLabel('Password').fill('wrong-password')
    await page.getByRole('button', { name: 'Log in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Wrong user name or password/)
    await page.screenshot({ path: join(SCREENSHOTS, 'login.png') })
  })

  it('2. logs in and sees the repositories page, empty, saying what to do next', async () => {
    await page.getByLabel('Password').fill(ADMIN_PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Repositories', level: 1 }).waitFor()
    // The heading renders before the list arrives; wait for the empty state itself.
    await page.getByText('No repositories yet').waitFor()
    const cookies = await context.cookies(server.url)
    expect(cookies.find((c) => c.name === 'trove_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' })
  })

  it('3. creates a repository through the admin form, after a validation message next to the key', async () => {
    await page.getByRole('link', { name: 'Create a repository' }).first().click()
    await page.getByRole('heading', { name: 'Create a repository' }).waitFor()
    await page.getByLabel('Key').fill('Bad Key')
    await page.getByRole('button', { name: 'Create repository' }).click()
    const keyError = page.locator('.field.invalid .field-error')
    await expect.poll(() => keyError.textContent()).toMatch(/invalid repository key 'Bad Key'/)
    expect(await page.getByLabel('Key').getAttribute('aria-invalid')).toBe('true')

    // Two wrong fields of a remote repository: each message next to the field the API names in its error entry.
    await page.getByLabel('Key').fill('console-remote')
    await page.getByLabel('Class').selectOption('remote')
    await page.getByLabel('URL', { exact: true }).fill('ftp://127.0.0.1/')
    await page.getByLabel('Metadata cache period (seconds)').fill('soon')
    await page.getByRole('button', { name: 'Create repository' }).click()
    const errorOf = (label: string) => page.locator('.field', { has: page.getByLabel(label, { exact: true }) }).locator('.field-error')
    await expect.poll(() => errorOf('URL').textContent()).toMatch(/must be an http or https URL/)
    expect(await page.getByLabel('URL', { exact: true }).getAttribute('aria-invalid')).toBe('true')
    expect(await errorOf('Metadata cache period (seconds)').textContent()).toMatch(/expected number/)
    expect(await page.locator('.repo-form > .error').count()).toBe(0) // nothing left over for above the form
    await page.screenshot({ path: join(SCREENSHOTS, 'repository-field-errors.png'), fullPage: true })
    expect((await admin('/artifactory/api/repositories/console-remote')).status).toBe(404)
    await page.getByLabel('Class').selectOption('local')

    await page.getByLabel('Key').fill('console-local')
    await page.getByLabel('Description').fill('Build outputs')
    await page.getByRole('button', { name: 'Create repository' }).click()
    await page.getByRole('heading', { name: 'console-local', level: 1 }).waitFor()
    const res = await admin('/artifactory/api/repositories/console-local')
    expect(await res.json()).toMatchObject({ key: 'console-local', rclass: 'local', packageType: 'generic', description: 'Build outputs' })
  })

  const content = Buffer.from('a build output, deployed through the REST API\n')
  const sha256 = createHash('sha256').update(content).digest('hex')
  const sha1 = createHash('sha1').update(content).digest('hex')

  it('4. a file deployed through REST is found in the tree, with its size and checksums', async () => {
    const put = await admin('/artifactory/console-local/releases/1.0/app.tar.gz;build.number=41', { method: 'PUT', body: content })
    expect(put.status).toBe(201)
    expect((await admin('/artifactory/console-local/releases/1.0/app.tar.gz')).status).toBe(200) // one download

    await page.getByRole('link', { name: 'Repositories' }).first().click()
    const row = page.getByRole('row', { name: /console-local/ })
    await expect.poll(() => row.textContent()).toMatch(/generic.*local.*1.*46 B/)
    await page.getByRole('link', { name: 'console-local', exact: true }).click()

    const tree = page.getByRole('tree')
    await tree.getByRole('treeitem', { name: 'releases' }).locator('.tree-label').click()
    await tree.getByRole('treeitem', { name: '1.0' }).locator('.tree-label').click()
    await tree.getByRole('treeitem', { name: 'app.tar.gz' }).click()
    await page.getByRole('heading', { name: 'app.tar.gz', level: 2 }).waitFor()
    expect(new URL(page.url()).pathname).toBe('/ui/repositories/console-local/releases/1.0/app.tar.gz')
    expect(await page.locator('[data-checksum=sha256]').textContent()).toBe(sha256)
    expect(await page.locator('[data-checksum=sha1]').textContent()).toBe(sha1)
    await expect.poll(() => page.getByText(`${content.length} bytes`).count()).toBe(1)
    await expect.poll(() => page.getByTestId('download-count').textContent()).toBe('1')
    expect(await page.getByRole('link', { name: 'Download' }).getAttribute('href')).toBe('/artifactory/console-local/releases/1.0/app.tar.gz')
    await page.screenshot({ path: join(SCREENSHOTS, 'artifact.png'), fullPage: true })
    // A narrow window: the tree goes above the details, nothing scrolls sideways.
    await page.setViewportSize({ width: 420, height: 900 })
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(420)
    await page.screenshot({ path: join(SCREENSHOTS, 'artifact-narrow.png'), fullPage: true })
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('5. the tree works with the keyboard', async () => {
    const tree = page.getByRole('tree')
    await tree.getByRole('treeitem', { name: 'app.tar.gz' }).focus()
    await page.keyboard.press('ArrowUp') // 1.0
    await page.keyboard.press('ArrowLeft') // close 1.0
    expect(await tree.getByRole('treeitem', { name: '1.0' }).getAttribute('aria-expanded')).toBe('false')
    await page.keyboard.press('ArrowRight') // open it again
    await page.keyboard.press('ArrowRight') // into its first child
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'app.tar.gz', level: 2 }).waitFor()
  })

  it('6. edits a property and adds one', async () => {
    const row = page.getByRole('row', { name: /build\.number/ })
    expect(await row.locator('[data-property="build.number"]').textContent()).toBe('41')
    await page.getByRole('button', { name: 'Edit build.number' }).click()
    await page.getByLabel('Values of build.number, separated by commas').fill('42')
    await page.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => page.locator('[data-property="build.number"]').textContent()).toBe('42')

    await page.getByLabel('Name', { exact: true }).fill('qa.status')
    await page.getByLabel('Values (comma-separated)').fill('passed, signed')
    await page.getByRole('button', { name: 'Add property' }).click()
    await expect.poll(() => page.locator('[data-property="qa.status"]').textContent()).toBe('passed, signed')

    const res = await admin('/artifactory/api/storage/console-local/releases/1.0/app.tar.gz?properties')
    expect(((await res.json()) as { properties: unknown }).properties).toEqual({ 'build.number': ['42'], 'qa.status': ['passed', 'signed'] })
  })

  it('7. quick search finds the file by name and by checksum', async () => {
    await page.getByLabel('Quick search by name or checksum').fill('app.tar')
    await page.getByLabel('Quick search by name or checksum').press('Enter')
    await page.getByRole('heading', { name: 'Search', level: 1 }).waitFor()
    await page.getByRole('link', { name: 'console-local/releases/1.0/app.tar.gz' }).waitFor()

    await page.getByLabel('Quick search by name or checksum').fill(sha256)
    await page.getByLabel('Quick search by name or checksum').press('Enter')
    await expect.poll(() => new URL(page.url()).search).toBe(`?checksum=${sha256}`)
    await page.getByRole('link', { name: 'console-local/releases/1.0/app.tar.gz' }).click()
    await page.getByRole('heading', { name: 'app.tar.gz', level: 2 }).waitFor()
  })

  it('8. Set Me Up: creates a token, fills it into the snippets, and the copied curl line deploys for real', async () => {
    await page.getByRole('link', { name: 'Set Me Up' }).click()
    await page.getByRole('heading', { name: 'Set Me Up: console-local' }).waitFor()
    expect(await page.locator('[data-snippet=curl-deploy] pre').textContent()).toContain('<TOKEN>')
    await page.getByRole('button', { name: 'Create a token and fill it in' }).click()
    const token = (await page.getByTestId('new-token').textContent()) ?? ''
    expect(token).toMatch(/^trv_/)
    const snippet = page.locator('[data-snippet=curl-deploy]')
    expect(await snippet.locator('pre').textContent()).toContain(`admin:${token}`)
    await page.screenshot({ path: join(SCREENSHOTS, 'set-me-up.png'), fullPage: true })

    // Copied as a person would, through the clipboard; then run in a shell with the real curl.
    await snippet.getByRole('button', { name: /^Copy Deploy a file with curl/ }).click()
    const copied = await page.evaluate<string>('navigator.clipboard.readText()')
    expect(copied).toBe(await snippet.locator('pre').textContent())
    await writeFile(join(work, 'build.tar.gz'), 'made by the Set Me Up test\n')
    await run('bash', ['-euo', 'pipefail', '-c', copied], { cwd: work })
    const deployed = await admin('/artifactory/console-local/releases/1.0/build.tar.gz')
    expect(deployed.status).toBe(200)
    expect(await deployed.text()).toBe('made by the Set Me Up test\n')
    const tokens = (await (await admin('/access/api/v1/tokens')).json()) as { tokens: { description: string }[] }
    expect(tokens.tokens.map((t) => t.description)).toContain('Set Me Up: console-local')
  })

  it('9. an artifact name and a property value that carry markup render as text', async () => {
    const name = '<img src=x onerror="window.__xss=1">.txt'
    const path = `xss/${encodeURIComponent(name)}`
    expect((await admin(`/artifactory/console-local/${path}`, { method: 'PUT', body: 'x' })).status).toBe(201)
    const value = '<script>window.__xss=2</script><b>bold</b>'
    const props = await admin(`/artifactory/api/storage/console-local/${path}?properties=${encodeURIComponent(`note=${value}`)}`, { method: 'PUT' })
    expect(props.status).toBe(204)

    await page.goto(ui(`repositories/console-local/${path}`))
    await page.getByRole('heading', { name, level: 2 }).waitFor()
    expect(await page.locator('[data-property=note]').textContent()).toBe(value)
    // The tree loads on its own, after the artifact panel.
    await expect.poll(() => page.getByRole('tree').getByRole('treeitem', { name }).count()).toBe(1)
    expect(await page.evaluate<unknown>('window.__xss')).toBeUndefined()
    expect(await page.locator('main img, main script, main b').count()).toBe(0)
  })

  it('10. the repositories page lists with filters, and looks right', async () => {
    expect((await admin('/artifactory/api/repositories/other-local', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"rclass":"local","packageType":"generic"}' })).status).toBe(200)
    await page.goto(ui())
    await page.getByRole('heading', { name: 'Repositories', level: 1 }).waitFor()
    await page.getByRole('link', { name: 'other-local', exact: true }).waitFor()
    await page.screenshot({ path: join(SCREENSHOTS, 'repositories.png'), fullPage: true })
    await page.getByLabel('Key').fill('console')
    await expect.poll(() => page.getByRole('link', { name: 'other-local', exact: true }).count()).toBe(0)
    expect(await page.getByRole('link', { name: 'console-local', exact: true }).count()).toBe(1)
  })

  it('11. the read-only switch: an admin turns it on, every page shows the banner, a push is refused', async () => {
    await page.getByRole('link', { name: 'System' }).click()
    await page.getByRole('heading', { name: 'Read-only mode' }).waitFor()
    await expect.poll(() => page.locator('dd.ok').count()).toBe(2) // metadata and blob store working
    // The nodes: this one alone (SQLite), serving.
    await page.getByRole('heading', { name: 'Nodes' }).waitFor()
    await expect.poll(() => page.getByRole('row', { name: /this node/ }).count()).toBe(1)
    expect(await page.getByRole('row', { name: /this node/ }).locator('td.ok').textContent()).toBe('serving')
    await page.getByLabel('Read-only', { exact: true }).check()
    await page.getByLabel('Message shown to clients and in the banner').fill('Maintenance until 17:00')
    await page.getByRole('button', { name: 'Apply' }).click()
    await page.locator('.banner').getByText('Maintenance until 17:00').waitFor()
    await page.screenshot({ path: join(SCREENSHOTS, 'system.png'), fullPage: true })

    const refused = await admin('/artifactory/console-local/during-maintenance.txt', { method: 'PUT', body: 'no' })
    expect(refused.status).toBe(503)
    expect(await refused.text()).toContain('Maintenance until 17:00')

    await page.getByRole('link', { name: 'Repositories' }).first().click()
    expect(await page.locator('.banner').textContent()).toContain('Maintenance until 17:00')

    await page.getByRole('link', { name: 'System' }).click()
    await page.getByLabel('Read-only', { exact: true }).uncheck()
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => page.locator('.banner').count()).toBe(0)
    expect((await admin('/artifactory/console-local/after-maintenance.txt', { method: 'PUT', body: 'yes' })).status).toBe(201)
  })

  it('12. done when: a newcomer creates a local npm repository, publishes with its Set Me Up lines, and finds the package', async () => {
    await page.getByRole('link', { name: 'Manage repositories' }).click()
    await page.getByRole('link', { name: 'Create a repository' }).click()
    await page.getByLabel('Key').fill('npm-local')
    await page.getByLabel('Package type').selectOption('npm')
    await page.getByRole('button', { name: 'Create repository' }).click()
    await page.getByRole('heading', { name: 'npm-local', level: 1 }).waitFor()
    await page.locator('.page-actions').getByRole('link', { name: 'Set Me Up' }).click()
    await page.getByRole('button', { name: 'Create a token and fill it in' }).click()
    await page.getByTestId('new-token').waitFor()

    // The project gets the copied .npmrc; the copied publish line runs in it with the real npm.
    const project = join(work, 'hello-console')
    await mkdir(project)
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'hello-console', version: '1.0.0', description: 'published from Set Me Up' }))
    await writeFile(join(project, 'index.js'), 'module.exports = 42\n')
    const copy = async (id: string) => {
      await page.locator(`[data-snippet=${id}]`).getByRole('button', { name: /^Copy / }).click()
      return page.evaluate<string>('navigator.clipboard.readText()')
    }
    await writeFile(join(project, '.npmrc'), `${await copy('npmrc')}\n`)
    const publish = await copy('npm-publish')
    const env = { ...process.env, npm_config_userconfig: join(work, 'no-user-npmrc'), npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false' }
    await run('bash', ['-euo', 'pipefail', '-c', publish], { cwd: project, env })

    await page.getByRole('link', { name: 'Browse' }).click()
    const tree = page.getByRole('tree')
    await tree.getByRole('treeitem', { name: 'hello-console' }).locator('.tree-label').click()
    await tree.getByRole('treeitem', { name: '-', exact: true }).locator('.tree-label').click()
    await tree.getByRole('treeitem', { name: 'hello-console-1.0.0.tgz' }).click()
    await page.getByRole('heading', { name: 'hello-console-1.0.0.tgz', level: 2 }).waitFor()
    const info = (await (await admin('/artifactory/api/storage/npm-local/hello-console/-/hello-console-1.0.0.tgz')).json()) as { checksums: { sha256: string; sha1: string } }
    expect(await page.locator('[data-checksum=sha256]').textContent()).toBe(info.checksums.sha256)
    expect(await page.locator('[data-checksum=sha1]').textContent()).toBe(info.checksums.sha1)
  })

  it('13. users and tokens: an admin creates a user (a short password is refused next to its field) and revokes a token', async () => {
    await page.getByRole('link', { name: 'Users' }).click()
    await page.getByRole('link', { name: 'Create a user' }).click()
    await page.getByLabel('User name').fill('erin')
    await page.getByLabel('Password').fill('short')
    await page.getByRole('button', { name: 'Create user' }).click()
    await expect.poll(() => page.locator('.field.invalid .field-error').textContent()).toMatch(/at least 8 characters/)
    await page.getByLabel('Password').fill('erin-password-1')
    await page.getByLabel('Email').fill('erin@example.test')
    await page.getByRole('button', { name: 'Create user' }).click()
    await page.getByRole('heading', { name: 'User erin' }).waitFor()
    expect(await (await admin('/artifactory/api/security/users/erin')).json()).toMatchObject({ name: 'erin', email: 'erin@example.test', admin: false, disabled: false })

    await page.getByRole('link', { name: 'Tokens' }).click()
    await page.getByRole('button', { name: 'Revoke Set Me Up: console-local' }).click()
    await page.getByRole('group', { name: /Revoke "Set Me Up: console-local"\?/ }).getByRole('button', { name: 'Yes, revoke' }).click()
    await expect.poll(() => page.getByRole('button', { name: 'Revoke Set Me Up: console-local' }).count()).toBe(0)
    const tokens = (await (await admin('/access/api/v1/tokens')).json()) as { tokens: { description: string }[] }
    expect(tokens.tokens.map((t) => t.description)).not.toContain('Set Me Up: console-local')
  })

  it('14. logs out: back to the login page, and the session token is revoked', async () => {
    const session = (await context.cookies(server.url)).find((c) => c.name === 'trove_session')!.value
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByLabel('User name').waitFor()
    expect((await context.cookies(server.url)).find((c) => c.name === 'trove_session')).toBeUndefined()
    const res = await fetch(`${server.url}/artifactory/api/security/users`, { headers: { authorization: `Bearer ${session}` } })
    expect(res.status).toBe(401)
    expect(browser.pageErrors).toEqual([])
  })
})
