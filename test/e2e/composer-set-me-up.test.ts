/**
 * The Composer Set Me Up snippets, run for real: rendered by a live Trove for a local and a
 * virtual repository (`GET /api/v1/ui/repositories/{key}/set-me-up`) with a token the user made,
 * filled in as the console fills it in (`withToken`), written out as a user pastes them
 * (composer.json, auth.json, the shell lines), then run by composer and curl: `composer archive`
 * and the curl upload, then `composer require` in a project whose only repository is Trove. The
 * server is plain http, so the snippet's composer.json turns `secure-http` off (and says so).
 */
import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withToken, type Snippet, type UiSetMeUp } from '../../src/api/formats.js'
import { requireClients } from '../helpers/clients.js'
import { ComposerMachine, type Run } from '../helpers/composer.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser, grant } from './generic-support.js'

const hasClients = await requireClients('the Composer Set Me Up suite', ['composer', 'curl'])
const USER = 'dev'
const PASSWORD = 'dev-password-1'

describe.skipIf(!hasClients)('Composer Set Me Up snippets against a live Trove', () => {
  let server: TestServer
  let admin: Client
  let machine: ComposerMachine
  let token: string

  const snippetsOf = async (key: string): Promise<Record<string, Snippet>> => {
    const rendered = await admin.asUser(USER, PASSWORD).get(`/api/v1/ui/repositories/${key}/set-me-up`)
    expect(rendered.status, rendered.text).toBe(200)
    const { snippets } = rendered.json() as UiSetMeUp
    return Object.fromEntries(snippets.map((s) => [s.id, withToken(s, token)]))
  }
  /** A snippet's lines, each run by the shell as a user pastes it. */
  const runLines = async (text: string, cwd: string): Promise<void> => {
    for (const line of text.split('\n')) {
      const run = await new Promise<Run>((resolve) => {
        const child = spawn('sh', ['-c', line], { cwd, env: machine.env })
        let output = ''
        child.stdout.on('data', (d: Buffer) => (output += d.toString()))
        child.stderr.on('data', (d: Buffer) => (output += d.toString()))
        child.on('close', (code) => resolve({ code: code ?? 1, output }))
      })
      expect(run.code, `${line}\n${run.output}`).toBe(0)
    }
  }

  beforeAll(async () => {
    server = await startTestServer()
    admin = new Client(server.url, server.adminAuth)
    machine = await ComposerMachine.create()
    await createUser(admin, USER, PASSWORD)
    for (const [key, config] of [
      ['php-local', { rclass: 'local' }],
      ['php-virtual', { rclass: 'virtual', repositories: ['php-local'], defaultDeploymentRepo: 'php-local' }],
    ] as const) {
      const created = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'composer', ...config } })
      expect(created.status, created.text).toBe(200)
      await grant(admin, key, USER, ['read', 'annotate', 'deploy'])
    }
    const made = await admin.asUser(USER, PASSWORD).post('/access/api/v1/tokens', { body: { description: 'Set Me Up', expires_in: 86_400 } })
    expect(made.status, made.text).toBe(200)
    token = (made.json() as { access_token: string }).access_token
  })

  afterAll(async () => {
    await machine?.close()
    await server?.close()
  })

  it('deploys with composer archive and curl, then composer require through the composer.json and auth.json snippets', async () => {
    const local = await snippetsOf('php-local')
    expect(Object.keys(local)).toEqual(['composer-json', 'composer-auth', 'composer-require', 'composer-upload'])
    expect(local['composer-json']!.description).toMatch(/secure-http is off/)
    // The package the upload snippet speaks of, as its author has it.
    const pkg = join(machine.root, 'my-package')
    await mkdir(join(pkg, 'src'), { recursive: true })
    await writeFile(join(pkg, 'composer.json'), JSON.stringify({ name: 'my-vendor/my-package', autoload: { 'psr-4': { 'MyVendor\\': 'src/' } } }))
    await writeFile(join(pkg, 'src', 'Hello.php'), "<?php\nnamespace MyVendor;\nclass Hello { public static function say(): string { return 'hello from Set Me Up'; } }\n")
    await runLines(local['composer-upload']!.text, pkg)
    expect((await admin.get('/artifactory/api/storage/php-local/my-vendor/my-package/1.0.0/my-package-1.0.0.zip')).status).toBe(200)

    // A project through the virtual: its snippets' files, as pasted, and its require line.
    const virtual = await snippetsOf('php-virtual')
    const project = await machine.project('project', { 'composer.json': virtual['composer-json']!.text, 'auth.json': virtual['composer-auth']!.text })
    await runLines(virtual['composer-require']!.text, project)
    const said = await new Promise<string>((resolve) => {
      const child = spawn('php', ['-r', "require 'vendor/autoload.php'; echo \\MyVendor\\Hello::say();"], { cwd: project, env: machine.env })
      let output = ''
      child.stdout.on('data', (d: Buffer) => (output += d.toString()))
      child.on('close', () => resolve(output))
    })
    expect(said).toBe('hello from Set Me Up')
  })
})
