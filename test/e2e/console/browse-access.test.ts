/**
 * The console's tree in a real browser (Debian's chromium driven by playwright-core) for a user
 * whose read access comes from permission targets (issue #13, items 7 and 8): the root of a
 * repository opens and shows the folders leading to what the target's pattern allows, and a
 * virtual repository shows its readable members' files, merged, with a file's page pointing
 * through the virtual and no properties editor (a virtual's properties are changed in its member).
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../../helpers/server.js'
import { CONSOLE_BUILD, requireClients } from '../../helpers/clients.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const canRun = await requireClients("the console's browse-access tests", ['chromium', CONSOLE_BUILD])

const PASSWORD = 'dana-password-1'
const OTHER_FILE = Buffer.from('in the other member\n')

describe.skipIf(!canRun)('console tree for a permission-target user', () => {
  let server: TestServer
  let context: BrowserContext
  let page: Page
  let profile: string
  const pageErrors: string[] = []

  const admin = async (method: string, path: string, body?: unknown) => {
    const isJson = body !== undefined && typeof body !== 'string'
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: server.adminAuth, ...(isJson ? { 'content-type': 'application/json' } : {}) },
      ...(body === undefined ? {} : { body: isJson ? JSON.stringify(body) : (body as string) }),
    })
    expect(response.status, `${method} ${path}: ${await response.clone().text()}`).toBeLessThan(300)
  }
  const tree = () => page.getByRole('tree')
  const treeNames = async () => (await tree().getByRole('treeitem').locator(':scope > .tree-label').allTextContents()).map((t) => t.replace(/^[▸▾·]/, ''))

  beforeAll(async () => {
    server = await startTestServer()
    await admin('PUT', '/artifactory/api/security/users/dana', { email: 'dana@example.test', password: PASSWORD })
    for (const key of ['team-files', 'other-files']) await admin('PUT', `/artifactory/api/repositories/${key}`, { rclass: 'local', packageType: 'generic' })
    await admin('PUT', '/artifactory/api/repositories/all-files', { rclass: 'virtual', packageType: 'generic', repositories: ['team-files', 'other-files'] })
    await admin('PUT', '/artifactory/team-files/public/a.txt', 'public')
    await admin('PUT', '/artifactory/team-files/private/b.txt', 'private')
    await admin('PUT', '/artifactory/other-files/other/c.txt', OTHER_FILE.toString())
    await admin('PUT', '/artifactory/api/storage/other-files/other/c.txt?properties=team=core')
    await admin('POST', '/artifactory/api/v2/security/permissions/team-public', {
      name: 'team-public',
      repo: { repositories: ['team-files'], 'include-patterns': ['public/**'], actions: { users: { dana: ['read'] } } },
    })
    await admin('POST', '/artifactory/api/v2/security/permissions/all-readers', {
      name: 'all-readers',
      repo: { repositories: ['all-files', 'other-files'], actions: { users: { dana: ['read'] } } },
    })

    profile = await mkdtemp(join(tmpdir(), 'trove-chromium-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
    })
    context.setDefaultTimeout(15_000)
    page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (err) => pageErrors.push(err.message))
  }, 120_000)

  afterAll(async () => {
    await context?.close()
    await server?.close()
    if (profile) await rm(profile, { recursive: true, force: true })
  })

  it('1. dana logs in', async () => {
    await page.goto(`${server.url}/ui/`)
    await page.getByLabel('User name').fill('dana')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Repositories', level: 1 }).waitFor()
    await page.getByRole('link', { name: 'team-files', exact: true }).waitFor()
  })

  it('2. the root of a repository read through a target opens, showing only what the pattern leads to', async () => {
    await page.getByRole('link', { name: 'team-files', exact: true }).click()
    await page.getByRole('heading', { name: 'Repository root', level: 2 }).waitFor()
    await tree().getByRole('treeitem', { name: 'public' }).waitFor()
    expect(await treeNames()).toEqual(['public'])
    expect(await page.locator('.tree-note.error').count()).toBe(0)
    await tree().getByRole('treeitem', { name: 'public' }).locator('.tree-label').click()
    await tree().getByRole('treeitem', { name: 'a.txt' }).waitFor()
  })

  it('3. a virtual repository shows the readable members merged; a file opens through the virtual', async () => {
    await page.goto(`${server.url}/ui/repositories/all-files`)
    await tree().getByRole('treeitem', { name: 'other' }).waitFor()
    expect(await treeNames()).toEqual(['other', 'public'])
    await tree().getByRole('treeitem', { name: 'other' }).locator('.tree-label').click()
    await tree().getByRole('treeitem', { name: 'c.txt' }).click()
    await page.getByRole('heading', { name: 'c.txt', level: 2 }).waitFor()
    expect(new URL(page.url()).pathname).toBe('/ui/repositories/all-files/other/c.txt')
    expect(await page.locator('[data-checksum=sha256]').textContent()).toBe(createHash('sha256').update(OTHER_FILE).digest('hex'))
    const href = await page.getByRole('link', { name: 'Download' }).getAttribute('href')
    expect(href).toBe('/artifactory/all-files/other/c.txt')
    expect(await page.evaluate(async (url) => (await fetch(url)).text(), href!)).toBe(OTHER_FILE.toString())
    expect(pageErrors).toEqual([])
  })

  it("4. a reader's file and a virtual's file show their properties without an editor (no annotate permission; changed in the member)", async () => {
    const addForm = () => page.getByRole('form', { name: 'Add a property' })
    await page.goto(`${server.url}/ui/repositories/team-files/public/a.txt`)
    await page.getByRole('heading', { name: 'a.txt', level: 2 }).waitFor()
    // dana may read, not annotate: the editor is not offered, and the page says what it needs.
    await page.getByTestId('properties-permission-note').waitFor()
    expect(await addForm().count()).toBe(0)
    expect(await page.getByTestId('virtual-properties-note').count()).toBe(0)

    await page.goto(`${server.url}/ui/repositories/all-files/other/c.txt`)
    await page.getByRole('heading', { name: 'c.txt', level: 2 }).waitFor()
    await page.getByTestId('virtual-properties-note').waitFor()
    expect(await page.locator('[data-property=team]').textContent()).toBe('core')
    expect(await addForm().count()).toBe(0)
    expect(await page.getByRole('button', { name: /^(Edit|Delete) / }).count()).toBe(0)
    expect(pageErrors).toEqual([])
  })
})
