/**
 * What a Cargo repository refuses, with cargo's own error shape (`{"errors":[{"detail"}]}`, which
 * cargo prints) and nothing stored: broken archives, a crate that is not what the request says,
 * path tricks inside the archive, a second publish of a version, another project's member, a full
 * quota, read-only mode.
 */
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiClient, createUser, type ApiCall } from '../../e2e/admin-http.js'
import { CargoSandbox, cargoIndexUrl } from '../../helpers/cargo.js'
import { requireClients } from '../../helpers/clients.js'
import { crateOf, publishBody, publishJson } from '../../helpers/crates.js'
import { metadataBackends } from '../../helpers/postgres.js'
import { startTestServer, type TestServer } from '../../helpers/server.js'

const hasCargo = await requireClients('the cargo refusals suite', ['cargo'])
const backends = await metadataBackends()
const PUBLISH = ['publish', '--no-verify', '--allow-dirty', '--registry', 'trove']

describe.skipIf(!hasCargo).each(backends)('what a Cargo repository refuses (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall
  let devToken: string
  let strangerToken: string
  const sandboxes: CargoSandbox[] = []

  const tokenFor = async (auth: string) => ((await (await call('POST', '/access/api/v1/tokens', { auth, json: {} })).json()) as { access_token: string }).access_token
  const sandbox = async (repo: string, token: string) => {
    const registry = { name: 'trove', indexUrl: cargoIndexUrl(server.url, repo), token }
    const created = await CargoSandbox.create([registry], registry)
    sandboxes.push(created)
    return created
  }
  const publishRaw = (repo: string, body: Buffer, token = devToken) =>
    fetch(`${server.url}/artifactory/api/cargo/${repo}/api/v1/crates/new`, { method: 'PUT', headers: { authorization: token }, body })
  const expectCargoError = async (response: Response, status: number, detail: RegExp) => {
    const text = await response.text()
    expect(response.status, text).toBe(status)
    const body = JSON.parse(text) as { errors: { detail: string }[] }
    expect(body.errors).toHaveLength(1)
    expect(body.errors[0]!.detail).toMatch(detail)
  }
  /** Neither an index file nor any file of the crate. */
  const expectNothingStored = async (repo: string, name: string, indexFile: string) => {
    expect((await call('GET', `/artifactory/api/cargo/${repo}/index/${indexFile}`)).status).toBe(404)
    expect((await call('GET', `/artifactory/api/storage/${repo}/${name}`)).status).toBe(404)
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    call = apiClient(server)
    const dev = await createUser(call, 'dev')
    const stranger = await createUser(call, 'stranger')
    for (const [project, quota] of [['acme', undefined], ['other', undefined], ['tiny', 32 * 1024]] as const) {
      expect((await call('POST', '/access/api/v1/projects', { json: { project_key: project, ...(quota ? { storage_quota_bytes: quota } : {}) } })).status).toBe(201)
      expect((await call('PUT', `/access/api/v1/projects/${project}/users/${project === 'other' ? 'stranger' : 'dev'}`, { json: { roles: ['Developer'] } })).status).toBe(200)
      expect((await call('PUT', `/artifactory/api/repositories/${project}-crates`, { json: { rclass: 'local', packageType: 'cargo' } })).status).toBe(200)
    }
    devToken = await tokenFor(dev)
    strangerToken = await tokenFor(stranger)
  })

  afterAll(async () => {
    for (const s of sandboxes) await s.close()
    await server?.close()
  })

  it('a body that is no gzip tar: 400, nothing stored', async () => {
    await expectCargoError(await publishRaw('acme-crates', publishBody(publishJson('broken', '1.0.0'), Buffer.from('this is not a crate'))), 400, /not a valid \.crate/)
    await expectNothingStored('acme-crates', 'broken', 'br/ok/broken')
  })

  it('a crate whose Cargo.toml names another version or package, or whose folder is another: 400, nothing stored', async () => {
    await expectCargoError(await publishRaw('acme-crates', publishBody(publishJson('liar', '1.0.0'), crateOf('liar', '2.0.0', { root: 'liar-1.0.0' }))), 400, /Cargo\.toml is for liar 2\.0\.0/)
    await expectCargoError(await publishRaw('acme-crates', publishBody(publishJson('liar', '1.0.0'), crateOf('other', '1.0.0', { root: 'liar-1.0.0' }))), 400, /Cargo\.toml is for other 1\.0\.0/)
    await expectCargoError(await publishRaw('acme-crates', publishBody(publishJson('liar', '1.0.0'), crateOf('liar', '1.0.0', { root: 'elsewhere' }))), 400, /under 'elsewhere\/'/)
    await expectNothingStored('acme-crates', 'liar', 'li/ar/liar')
  })

  it('path tricks inside the archive (.., absolute, outside the folder, links): 400, nothing stored', async () => {
    const cases = [
      [{ path: 'tricky-1.0.0/../../escape', body: 'x' }, /leaves the archive/],
      [{ path: '/etc/passwd', body: 'x' }, /absolute path/],
      [{ path: 'elsewhere/file', body: 'x' }, /outside the crate's folder/],
      [{ path: 'tricky-1.0.0/link', type: '2' as const, linkpath: '/etc/passwd' }, /SymbolicLink/],
      [{ path: 'tricky-1.0.0/hard', type: '1' as const, linkpath: 'tricky-1.0.0/Cargo.toml' }, /Link/],
    ] as const
    for (const [entry, detail] of cases) {
      await expectCargoError(await publishRaw('acme-crates', publishBody(publishJson('tricky', '1.0.0'), crateOf('tricky', '1.0.0', { extra: [entry] }))), 400, detail)
    }
    await expectNothingStored('acme-crates', 'tricky', 'tr/ic/tricky')
  })

  it('a body cut short, or longer than it says, or without a token: refused, nothing stored', async () => {
    const body = publishBody(publishJson('short', '1.0.0'), crateOf('short', '1.0.0'))
    await expectCargoError(await publishRaw('acme-crates', body.subarray(0, body.length - 10)), 400, /ended inside the crate/)
    await expectCargoError(await publishRaw('acme-crates', Buffer.concat([body, Buffer.from('more')])), 400, /goes on after the crate/)
    const anonymous = await fetch(`${server.url}/artifactory/api/cargo/acme-crates/api/v1/crates/new`, { method: 'PUT', body })
    await expectCargoError(anonymous, 401, /./)
    await expectNothingStored('acme-crates', 'short', 'sh/or/short')
  })

  it('a plain deploy of a .crate (no index line to give it): refused, nothing stored', async () => {
    const response = await call('PUT', '/artifactory/acme-crates/plain/plain-1.0.0.crate', { body: crateOf('plain', '1.0.0') })
    expect(response.status).toBe(400)
    expect(await response.text()).toMatch(/publish crates with cargo publish/)
    await expectNothingStored('acme-crates', 'plain', 'pl/ai/plain')
  })

  it('cargo publish of a version already published (also with other build metadata): refused, the first stays', async () => {
    const cargo = await sandbox('acme-crates', devToken)
    const dir = await cargo.writeCrate('once', '1.0.0')
    expect((await cargo.run(PUBLISH, dir)).code).toBe(0)
    const again = await cargo.run(PUBLISH, dir)
    expect(again.code).not.toBe(0)
    expect(again.stderr).toMatch(/already|exists/)
    await expectCargoError(await publishRaw('acme-crates', publishBody(publishJson('once', '1.0.0+other'), crateOf('once', '1.0.0+other'))), 409, /already in 'acme-crates'/)
    const index = await call('GET', '/artifactory/api/cargo/acme-crates/index/on/ce/once')
    expect((await index.text()).trim().split('\n')).toHaveLength(1)
  })

  it("another project's member: cargo publish is refused with the reason, nothing stored", async () => {
    const cargo = await sandbox('acme-crates', strangerToken)
    const refused = await cargo.run(PUBLISH, await cargo.writeCrate('intruder', '1.0.0'))
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/403/)
    await expectNothingStored('acme-crates', 'intruder', 'in/tr/intruder')
    // Nor may they read it: cargo fetch of a crate of the project fails on the index.
    const app = await cargo.writeApp('intruder-app', [{ name: 'once', version: '1', registry: 'trove' }], 'fn main() {}\n')
    const fetched = await cargo.run(['fetch'], app)
    expect(fetched.code).not.toBe(0)
    expect(fetched.stderr).toMatch(/403/)
  })

  it('a project over its quota: cargo publish is refused (413), nothing stored', async () => {
    const cargo = await sandbox('tiny-crates', devToken)
    const dir = await cargo.writeCrate('bulky', '1.0.0')
    await writeFile(join(dir, 'src', 'data.bin'), randomBytes(64 * 1024))
    const refused = await cargo.run(PUBLISH, dir)
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/413/)
    await expectNothingStored('tiny-crates', 'bulky', 'bu/lk/bulky')
  })

  it('read-only mode: cargo publish and yank get 503 with the message; cargo fetch still works', async () => {
    const cargo = await sandbox('acme-crates', devToken)
    const dir = await cargo.writeCrate('frozen', '1.0.0')
    expect((await cargo.run(PUBLISH, dir)).code).toBe(0)
    expect((await call('PUT', '/api/v1/system/read-only', { json: { enabled: true, message: 'maintenance until noon' } })).status).toBe(200)
    try {
      const refused = await cargo.run(PUBLISH, await cargo.writeCrate('frozen', '1.1.0', { dir: 'frozen-next' }))
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toMatch(/503[\s\S]*maintenance until noon/)
      const yank = await cargo.run(['yank', '--registry', 'trove', 'frozen@1.0.0'], dir)
      expect(yank.stderr).toMatch(/maintenance until noon/)
      const app = await cargo.writeApp('frozen-app', [{ name: 'frozen', version: '1', registry: 'trove' }], 'fn main() {}\n')
      const fetched = await cargo.run(['fetch'], app)
      expect(fetched.code, fetched.stderr).toBe(0)
    } finally {
      expect((await call('PUT', '/api/v1/system/read-only', { json: { enabled: false } })).status).toBe(200)
    }
    const index = await call('GET', '/artifactory/api/cargo/acme-crates/index/fr/oz/frozen')
    expect((JSON.parse((await index.text()).trim()) as { vers: string; yanked: boolean })).toMatchObject({ vers: '1.0.0', yanked: false })
  })
})
