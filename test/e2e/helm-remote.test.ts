/**
 * Helm remote and virtual repositories over real HTTP. Upstreams are real servers on 127.0.0.1:
 * a second Trove whose Helm local repository is the upstream (its index has relative URLs), and a
 * small static server with a hand-written index.yaml (absolute URLs, relative URLs into
 * subfolders, a wrong digest). Charts are built by the test (no helm binary here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml, stringify } from 'yaml'
import { buildChart, chartFile } from '../helpers/helm.js'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, expectRestError, sha256Of } from './generic-support.js'
import { createRemote, sendBody, startUpstream, type FakeUpstream } from './remote-support.js'

const backends = await metadataBackends()
const ALLOW_LOOPBACK = { remote: { allowedUpstreamHosts: ['127.0.0.1'] } }

interface IndexDocument {
  apiVersion: string
  entries: Record<string, Record<string, unknown>[]>
}

describe.each(backends)('Helm remote and virtual repositories (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let upstreamTrove: TestServer
  let upstreamAdmin: Client
  const cleanups: (() => Promise<void>)[] = []

  const helmUrl = (repo: string) => `${server.url}/artifactory/api/helm/${repo}/`
  const readIndex = async (repo: string): Promise<IndexDocument> => {
    const response = await admin.get(`/artifactory/api/helm/${repo}/index.yaml`)
    expect(response.status, response.text).toBe(200)
    return parseYaml(response.text) as IndexDocument
  }
  /** `helm pull`: the entry's first URL resolved against the repository URL. */
  const pull = (repo: string, entry: Record<string, unknown>) =>
    fetch(new URL((entry.urls as string[])[0]!, helmUrl(repo)), { headers: { authorization: server.adminAuth } })
  const bytesOf = async (response: Response) => Buffer.from(await response.arrayBuffer())
  const createHelm = async (target: Client, key: string, config: Record<string, unknown>) => {
    const response = await target.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'helm', ...config } })
    expect(response.status, response.text).toBe(200)
  }
  const publish = async (target: Client, repo: string, name: string, version: string, fields: Record<string, unknown> = {}) => {
    const bytes = await buildChart({ name, version, fields })
    const response = await target.put(`/artifactory/api/helm/${repo}/${chartFile(name, version)}`, { body: bytes })
    expect(response.status, response.text).toBe(201)
    return bytes
  }
  const staticUpstream = async (files: Record<string, Buffer | string>): Promise<FakeUpstream> => {
    const started = await startUpstream((request, response) => {
      const file = files[(request.url ?? '').split('?')[0]!]
      if (file === undefined) sendBody(response, 'not found', {}, 404)
      else sendBody(response, file, { 'content-type': 'application/octet-stream' })
    })
    cleanups.push(() => started.close())
    return started
  }

  beforeAll(async () => {
    server = await startTestServer({ backend, settings: ALLOW_LOOPBACK })
    admin = new Client(server.url, server.adminAuth)
    upstreamTrove = await startTestServer()
    upstreamAdmin = new Client(upstreamTrove.url, upstreamTrove.adminAuth)
    await createHelm(upstreamAdmin, 'up-helm', { rclass: 'local', anonymousRead: true })
  })

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    await server?.close()
    await upstreamTrove?.close()
  })

  it('proxies another Trove: the index with URLs rewritten to Trove, charts cached on first pull and verified', async () => {
    const web = await publish(upstreamAdmin, 'up-helm', 'web', '1.0.0', { appVersion: '3.0' })
    const webNext = await publish(upstreamAdmin, 'up-helm', 'web', '1.1.0')
    await createRemote(admin, 'helm-remote', `${upstreamTrove.url}/artifactory/api/helm/up-helm`, { packageType: 'helm' })

    // 1. The remote's index has the upstream's charts and digests, with URLs into the remote.
    const index = await readIndex('helm-remote')
    expect(index.apiVersion).toBe('v1')
    expect(index.entries.web!.map((e) => e.version)).toEqual(['1.1.0', '1.0.0'])
    expect(index.entries.web![1]).toMatchObject({ appVersion: '3.0', digest: sha256Of(web), urls: ['charts/web-1.0.0.tgz'] })

    // 2. Pulling by the index downloads the upstream's bytes and caches them, with their source.
    const pulled = await pull('helm-remote', index.entries.web![1]!)
    expect(pulled.status).toBe(200)
    expect(sha256Of(await bytesOf(pulled))).toBe(sha256Of(web))
    const info = await admin.get('/artifactory/api/storage/helm-remote/charts/web-1.0.0.tgz')
    expect(info.status, info.text).toBe(200)
    expect(info.json()).toMatchObject({
      createdBy: 'remote:helm-remote',
      remoteUrl: `${upstreamTrove.url}/artifactory/api/helm/up-helm/web-1.0.0.tgz`,
      checksums: { sha256: sha256Of(web) },
    })
    // The plain layout serves the same remote.
    expect(sha256Of((await admin.get('/artifactory/helm-remote/charts/web-1.1.0.tgz')).body)).toBe(sha256Of(webNext))
  })

  it('follows absolute and relative upstream URLs, refuses a chart whose bytes do not match the index digest, and serves the cache when the upstream is gone', async () => {
    const alpha = await buildChart({ name: 'alpha', version: '1.0.0' })
    const beta = await buildChart({ name: 'beta', version: '2.0.0-beta.1' })
    const liar = await buildChart({ name: 'liar', version: '0.1.0' })
    const files: Record<string, Buffer | string> = {
      '/files/releases/alpha-1.0.0.tgz': alpha,
      '/files/releases/alpha-1.0.0.tgz.prov': 'alpha provenance',
      '/repo/sub/dir/beta-2.0.0-beta.1.tgz': beta,
      '/repo/liar-0.1.0.tgz': liar,
    }
    const upstream = await staticUpstream(files)
    files['/repo/index.yaml'] = stringify({
      apiVersion: 'v1',
      entries: {
        alpha: [{ apiVersion: 'v2', name: 'alpha', version: '1.0.0', digest: sha256Of(alpha), urls: [`${upstream.url}/files/releases/alpha-1.0.0.tgz`], created: '2024-01-02T03:04:05Z' }],
        beta: [{ apiVersion: 'v2', name: 'beta', version: '2.0.0-beta.1', digest: sha256Of(beta), urls: ['sub/dir/beta-2.0.0-beta.1.tgz'] }],
        liar: [{ apiVersion: 'v2', name: 'liar', version: '0.1.0', digest: 'a'.repeat(64), urls: ['liar-0.1.0.tgz'] }],
      },
      generated: '2024-01-02T03:04:05Z',
    })
    await createRemote(admin, 'helm-static', `${upstream.url}/repo`, { packageType: 'helm', retrievalCachePeriodSecs: 0, assumedOfflinePeriodSecs: 0 })

    // 1. Absolute and relative URLs both lead, through Trove, to the right bytes.
    const index = await readIndex('helm-static')
    expect(index.entries.alpha![0]).toMatchObject({ urls: ['charts/alpha-1.0.0.tgz'], created: '2024-01-02T03:04:05Z' })
    expect(sha256Of(await bytesOf(await pull('helm-static', index.entries.alpha![0]!)))).toBe(sha256Of(alpha))
    expect(sha256Of(await bytesOf(await pull('helm-static', index.entries.beta![0]!)))).toBe(sha256Of(beta))
    expect(upstream.hits('/files/releases/alpha-1.0.0.tgz')).toBe(1)
    expect(upstream.hits('/repo/sub/dir/beta-2.0.0-beta.1.tgz')).toBe(1)
    // The provenance file is fetched from beside the chart's upstream URL.
    const prov = await fetch(`${helmUrl('helm-static')}charts/alpha-1.0.0.tgz.prov`, { headers: { authorization: server.adminAuth } })
    expect(prov.status).toBe(200)
    expect(await prov.text()).toBe('alpha provenance')

    // 2. A chart that does not hash to the index's digest is never served whole, nor cached.
    const lied = await pull('helm-static', index.entries.liar![0]!).then(
      async (r) => ({ status: r.status, body: await bytesOf(r).catch(() => undefined) }),
      () => ({ status: 0, body: undefined }),
    )
    expect(lied.body === undefined || sha256Of(lied.body) !== sha256Of(liar) || lied.status >= 500).toBe(true)
    expect((await admin.get('/artifactory/api/storage/helm-static/charts/liar-0.1.0.tgz')).status).toBe(404)

    // 3. The upstream goes away: the stale index and the cached charts are still served.
    await upstream.close()
    const stale = await readIndex('helm-static')
    expect(Object.keys(stale.entries).sort()).toEqual(['alpha', 'beta', 'liar'])
    expect(sha256Of(await bytesOf(await pull('helm-static', stale.entries.alpha![0]!)))).toBe(sha256Of(alpha))
    expect(sha256Of(await bytesOf(await pull('helm-static', stale.entries.beta![0]!)))).toBe(sha256Of(beta))
    // A chart never cached cannot be had: an upstream error, not a 404.
    const missing = await pull('helm-static', stale.entries.liar![0]!)
    expect(missing.status).toBeGreaterThanOrEqual(502)
  })

  it('merges a virtual index over a local and a remote: first member wins, dependency-confusion guard, deploys to the default repository', async () => {
    await publish(upstreamAdmin, 'up-helm', 'shared', '0.1.0', { description: 'from upstream' })
    await publish(upstreamAdmin, 'up-helm', 'internal', '5.0.0', { description: 'an impostor upstream' })
    await createHelm(admin, 'helm-team', { rclass: 'local' })
    const ownInternal = await publish(admin, 'helm-team', 'internal', '1.0.0', { description: 'ours' })
    const ownShared = await publish(admin, 'helm-team', 'shared', '0.1.0', { description: 'ours too' })
    await createRemote(admin, 'helm-up', `${upstreamTrove.url}/artifactory/api/helm/up-helm`, { packageType: 'helm' })
    await createHelm(admin, 'helm-all', { rclass: 'virtual', repositories: ['helm-team', 'helm-up'], defaultDeploymentRepo: 'helm-team' })
    await createHelm(admin, 'helm-open', { rclass: 'virtual', repositories: ['helm-up', 'helm-team'], dependencyConfusionGuard: false })

    // 1. Guarded: names the local member has come only from it; the rest from the remote.
    const guarded = await readIndex('helm-all')
    expect(guarded.entries.internal!.map((e) => e.version)).toEqual(['1.0.0'])
    expect(guarded.entries.shared!.map((e) => [e.version, e.description])).toEqual([['0.1.0', 'ours too']])
    expect(guarded.entries.web!.map((e) => e.version)).toEqual(['1.1.0', '1.0.0'])
    for (const entries of Object.values(guarded.entries)) {
      for (const entry of entries) {
        const response = await pull('helm-all', entry)
        expect(response.status, String(entry.urls)).toBe(200)
        expect(sha256Of(await bytesOf(response))).toBe(entry.digest)
      }
    }
    expect(sha256Of(await bytesOf(await pull('helm-all', guarded.entries.internal![0]!)))).toBe(sha256Of(ownInternal))
    // Nor can the impostor be pulled through the virtual by its path in the remote.
    expectRestError(await admin.get('/artifactory/api/helm/helm-all/charts/internal-5.0.0.tgz'), 404, /dependencyConfusionGuard/)

    // 2. Unguarded, remote first: for the same name and version the first member wins.
    const open = await readIndex('helm-open')
    expect(open.entries.internal!.map((e) => e.version)).toEqual(['5.0.0', '1.0.0'])
    expect(open.entries.shared).toHaveLength(1)
    expect(open.entries.shared![0]).toMatchObject({ description: 'from upstream', urls: ['charts/shared-0.1.0.tgz'] })
    expect(open.entries.shared![0]!.digest).not.toBe(sha256Of(ownShared))

    // 3. A deploy to the virtual lands in its default deployment repository and shows at once.
    await publish(admin, 'helm-all', 'fresh', '0.0.1')
    expect((await admin.get(`/artifactory/api/storage/helm-team/${chartFile('fresh', '0.0.1')}`)).status).toBe(200)
    expect((await readIndex('helm-all')).entries.fresh!.map((e) => e.version)).toEqual(['0.0.1'])
    // Remote and virtual repositories take no deploys of their own.
    expectRestError(await admin.put(`/artifactory/api/helm/helm-up/${chartFile('x', '1.0.0')}`, { body: await buildChart({ name: 'x', version: '1.0.0' }) }), 405)
  })
})
