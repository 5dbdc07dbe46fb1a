/**
 * The real cargo through remote and virtual Cargo repositories. The upstream is a second Trove on
 * 127.0.0.1 whose local Cargo repository is read anonymously; cargo's default source is replaced
 * by Trove, as a user configures a mirror, so nothing reaches the public registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiClient, type ApiCall } from '../../e2e/admin-http.js'
import { CargoSandbox, cargoIndexUrl, type CargoRegistry } from '../../helpers/cargo.js'
import { crateOf, publishBody, publishJson } from '../../helpers/crates.js'
import { requireClients } from '../../helpers/clients.js'
import { metadataBackends } from '../../helpers/postgres.js'
import { startTestServer, type TestServer } from '../../helpers/server.js'

const hasCargo = await requireClients('the cargo remote and virtual suite', ['cargo'])
const backends = await metadataBackends()
const ALLOW_LOOPBACK = { remote: { allowedUpstreamHosts: ['127.0.0.1'] } }
const PUBLISH = ['publish', '--no-verify', '--allow-dirty', '--registry']

describe.skipIf(!hasCargo).each(backends)('cargo through remote and virtual repositories (%s)', (backend) => {
  let server: TestServer
  let upstream: TestServer
  let call: ApiCall
  let upstreamCall: ApiCall
  let token: string
  const sandboxes: CargoSandbox[] = []
  let isUpstreamStopped = false

  const tokenOf = async (api: ApiCall) => ((await (await api('POST', '/access/api/v1/tokens', { json: {} })).json()) as { access_token: string }).access_token
  const createRepo = async (api: ApiCall, key: string, config: Record<string, unknown>) => {
    const res = await api('PUT', `/artifactory/api/repositories/${key}`, { json: { key, packageType: 'cargo', ...config } })
    expect(res.status, await res.clone().text()).toBe(200)
  }
  /** A fresh cargo (empty caches) whose default source is `repo` of Trove. */
  const sandboxFor = async (repo: string, extra: readonly CargoRegistry[] = []) => {
    const registry = { name: 'trove', indexUrl: cargoIndexUrl(server.url, repo), token }
    const sandbox = await CargoSandbox.create([registry, ...extra], { name: 'mirror', indexUrl: registry.indexUrl, token })
    sandboxes.push(sandbox)
    return sandbox
  }
  const app = (sandbox: CargoSandbox, dir: string) =>
    sandbox.writeApp(dir, [{ name: 'upstream-lib', version: '1' }], 'fn main() { println!("{}", upstream_lib::upstream_lib()); }\n')
  const stored = async (repo: string, path: string) => (await call('GET', `/artifactory/api/storage/${repo}/${path}`)).status === 200

  beforeAll(async () => {
    upstream = await startTestServer()
    upstreamCall = apiClient(upstream)
    await createRepo(upstreamCall, 'up-crates', { rclass: 'local', anonymousRead: true })
    const publisher = await CargoSandbox.create([{ name: 'up', indexUrl: cargoIndexUrl(upstream.url, 'up-crates'), token: await tokenOf(upstreamCall) }])
    sandboxes.push(publisher)
    for (const [name, version] of [['upstream-lib', '1.0.0'], ['upstream-lib', '1.1.0'], ['shared-name', '9.0.0']] as const) {
      const dir = await publisher.writeCrate(name, version)
      const published = await publisher.run([...PUBLISH, 'up'], dir)
      expect(published.code, published.stderr).toBe(0)
    }

    server = await startTestServer({ backend, settings: ALLOW_LOOPBACK })
    call = apiClient(server)
    token = await tokenOf(call)
    // Index files are re-checked upstream on every read, so that a stopped upstream shows the stale copy.
    await createRepo(call, 'crates-remote', { rclass: 'remote', url: cargoIndexUrl(upstream.url, 'up-crates'), retrievalCachePeriodSecs: 0 })
    await createRepo(call, 'crates-local', { rclass: 'local' })
    await createRepo(call, 'crates', { rclass: 'virtual', repositories: ['crates-local', 'crates-remote'], defaultDeploymentRepo: 'crates-local' })
  }, 240_000)

  afterAll(async () => {
    for (const sandbox of sandboxes) await sandbox.close()
    await server?.close()
    if (!isUpstreamStopped) await upstream?.close()
  })

  it('remote, cold: cargo build pulls the index and the crate through Trove, which caches the crate verified by its cksum', async () => {
    const cargo = await sandboxFor('crates-remote')
    const built = await cargo.run(['run', '--quiet'], await app(cargo, 'cold'))
    expect(built.code, built.stderr).toBe(0)
    expect(built.stdout.trim()).toBe('upstream-lib 1.1.0')
    expect(await stored('crates-remote', 'upstream-lib/upstream-lib-1.1.0.crate')).toBe(true)
    const config = (await (await call('GET', '/artifactory/api/cargo/crates-remote/index/config.json')).json()) as { dl: string }
    expect(config.dl).toBe(`${server.url}/artifactory/api/cargo/crates-remote/api/v1/crates`)
  })

  it('remote, warm: a fresh cargo builds from what Trove cached', async () => {
    const cargo = await sandboxFor('crates-remote')
    const built = await cargo.run(['build', '--quiet'], await app(cargo, 'warm'))
    expect(built.code, built.stderr).toBe(0)
  })

  it('virtual: publish lands in the deployment repository; a project uses it and remote crates; the guard hides an upstream crate of a local name', async () => {
    const cargo = await sandboxFor('crates')
    for (const [name, version] of [['private-lib', '0.2.0'], ['shared-name', '0.1.0']] as const) {
      const published = await cargo.run([...PUBLISH, 'trove'], await cargo.writeCrate(name, version))
      expect(published.code, published.stderr).toBe(0)
    }
    expect(await stored('crates-local', 'private-lib/private-lib-0.2.0.crate')).toBe(true)
    const shared = await call('GET', '/artifactory/api/cargo/crates/index/sh/ar/shared-name')
    expect(shared.status).toBe(200)
    expect((await shared.text()).trim().split('\n').map((l) => (JSON.parse(l) as { vers: string }).vers)).toEqual(['0.1.0'])
    const remoteOnly = await call('GET', '/artifactory/api/cargo/crates-remote/index/sh/ar/shared-name')
    expect((JSON.parse((await remoteOnly.text()).trim()) as { vers: string }).vers).toBe('9.0.0')

    const project = await cargo.writeApp(
      'virtual-app',
      [
        { name: 'upstream-lib', version: '1.0' },
        { name: 'private-lib', version: '0.2', registry: 'trove' },
        { name: 'shared-name', version: '*', registry: 'trove' },
      ],
      'fn main() { println!("{} / {} / {}", upstream_lib::upstream_lib(), private_lib::private_lib(), shared_name::shared_name()); }\n',
    )
    const built = await cargo.run(['run', '--quiet'], project)
    expect(built.code, built.stderr).toBe(0)
    expect(built.stdout.trim()).toBe('upstream-lib 1.1.0 / private-lib 0.2.0 / shared-name 0.1.0')
    const direct = await call('GET', '/artifactory/api/cargo/crates/api/v1/crates/shared-name/9.0.0/download')
    expect(direct.status).toBe(404)
    expect(await direct.json()).toEqual({ errors: [{ detail: expect.any(String) }] })
  })

  it('virtual without the guard: the lines of one crate merged from its members, the first member winning a version', async () => {
    await createRepo(call, 'crates-open', { rclass: 'virtual', repositories: ['crates-local', 'crates-remote'], dependencyConfusionGuard: false })
    for (const version of ['0.9.0', '1.0.0']) {
      const body = publishBody(publishJson('upstream-lib', version), crateOf('upstream-lib', version))
      const published = await fetch(`${server.url}/artifactory/api/cargo/crates-local/api/v1/crates/new`, { method: 'PUT', headers: { authorization: token }, body })
      expect(published.status, await published.text()).toBe(200)
    }
    const linesOf = async (repo: string) =>
      ((await (await call('GET', `/artifactory/api/cargo/${repo}/index/up/st/upstream-lib`)).text()).trim().split('\n').map((l) => JSON.parse(l) as { vers: string; cksum: string }))
    const local = await linesOf('crates-local')
    const remote = await linesOf('crates-remote')
    const merged = await linesOf('crates-open')
    expect(merged.map((l) => l.vers)).toEqual(['0.9.0', '1.0.0', '1.1.0'])
    expect(merged[1]!.cksum).toBe(local.find((l) => l.vers === '1.0.0')!.cksum)
    expect(merged[1]!.cksum).not.toBe(remote.find((l) => l.vers === '1.0.0')!.cksum)
    expect(merged[2]).toEqual(remote.find((l) => l.vers === '1.1.0'))
    // With the guard (the default), the local crate hides the upstream one of the same name.
    expect((await linesOf('crates')).map((l) => l.vers)).toEqual(['0.9.0', '1.0.0'])
  })

  it('remote, upstream stopped: a fresh cargo still builds from the cache (stale index, cached crate)', async () => {
    isUpstreamStopped = true
    await upstream.close()
    const cargo = await sandboxFor('crates-remote')
    const built = await cargo.run(['run', '--quiet'], await app(cargo, 'offline'))
    expect(built.code, built.stderr).toBe(0)
    expect(built.stdout.trim()).toBe('upstream-lib 1.1.0')
  })
})
