/**
 * The repository form renders the settings a format declares (`GET /api/v1/ui/formats`), one
 * control per type, for the classes each applies to, and sends them in their JSON types; the edit
 * form shows what is stored. The console knows no format: the settings here are declared by a
 * test's Maven (the real one's plus settings), served by a second HTTP app over the same core.
 */
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import type { FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { Format } from '../../../src/formats/format.js'
import { mavenFormat } from '../../../src/formats/maven/index.js'
import { buildHttpApp } from '../../../src/http/app.js'
import { openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, requireClients } from '../../helpers/clients.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js'

const hasBrowser = await requireClients("the console's repository settings test", ['chromium', CONSOLE_BUILD])

const declaringMaven: Format = {
  ...mavenFormat,
  settings: [
    { name: 'signArtifacts', label: 'Sign artifacts', help: 'Sign what is deployed.', kinds: ['local'], type: 'boolean', default: true, schema: z.boolean() },
    { name: 'retainBuilds', label: 'Builds to keep', help: 'How many builds stay.', kinds: ['local'], type: 'number', schema: z.number().int() },
    { name: 'mirrorTags', label: 'Mirror tags', help: 'Labels for mirrors.', kinds: ['local', 'remote'], type: 'string-list', schema: z.array(z.string()) },
    { name: 'checksumMode', label: 'Checksum mode', help: 'What a wrong checksum does.', kinds: ['local'], type: 'enum', values: ['verify', 'ignore'], schema: z.enum(['verify', 'ignore']) },
  ],
}

describe.skipIf(!hasBrowser)('format settings in the repository form', () => {
  let server: TestServer
  let app: FastifyInstance
  let url: string
  let browser: Browser
  let page: Page

  const config = async (key: string) => (await fetch(`${server.url}/artifactory/api/repositories/${key}`, { headers: { authorization: server.adminAuth } })).json()

  beforeAll(async () => {
    server = await startTestServer()
    app = await buildHttpApp(server.trove.services, [declaringMaven], pino({ level: 'silent' }))
    await app.listen({ host: '127.0.0.1', port: 0 })
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    browser = await openBrowser()
    page = browser.page
    await page.goto(`${url}/ui/`)
    await page.getByLabel('User name').fill('admin')
    await page.getByLabel('Password').fill(ADMIN_PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Repositories', level: 1 }).waitFor()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await app?.close()
    await server?.close()
  })

  it('1. a new local repository: one control per setting type, defaults shown, values sent in their types', async () => {
    await page.goto(`${url}/ui/admin/repositories/new`)
    await page.getByRole('group', { name: 'Maven settings' }).waitFor()
    expect(await page.getByLabel('Package type').locator('option').allTextContents()).toEqual(['Maven'])
    expect(await page.getByLabel('Sign artifacts').isChecked()).toBe(true)
    expect(await page.getByLabel('Checksum mode').locator('option').allTextContents()).toEqual(['verify', 'ignore'])
    await page.getByLabel('Key').fill('libs-local')
    await page.getByLabel('Sign artifacts').uncheck()
    await page.getByLabel('Builds to keep').fill('5')
    await page.getByLabel('Mirror tags').fill('eu, us')
    await page.getByLabel('Checksum mode').selectOption('ignore')
    await page.getByRole('button', { name: 'Create repository' }).click()
    await page.getByRole('heading', { name: 'libs-local', level: 1 }).waitFor()
    expect(await config('libs-local')).toMatchObject({ rclass: 'local', packageType: 'maven', signArtifacts: false, retainBuilds: 5, mirrorTags: ['eu', 'us'], checksumMode: 'ignore' })
  })

  it('2. only the settings of the class chosen', async () => {
    await page.goto(`${url}/ui/admin/repositories/new`)
    await page.getByLabel('Class').selectOption('remote')
    await page.getByLabel('Mirror tags').waitFor()
    expect(await page.getByLabel('Sign artifacts').count()).toBe(0)
    expect(await page.getByLabel('Builds to keep').count()).toBe(0)
    await page.getByLabel('Class').selectOption('virtual')
    expect(await page.getByRole('group', { name: 'Maven settings' }).count()).toBe(0)
  })

  it('3. the edit form shows what is stored, and an emptied list is cleared', async () => {
    await page.goto(`${url}/ui/admin/repositories/libs-local`)
    await page.getByRole('heading', { name: 'Edit libs-local' }).waitFor()
    expect(await page.getByLabel('Sign artifacts').isChecked()).toBe(false)
    expect(await page.getByLabel('Builds to keep').inputValue()).toBe('5')
    expect(await page.getByLabel('Mirror tags').inputValue()).toBe('eu, us')
    expect(await page.getByLabel('Checksum mode').inputValue()).toBe('ignore')
    await page.getByLabel('Mirror tags').fill('')
    await page.getByLabel('Builds to keep').fill('7')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByText('Saved libs-local.').waitFor()
    expect(await config('libs-local')).toMatchObject({ signArtifacts: false, retainBuilds: 7, mirrorTags: [], checksumMode: 'ignore' })
    expect(browser.pageErrors).toEqual([])
  })
})
