/**
 * The Go Set Me Up snippets, run for real, in the manner of set-me-up.test.ts: rendered by a live
 * Trove for a local Go repository (its format's `setMeUp`), a token filled in as the console fills
 * it in, then written out and run as a user would: `~/.netrc`, the `go env -w` lines, the publish
 * lines (git archive and curl) in a module's git folder, and the one-off `go get`. go sends
 * credentials to https only, so Trove is reached through an HTTPS front and runs with that front
 * as its base URL, as it would behind a TLS proxy; go is told to trust the front's certificate
 * through the environment (SSL_CERT_FILE), never by editing a snippet.
 */
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withToken, type Snippet, type UiSetMeUp } from '../../src/api/formats.js'
import { requireClients } from '../helpers/clients.js'
import { GoMachine, appProject, libraryFiles, runProgram } from '../helpers/go.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { startTlsFront, type TlsFront } from '../helpers/tls-front.js'
import { Client, createUser, grant } from './generic-support.js'

const hasClients = await requireClients('the Go Set Me Up suite', ['go', 'curl'])

const USER = 'dev'
const PASSWORD = 'dev-password-1'
/** The module the snippets name (`example.com/mycompany/mymodule`, under GONOSUMDB's example pattern). */
const MODULE = 'example.com/mycompany/mymodule'

describe.skipIf(!hasClients)('Go Set Me Up snippets against a live Trove', () => {
  let server: TestServer | undefined
  let front: TlsFront
  let admin: Client
  let machine: GoMachine
  let token: string

  const snippetsOf = async (key: string): Promise<Record<string, Snippet>> => {
    const rendered = await admin.asUser(USER, PASSWORD).get(`/api/v1/ui/repositories/${key}/set-me-up`)
    expect(rendered.status, rendered.text).toBe(200)
    const { snippets } = rendered.json() as UiSetMeUp
    return Object.fromEntries(snippets.map((s) => [s.id, withToken(s, token)]))
  }
  /** Runs a snippet's text with bash in `cwd`, on the machine, go trusting the front. */
  const run = (text: string, cwd: string) =>
    new Promise<{ code: number; output: string }>((resolve, reject) => {
      const child = spawn('bash', ['-euo', 'pipefail', '-c', text], { cwd, env: { ...machine.env, SSL_CERT_FILE: front.certFile, GIT_AUTHOR_NAME: 'dev', GIT_AUTHOR_EMAIL: 'dev@example.test', GIT_COMMITTER_NAME: 'dev', GIT_COMMITTER_EMAIL: 'dev@example.test' } })
      let output = ''
      child.stdout.on('data', (c: Buffer) => (output += c.toString()))
      child.stderr.on('data', (c: Buffer) => (output += c.toString()))
      child.on('error', reject)
      child.on('close', (code) => resolve({ code: code ?? -1, output }))
    })

  beforeAll(async () => {
    front = await startTlsFront(() => server!.url)
    server = await startTestServer({ settings: { baseUrl: front.url } })
    admin = new Client(server.url, server.adminAuth)
    await createUser(admin, USER, PASSWORD)
    expect((await admin.put('/artifactory/api/repositories/go-local', { body: { key: 'go-local', rclass: 'local', packageType: 'go' } })).status).toBe(200)
    await grant(admin, 'go-local', USER, ['read', 'deploy'])
    const made = await admin.asUser(USER, PASSWORD).post('/access/api/v1/tokens', { body: { description: 'set me up' } })
    expect(made.status, made.text).toBe(200)
    token = made.json().access_token
    machine = await GoMachine.create('set-me-up')
  })

  afterAll(async () => {
    await machine?.close()
    await server?.close()
    await front?.close()
  })

  it('.netrc and go env, the publish lines in a git folder, then the one-off go get and a build', async () => {
    const snippets = await snippetsOf('go-local')
    expect(Object.keys(snippets).sort()).toEqual(['go-env', 'go-get', 'go-publish', 'netrc'])
    await writeFile(join(machine.home, snippets.netrc!.file!), `${snippets.netrc!.text}\n`, { mode: 0o600 })
    const env = await run(snippets['go-env']!.text, machine.home)
    expect(env.code, env.output).toBe(0)

    // 1. The module's git folder, at the commit to publish.
    const files = libraryFiles(MODULE, 'published by the snippet')
    const module = await machine.folder('mymodule', files)
    const git = await run('git init -q && git add . && git commit -qm v1', module)
    expect(git.code, git.output).toBe(0)
    const publish = await run(snippets['go-publish']!.text, module)
    expect(publish.code, publish.output).toBe(0)
    expect((await admin.get(`/artifactory/api/go/go-local/${MODULE}/@v/list`)).text).toBe('v1.0.0\n')

    // 2. go, configured by go env -w alone, downloads and builds.
    const app = await machine.folder('app', appProject({ [MODULE]: 'v1.0.0' }, { mymodule: MODULE }))
    const build = await run('go build -o app .', app)
    expect(build.code, build.output).toBe(0)
    expect(await runProgram(join(app, 'app'))).toBe('published by the snippet\n')

    // 3. The one-off go get, as written, in a fresh module.
    await machine.clearModuleCache()
    const other = await machine.folder('other', { 'go.mod': 'module example.com/other\n\ngo 1.19\n' })
    const get = await run(snippets['go-get']!.text, other)
    expect(get.code, get.output).toBe(0)
    expect(get.output).toMatch(/added example\.com\/mycompany\/mymodule v1\.0\.0/)
  })
})
