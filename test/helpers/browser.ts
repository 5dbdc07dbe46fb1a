import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { clientCommand } from './clients.js'

/** Debian's chromium, headless, in a fresh profile: one page and the script errors it reports. */
export interface Browser {
  readonly context: BrowserContext
  readonly page: Page
  /** Script errors, Content-Security-Policy violations and unexpected dialogs, as they came. */
  readonly pageErrors: readonly string[]
  close(): Promise<void>
}

export async function openBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'trove-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: clientCommand('chromium'),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  })
  context.setDefaultTimeout(15_000)
  const page = context.pages()[0] ?? (await context.newPage())
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(err.message))
  // Failed calls are the tests' business; anything else the console logs as an error is not.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text())
  })
  page.on('dialog', (dialog) => {
    pageErrors.push(`unexpected dialog: ${dialog.message()}`)
    void dialog.dismiss()
  })
  return {
    context,
    page,
    pageErrors,
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

/** Logs in on the console's login page at `baseUrl` and waits for the repositories page. */
export async function consoleLogin(page: Page, baseUrl: string, user: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/ui/`)
  await page.getByLabel('User name').fill(user)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByRole('heading', { name: 'Repositories', level: 1 }).waitFor()
}

/** Logs out with the header's button and waits for the login page. */
export async function consoleLogout(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Log out' }).click()
  await page.getByLabel('User name').waitFor()
}
