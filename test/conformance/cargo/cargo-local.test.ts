/**
 * The real cargo against a local Cargo repository: publish, fetch and build a project that depends
 * on what was published, yank and unyank; the index files and config.json as cargo reads them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiClient, createUser, type ApiCall } from '../../e2e/admin-http.js'
import { CargoSandbox, cargoIndexUrl } from '../../helpers/cargo.js'
import { requireClients } from '../../helpers/clients.js'
import { metadataBackends } from '../../helpers/postgres.js'
import { startTestServer, type TestServer } from '../../helpers/server.js'

const hasCargo = await requireClients('the cargo conformance suite', ['cargo'])
const backends = await metadataBackends()

describe.skipIf(!hasCargo).each(backends)('cargo against a local repository (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall
  let token: string
  let cargo: CargoSandbox

  beforeAll(async () => {
    server = await startTestServer({ backend })
    call = apiClient(server)
    const dev = await createUser(call, 'dev')
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'acme' } })).status).toBe(201)
    expect((await call('PUT', '/access/api/v1/projects/acme/users/dev', { json: { roles: ['Developer'] } })).status).toBe(200)
    expect((await call('PUT', '/artifactory/api/repositories/acme-crates', { json: { rclass: 'local', packageType: 'cargo' } })).status).toBe(200)
    const created = await call('POST', '/access/api/v1/tokens', { auth: dev, json: {} })
    expect(created.status, await created.clone().text()).toBe(200)
    token = ((await created.json()) as { access_token: string }).access_token
    const registry = { name: 'trove', indexUrl: cargoIndexUrl(server.url, 'acme-crates'), token }
    cargo = await CargoSandbox.create([registry], registry)
  })

  afterAll(async () => {
    await cargo?.close()
    await server?.close()
  })

  it('serves config.json with dl, api and auth-required, and 401 to anonymous callers', async () => {
    const anonymous = await call('GET', '/artifactory/api/cargo/acme-crates/index/config.json', { auth: null })
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toEqual({ errors: [{ detail: expect.any(String) }] })
    const config = await call('GET', '/artifactory/api/cargo/acme-crates/index/config.json', { headers: { authorization: token }, auth: null })
    expect(config.status).toBe(200)
    expect(await config.json()).toEqual({
      dl: `${server.url}/artifactory/api/cargo/acme-crates/api/v1/crates`,
      api: `${server.url}/artifactory/api/cargo/acme-crates`,
      'auth-required': true,
    })
  })

  it('cargo publish, then a project depending on the crate fetches and builds', async () => {
    const lib = await cargo.writeCrate('trove-greeting', '0.1.0', { body: 'pub fn greet() -> &\'static str { "hello from trove" }\n' })
    const published = await cargo.run(['publish', '--registry', 'trove', '--no-verify', '--allow-dirty'], lib)
    expect(published.code, published.stderr).toBe(0)

    const index = await call('GET', '/artifactory/api/cargo/acme-crates/index/tr/ov/trove-greeting', { headers: { authorization: token }, auth: null })
    expect(index.status).toBe(200)
    const lines = (await index.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ name: 'trove-greeting', vers: '0.1.0', yanked: false, deps: [] })
    const download = await call('GET', '/artifactory/api/cargo/acme-crates/api/v1/crates/trove-greeting/0.1.0/download', { headers: { authorization: token }, auth: null })
    expect(download.status).toBe(200)
    expect(download.headers.get('x-checksum-sha256')).toBe(lines[0]!.cksum)

    const app = await cargo.writeApp('app', [{ name: 'trove-greeting', version: '0.1', registry: 'trove' }], 'fn main() { println!("{}", trove_greeting::greet()); }\n')
    const built = await cargo.run(['run', '--quiet'], app)
    expect(built.code, built.stderr).toBe(0)
    expect(built.stdout.trim()).toBe('hello from trove')
  })

  it('cargo search finds crates by part of their name, with their newest version and description', async () => {
    const lib = await cargo.writeCrate('trove-greeting', '0.2.0', { dir: 'greeting-next' })
    expect((await cargo.run(['publish', '--registry', 'trove', '--no-verify', '--allow-dirty'], lib)).code).toBe(0)
    const found = await cargo.run(['search', '--registry', 'trove', 'greeting'], lib)
    expect(found.code, found.stderr).toBe(0)
    expect(found.stdout).toMatch(/^trove-greeting = "0\.2\.0"\s+# trove-greeting, a test crate$/m)
    const none = await cargo.run(['search', '--registry', 'trove', 'no-such-thing'], lib)
    expect(none.code, none.stderr).toBe(0)
    expect(none.stdout.trim()).toBe('')
  })

  it('cargo yank takes a version out of resolution; --undo puts it back', async () => {
    const lib = await cargo.writeCrate('yankable', '1.0.0')
    expect((await cargo.run(['publish', '--registry', 'trove', '--no-verify', '--allow-dirty'], lib)).code).toBe(0)
    const yank = await cargo.run(['yank', '--registry', 'trove', 'yankable@1.0.0'], lib)
    expect(yank.code, yank.stderr).toBe(0)
    const index = async () =>
      JSON.parse((await (await call('GET', '/artifactory/api/cargo/acme-crates/index/ya/nk/yankable', { headers: { authorization: token }, auth: null })).text()).trim()) as { yanked: boolean }
    expect((await index()).yanked).toBe(true)
    const app = await cargo.writeApp('app-yanked', [{ name: 'yankable', version: '1', registry: 'trove' }], 'fn main() { println!("{}", yankable::yankable()); }\n')
    const refused = await cargo.run(['fetch'], app)
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/yanked|failed to select a version/)
    expect((await cargo.run(['yank', '--registry', 'trove', '--undo', 'yankable@1.0.0'], lib)).code).toBe(0)
    expect((await index()).yanked).toBe(false)
    const fetched = await cargo.run(['fetch'], app)
    expect(fetched.code, fetched.stderr).toBe(0)
  })

  it('takes the token raw (as cargo sends it) or as Bearer; refuses a bad one with the reason', async () => {
    const path = '/artifactory/api/cargo/acme-crates/index/config.json'
    expect((await call('GET', path, { headers: { authorization: `Bearer ${token}` }, auth: null })).status).toBe(200)
    const bad = await call('GET', path, { headers: { authorization: `${token}x` }, auth: null })
    expect(bad.status).toBe(401)
    expect(((await bad.json()) as { errors: { detail: string }[] }).errors[0]!.detail).toBeTruthy()
  })

  it('cargo owner: lists who published the crate; changes are refused, saying owners are Trove permissions', async () => {
    const lib = await cargo.writeCrate('owned', '0.1.0')
    expect((await cargo.run(['publish', '--registry', 'trove', '--no-verify', '--allow-dirty'], lib)).code).toBe(0)
    const list = await cargo.run(['owner', '--registry', 'trove', '--list', 'owned'], lib)
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toContain('dev')
    const add = await cargo.run(['owner', '--registry', 'trove', '--add', 'someone', 'owned'], lib)
    expect(add.code).not.toBe(0)
    expect(add.stderr).toContain('crate owners are Trove permissions')
  })

  it('deleting a version\'s .crate (REST) takes it out of the index', async () => {
    const cargoCall = (path: string) => call('GET', path, { headers: { authorization: token }, auth: null })
    for (const version of ['1.0.0', '1.1.0']) {
      expect((await cargo.run(['publish', '--registry', 'trove', '--no-verify', '--allow-dirty'], await cargo.writeCrate('short-lived', version))).code).toBe(0)
    }
    const versions = async () =>
      (await (await cargoCall('/artifactory/api/cargo/acme-crates/index/sh/or/short-lived')).text()).trim().split('\n').map((l) => (JSON.parse(l) as { vers: string }).vers)
    expect(await versions()).toEqual(['1.0.0', '1.1.0']) // read (and kept) before the delete
    expect((await call('DELETE', '/artifactory/acme-crates/short-lived/short-lived-1.1.0.crate')).status).toBe(204)
    expect(await versions()).toEqual(['1.0.0'])
    expect((await cargoCall('/artifactory/api/cargo/acme-crates/api/v1/crates/short-lived/1.1.0/download')).status).toBe(404)
  })

  it('a crate named index lives beside the sparse index: published, listed and downloaded', async () => {
    const lib = await cargo.writeCrate('index', '1.0.0')
    expect((await cargo.run(['publish', '--registry', 'trove', '--no-verify', '--allow-dirty'], lib)).code).toBe(0)
    const app = await cargo.writeApp('index-app', [{ name: 'index', version: '1', registry: 'trove' }], 'fn main() { println!("{}", index::index()); }\n')
    const built = await cargo.run(['run', '--quiet'], app)
    expect(built.code, built.stderr).toBe(0)
    expect(built.stdout.trim()).toBe('index 1.0.0')
  })
})
