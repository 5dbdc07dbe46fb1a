/**
 * Cargo's Set Me Up snippets, run for real: rendered by a live Trove for a user (as the console
 * shows them), the token filled in as the console fills it in, `.cargo/config.toml` and
 * `.cargo/credentials.toml` pasted into a fresh HOME, then the publish/yank lines and a project
 * with the dependency snippet run by the real cargo. A local repository's snippets leave Cargo's
 * default source alone: a `.cargo/config.toml` above the projects (not the snippet) points it
 * nowhere, so that nothing reaches the public registry; a virtual repository's snippets replace
 * it themselves.
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withToken, type Snippet, type UiSetMeUp } from '../../../src/api/formats.js'
import { apiClient, createUser, type ApiCall } from '../../e2e/admin-http.js'
import { proxySettings } from '../../helpers/cargo.js'
import { requireClients } from '../../helpers/clients.js'
import { startTestServer, type TestServer } from '../../helpers/server.js'

const hasCargo = await requireClients('the cargo Set Me Up suite', ['cargo'])

describe.skipIf(!hasCargo)('Cargo Set Me Up snippets against a live Trove', () => {
  let server: TestServer
  let call: ApiCall
  let dev: string
  let token: string
  let work: string

  const snippetsOf = async (key: string): Promise<Record<string, Snippet>> => {
    const rendered = await call('GET', `/api/v1/ui/repositories/${key}/set-me-up`, { auth: dev })
    expect(rendered.status).toBe(200)
    const { snippets } = (await rendered.json()) as UiSetMeUp
    return Object.fromEntries(snippets.map((s) => [s.id, withToken(s, token)]))
  }

  /** A machine with an empty HOME holding the pasted snippets; runs bash lines as pasted. */
  const machine = async (name: string, snippets: Record<string, Snippet>) => {
    const root = join(work, name)
    const home = join(root, 'home')
    for (const id of ['cargo-config', 'cargo-credentials']) {
      const file = join(home, snippets[id]!.file!)
      await mkdir(join(file, '..'), { recursive: true })
      await writeFile(file, `${snippets[id]!.text}\n`)
    }
    const env = { ...proxySettings(), PATH: process.env.PATH, HOME: home, RUSTUP_HOME: process.env.RUSTUP_HOME ?? join(homedir(), '.rustup'), CARGO_TERM_COLOR: 'never' }
    return {
      root,
      async crate(dir: string, files: Record<string, string>): Promise<string> {
        const path = join(root, dir)
        for (const [file, text] of Object.entries(files)) {
          await mkdir(join(path, file, '..'), { recursive: true })
          await writeFile(join(path, file), text)
        }
        return path
      },
      run(text: string, cwd: string): Promise<{ code: number; output: string }> {
        return new Promise((resolve) => {
          const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', text], { cwd, env })
          let output = ''
          child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c))
          child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c))
          child.on('close', (code) => resolve({ code: code ?? -1, output: `$ ${text}\n${output}` }))
        })
      },
    }
  }
  const myCrate = (version: string) => ({
    'Cargo.toml': `[package]\nname = "my-crate"\nversion = "${version}"\nedition = "2021"\ndescription = "mine"\nlicense = "MIT"\n`,
    'src/lib.rs': 'pub fn hello() -> &\'static str { "hello through set me up" }\n',
  })
  const app = (dependencies: string) => ({
    'Cargo.toml': `[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n${dependencies}\n`,
    'src/main.rs': 'fn main() { println!("{}", my_crate::hello()); }\n',
  })

  beforeAll(async () => {
    server = await startTestServer({ settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    call = apiClient(server)
    work = await mkdtemp(join(tmpdir(), 'trove-cargo-smu-'))
    dev = await createUser(call, 'dev')
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'team' } })).status).toBe(201)
    expect((await call('PUT', '/access/api/v1/projects/team/users/dev', { json: { roles: ['Developer'] } })).status).toBe(200)
    for (const [key, config] of [
      ['team-crates', { rclass: 'local' }],
      ['team-upstream', { rclass: 'local', anonymousRead: true }],
      ['team-mirror', { rclass: 'remote', url: `${server.url}/artifactory/api/cargo/team-upstream/index/` }],
      ['team-all', { rclass: 'virtual', repositories: ['team-crates', 'team-mirror'], defaultDeploymentRepo: 'team-crates' }],
    ] as const) {
      const res = await call('PUT', `/artifactory/api/repositories/${key}`, { json: { key, packageType: 'cargo', ...config } })
      expect(res.status, await res.clone().text()).toBe(200)
    }
    token = ((await (await call('POST', '/access/api/v1/tokens', { auth: dev, json: {} })).json()) as { access_token: string }).access_token
  })

  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('local: the publish and yank lines run as shown; a project with the dependency snippet builds', async () => {
    const snippets = await snippetsOf('team-crates')
    const pc = await machine('local', snippets)
    // Above the projects, not in a snippet: Cargo's default source leads nowhere on this machine.
    await pc.crate('.cargo', { 'config.toml': '[source.crates-io]\nreplace-with = "nowhere"\n\n[source.nowhere]\nregistry = "sparse+http://127.0.0.1:9/nowhere/"\n' })
    const published = await pc.run(snippets['cargo-publish']!.text, await pc.crate('my-crate', myCrate('0.1.0')))
    expect(published.code, published.output).toBe(0)
    const dependency = snippets['cargo-dependency']!.text
    const built = await pc.run('cargo run --quiet', await pc.crate('app', app(dependency)))
    expect(built.code, built.output).toBe(0)
    expect(built.output).toContain('hello through set me up')
  }, 600_000)

  it('virtual: publish lands in the deployment repository; the default source comes through Trove', async () => {
    const snippets = await snippetsOf('team-all')
    expect(snippets['cargo-config']!.text).toContain('replace-with = "trove"')
    const pc = await machine('virtual', snippets)
    const published = await pc.run('cargo publish --registry trove', await pc.crate('my-crate', myCrate('0.2.0')))
    expect(published.code, published.output).toBe(0)
    expect((await call('GET', '/artifactory/api/storage/team-crates/my-crate/my-crate-0.2.0.crate')).status).toBe(200)
    // A plain dependency of the default source, as a project that never named Trove has it.
    const built = await pc.run('cargo run --quiet', await pc.crate('app', app('[dependencies]\nmy-crate = "0.2"')))
    expect(built.code, built.output).toBe(0)
    expect(built.output).toContain('hello through set me up')
  }, 600_000)
})
