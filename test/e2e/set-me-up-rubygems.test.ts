/**
 * The RubyGems Set Me Up snippets, as the console renders them with a token the user made, pasted
 * on a machine with an empty HOME and run with the real gem, bundler and curl: the key file and
 * gem push, then gem install through the pasted .gemrc, then bundle install with the pasted
 * Gemfile and bundler's credentials.
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withToken, type Snippet, type UiSetMeUp } from '../../src/api/formats.js'
import { requireClients } from '../helpers/clients.js'
import { GemHome } from '../helpers/rubygems.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser, grant } from './generic-support.js'

const hasClients = await requireClients('the RubyGems Set Me Up suite', ['gem', 'bundle', 'curl'])
const USER = 'dev'
const PASSWORD = 'dev-password-1'

describe.skipIf(!hasClients)('RubyGems Set Me Up snippets against a live Trove', () => {
  let server: TestServer
  let admin: Client
  let token: string
  let work: string
  let builder: GemHome

  const snippetsOf = async (key: string): Promise<Record<string, Snippet>> => {
    const rendered = await admin.asUser(USER, PASSWORD).get(`/api/v1/ui/repositories/${key}/set-me-up`)
    expect(rendered.status, rendered.text).toBe(200)
    return Object.fromEntries((rendered.json() as UiSetMeUp).snippets.map((s) => [s.id, withToken(s, token)]))
  }
  const run = (text: string, cwd: string, env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number; output: string }>((resolve, reject) => {
      const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', text], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c))
      child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c))
      child.on('error', reject)
      child.on('close', (code) => resolve({ code: code ?? -1, output: `$ ${text}\n${output}` }))
    })

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'trove-set-me-up-gems-'))
    server = await startTestServer()
    admin = new Client(server.url, server.adminAuth)
    await createUser(admin, USER, PASSWORD)
    for (const [key, config] of [
      ['gems-local', { rclass: 'local' }],
      ['gems', { rclass: 'virtual', repositories: ['gems-local'], defaultDeploymentRepo: 'gems-local' }],
    ] as const) {
      const created = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'gems', ...config } })
      expect(created.status, created.text).toBe(200)
      await grant(admin, key, USER, ['read', 'deploy', 'delete'])
    }
    const made = await admin.asUser(USER, PASSWORD).post('/access/api/v1/tokens', { body: { description: 'Set Me Up', expires_in: 86_400 } })
    expect(made.status, made.text).toBe(200)
    token = (made.json() as { access_token: string }).access_token
    builder = await GemHome.create()
  })

  afterAll(async () => {
    await builder?.remove()
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('gem push with the key file, gem install through .gemrc, bundle install through the Gemfile (virtual)', async () => {
    const local = await snippetsOf('gems-local')
    const virtual = await snippetsOf('gems')
    const home = join(work, 'home')
    await mkdir(home, { recursive: true })
    const env = { PATH: process.env.PATH, HOME: home, GEM_HOME: join(work, 'gem-home'), GEM_PATH: join(work, 'gem-home'), GEM_SPEC_CACHE: join(work, 'specs'), LANG: 'C.UTF-8', BUNDLE_PATH: join(work, 'bundle') }
    const built = await builder.build('my_gem', '0.1.0', 'pushed with Set Me Up')
    const folder = join(work, 'pkg')
    await mkdir(folder)
    await writeFile(join(folder, 'my_gem-0.1.0.gem'), built.bytes)
    const pushed = await run(local['gem-push']!.text, folder, env)
    expect(pushed.code, pushed.output).toBe(0)
    expect(pushed.output).toContain('Successfully registered gem: my_gem (0.1.0)')

    await writeFile(join(home, '.gemrc'), `${local.gemrc!.text}\n`)
    const installed = await run('gem install my_gem --no-document', work, env)
    expect(installed.code, installed.output).toBe(0)
    expect((await run('ruby -e \'require "my_gem"; print MyGem::VALUE\'', work, env)).output).toContain('pushed with Set Me Up')

    const project = join(work, 'project')
    await mkdir(project)
    await writeFile(join(project, 'Gemfile'), `${virtual.gemfile!.text.replace('gem "my_gem"', 'gem "my_gem", "0.1.0"')}\n`)
    expect((await run(virtual['bundle-config']!.text, project, env)).code).toBe(0)
    const bundled = await run('bundle install', project, env)
    expect(bundled.code, bundled.output).toBe(0)
    const value = await run('bundle exec ruby -e \'require "my_gem"; print MyGem::VALUE\'', project, env)
    expect(value.output).toContain('pushed with Set Me Up')
  })
})
