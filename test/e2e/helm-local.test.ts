/**
 * Helm local repositories over real HTTP, as a platform team publishes charts: charts built by
 * the test (no helm binary here) deployed with curl on both URLs, `index.yaml` read as Helm
 * reads it (YAML, entries newest first, digest = sha256 of the file, relative URLs resolved
 * against the repository URL), refusals with Artifactory's error body and nothing stored.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import type { HelmTables } from '../../src/formats/helm/tables.js'
import { buildChart, chartFile } from '../helpers/helm.js'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser, curl, expectRestError, grant, sha256Of, waitUntil } from './generic-support.js'

const backends = await metadataBackends()
const hasCurl = await requireClients('the Helm local suite (curl)', ['curl'])

interface IndexDocument {
  apiVersion: string
  generated: string
  entries: Record<string, Record<string, unknown>[]>
}

describe.skipIf(!hasCurl).each(backends)('Helm local repositories (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let work: string

  const helmUrl = (repo: string) => `${server.url}/artifactory/api/helm/${repo}/`
  const readIndex = async (repo: string, client: Client = admin): Promise<IndexDocument> => {
    const response = await client.get(`/artifactory/api/helm/${repo}/index.yaml`)
    expect(response.status, response.text).toBe(200)
    expect(response.headers['content-type']).toMatch(/yaml/)
    return parseYaml(response.text) as IndexDocument
  }
  /** What `helm pull` does: the first URL of the entry, resolved against the repository URL. */
  const pullByIndex = async (repo: string, entry: Record<string, unknown>) => {
    const url = new URL((entry.urls as string[])[0]!, helmUrl(repo))
    const response = await fetch(url, { headers: { authorization: server.adminAuth } })
    expect(response.status, url.toString()).toBe(200)
    return Buffer.from(await response.arrayBuffer())
  }
  const createHelmRepo = async (key: string, config: Record<string, unknown> = {}) => {
    const response = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, rclass: 'local', packageType: 'helm', ...config } })
    expect(response.status, response.text).toBe(200)
  }
  const assetCount = async (repo: string) => (await admin.get(`/artifactory/api/storage/${repo}/?list&deep=1`)).json().files?.length ?? 0

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    work = await mkdtemp(join(tmpdir(), 'trove-helm-'))
    await createHelmRepo('helm-local')
  })

  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('publishes charts with curl on both URLs and lists them in index.yaml, newest first, with digests and URLs that download the same bytes', async () => {
    const charts = {
      '1.0.0': await buildChart({ name: 'web', version: '1.0.0', appVersion: '2.1', fields: { keywords: ['web', 'http'], home: 'https://web.example.test' } }),
      '1.10.0': await buildChart({
        name: 'web',
        version: '1.10.0',
        appVersion: '2.3',
        fields: {
          dependencies: [{ name: 'db', version: '>=0.1.0', repository: 'https://charts.example.test' }],
          maintainers: [{ name: 'Team Web', email: 'web@example.test' }],
          annotations: { 'example.test/tier': 'frontend' },
          kubeVersion: '>=1.25.0',
          icon: 'https://web.example.test/icon.png',
          sources: ['https://git.example.test/web'],
        },
      }),
      '1.2.0-rc.1': await buildChart({ name: 'web', version: '1.2.0-rc.1' }),
    }
    const db = await buildChart({ name: 'db', version: '0.1.0', appVersion: '15', fields: { deprecated: true, type: 'application' } })

    // 1. curl -T to the plain layout and to the Helm API; both answer like an Artifactory deploy.
    for (const [version, bytes] of Object.entries(charts)) {
      const file = join(work, chartFile('web', version))
      await writeFile(file, bytes)
      const url = version === '1.0.0' ? `${server.url}/artifactory/helm-local/${chartFile('web', version)}` : `${helmUrl('helm-local')}${chartFile('web', version)}`
      const result = await curl(['-u', `admin:${ADMIN_PASSWORD}`, '-T', file, url], join(work, 'deploy.json'))
      expect(result.status, result.body.toString()).toBe(201)
      expect(JSON.parse(result.body.toString())).toMatchObject({ repo: 'helm-local', checksums: { sha256: sha256Of(bytes) } })
    }
    expect((await admin.put(`/artifactory/helm-local/${chartFile('db', '0.1.0')}`, { body: db })).status).toBe(201)

    // 2. Right after the deploys, index.yaml has every chart (reads are consistent, jobs or not).
    const index = await readIndex('helm-local')
    expect(index.apiVersion).toBe('v1')
    expect(Date.parse(index.generated)).not.toBeNaN()
    expect(Object.keys(index.entries).sort()).toEqual(['db', 'web'])
    expect(index.entries.web!.map((e) => e.version)).toEqual(['1.10.0', '1.2.0-rc.1', '1.0.0'])
    const newest = index.entries.web![0]!
    expect(newest).toMatchObject({
      apiVersion: 'v2',
      name: 'web',
      version: '1.10.0',
      appVersion: '2.3',
      description: 'The web chart',
      type: 'application',
      digest: sha256Of(charts['1.10.0']),
      urls: ['web-1.10.0.tgz'],
      dependencies: [{ name: 'db', version: '>=0.1.0', repository: 'https://charts.example.test' }],
      maintainers: [{ name: 'Team Web', email: 'web@example.test' }],
      annotations: { 'example.test/tier': 'frontend' },
      kubeVersion: '>=1.25.0',
      icon: 'https://web.example.test/icon.png',
      sources: ['https://git.example.test/web'],
    })
    expect(Date.parse(newest.created as string)).not.toBeNaN()
    expect(index.entries.web![2]).toMatchObject({ keywords: ['web', 'http'], home: 'https://web.example.test' })
    expect(index.entries.db![0]).toMatchObject({ deprecated: true, appVersion: '15', digest: sha256Of(db) })

    // 3. Every URL, resolved as Helm does, downloads the bytes whose digest the index gives.
    for (const entries of Object.values(index.entries)) {
      for (const entry of entries) expect(sha256Of(await pullByIndex('helm-local', entry))).toBe(entry.digest)
    }

    // 4. The plain layout serves the index and the charts too.
    const plain = await admin.get('/artifactory/helm-local/index.yaml')
    expect(plain.status).toBe(200)
    expect((parseYaml(plain.text) as IndexDocument).entries.web).toHaveLength(3)
    expect(sha256Of((await admin.get('/artifactory/helm-local/db-0.1.0.tgz')).body)).toBe(sha256Of(db))
  })

  it('keeps the stored index up to date by a job, revalidates with ETag, and drops deleted charts', async () => {
    await createHelmRepo('helm-jobs')
    const chart = await buildChart({ name: 'jobbed', version: '0.1.0' })
    expect((await admin.put(`/artifactory/api/helm/helm-jobs/${chartFile('jobbed', '0.1.0')}`, { body: chart })).status).toBe(201)

    // 1. The reindex job was queued by the deploy; it runs (as the server's poller would run it) and stores the index.
    const db = server.trove.services.metadata.db
    const helmTables = db as unknown as Kysely<HelmTables>
    await server.trove.services.jobs.runDue()
    const isBuilt = async () => {
      const row = await helmTables.selectFrom('helm_indexes').selectAll().where('repo_key', '=', 'helm-jobs').executeTakeFirst()
      return row !== undefined && row.body !== null && row.built_revision >= row.revision
    }
    expect(await waitUntil(isBuilt, 10_000)).toBe(true)
    const done = await db.selectFrom('jobs').select(['status']).where('kind', '=', 'helm-reindex').execute()
    expect(done.some((j) => j.status === 'done')).toBe(true)

    // 2. The stored index is what is served, and a client holding it gets 304.
    const first = await admin.get('/artifactory/api/helm/helm-jobs/index.yaml')
    const again = await admin.get('/artifactory/api/helm/helm-jobs/index.yaml', { headers: { 'if-none-match': first.headers.etag as string } })
    expect(again.status).toBe(304)

    // 3. A delete (through either URL) takes the chart out of the very next read.
    expect((await admin.delete(`/artifactory/api/helm/helm-jobs/${chartFile('jobbed', '0.1.0')}`)).status).toBe(204)
    expect((await readIndex('helm-jobs')).entries).toEqual({})
    const newer = await buildChart({ name: 'jobbed', version: '0.2.0' })
    expect((await admin.put(`/artifactory/helm-jobs/${chartFile('jobbed', '0.2.0')}`, { body: newer })).status).toBe(201)
    expect((await readIndex('helm-jobs')).entries.jobbed!.map((e) => e.version)).toEqual(['0.2.0'])
    expect((await admin.delete(`/artifactory/helm-jobs/${chartFile('jobbed', '0.2.0')}`)).status).toBe(204)
    expect((await readIndex('helm-jobs')).entries).toEqual({})
  })

  it('stores provenance files beside the chart, serves them where helm --verify looks, and leaves them out of the index', async () => {
    await createHelmRepo('helm-prov')
    const chart = await buildChart({ name: 'signed', version: '1.0.0' })
    const prov = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: signed\n...\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n'
    expect((await admin.put(`/artifactory/api/helm/helm-prov/${chartFile('signed', '1.0.0')}`, { body: chart })).status).toBe(201)
    expect((await admin.put(`/artifactory/api/helm/helm-prov/${chartFile('signed', '1.0.0')}.prov`, { body: prov })).status).toBe(201)
    const index = await readIndex('helm-prov')
    expect(Object.keys(index.entries)).toEqual(['signed'])
    const url = new URL(`${(index.entries.signed![0]!.urls as string[])[0]}.prov`, helmUrl('helm-prov'))
    const fetched = await fetch(url, { headers: { authorization: server.adminAuth } })
    expect(fetched.status).toBe(200)
    expect(await fetched.text()).toBe(prov)
  })

  it('refuses what is not a well-named SemVer chart with a clear error, and stores nothing', async () => {
    await createHelmRepo('helm-strict')
    const good = await buildChart({ name: 'ok', version: '1.0.0' })
    expect((await admin.put(`/artifactory/helm-strict/${chartFile('ok', '1.0.0')}`, { body: good })).status).toBe(201)
    const before = await readIndex('helm-strict')

    const cases: { file: string; body: Buffer | string; status: number; message: RegExp }[] = [
      { file: 'plain-1.0.0.tgz', body: 'just some text', status: 400, message: /not a Helm chart: the file is not gzip-compressed/ },
      { file: 'noise-1.0.0.tgz', body: gzipSync(Buffer.from('not a tar archive at all, only gzip')), status: 400, message: /not a Helm chart/ },
      { file: 'empty-1.0.0.tgz', body: await buildChart({ name: 'empty', version: '1.0.0', withoutChartYaml: true }), status: 400, message: /no <name>\/Chart.yaml/ },
      { file: 'moved-1.0.0.tgz', body: await buildChart({ name: 'moved', version: '1.0.0', dir: 'elsewhere' }), status: 400, message: /in folder 'elsewhere\/'/ },
      { file: 'wrong-1.0.0.tgz', body: await buildChart({ name: 'right', version: '1.0.0' }), status: 409, message: /must be 'right-1.0.0.tgz'/ },
      { file: 'ok-2.0.0.tgz', body: await buildChart({ name: 'ok', version: '2.0.1' }), status: 409, message: /does not match its Chart.yaml/ },
      { file: 'loose-1.0.tgz', body: await buildChart({ name: 'loose', version: '1.0' }), status: 400, message: /'1.0', which is not a SemVer 2 version/ },
      { file: 'vee-v1.0.0.tgz', body: await buildChart({ name: 'vee', version: 'v1.0.0' }), status: 400, message: /not a SemVer 2/ },
      {
        file: 'bad-1.0.0.tgz',
        body: await buildChart({ name: 'bad', version: '1.0.0', chartYaml: 'name: bad\nversion: 1.0.0\n  broken: [\n' }),
        status: 400,
        message: /Chart.yaml is not valid YAML/,
      },
      {
        file: 'huge-1.0.0.tgz',
        body: await buildChart({ name: 'huge', version: '1.0.0', description: 'x'.repeat(1024 * 1024 + 10) }),
        status: 413,
        message: /Chart.yaml is \d+ bytes; at most 1048576/,
      },
      { file: 'README.md', body: '# readme', status: 400, message: /holds charts .* 'README.md' is neither/ },
      { file: 'index.yaml', body: 'apiVersion: v1\nentries: {}\n', status: 400, message: /index.yaml is generated by Trove/ },
    ]
    for (const c of cases) {
      for (const path of [`/artifactory/helm-strict/${c.file}`, `/artifactory/api/helm/helm-strict/${c.file}`]) {
        const response = await admin.put(path, { body: c.body })
        expectRestError(response, c.status, c.message)
      }
    }
    // Nothing was stored: the one good chart is all there is, and the index is unchanged.
    expect(await assetCount('helm-strict')).toBe(1)
    const after = await readIndex('helm-strict')
    expect(after.entries).toEqual(before.entries)
  })

  it('checks permissions, refuses deploys in read-only mode, and reindexes on request', async () => {
    await createHelmRepo('helm-perm')
    await createUser(admin, 'reader', 'reader-password-1')
    await createUser(admin, 'pusher', 'pusher-password-1')
    await grant(admin, 'helm-perm', 'reader', ['read'])
    await grant(admin, 'helm-perm', 'pusher', ['read', 'deploy'])
    const chart = await buildChart({ name: 'perm', version: '1.0.0' })
    const path = `/artifactory/api/helm/helm-perm/${chartFile('perm', '1.0.0')}`

    expectRestError(await admin.anonymous.get('/artifactory/api/helm/helm-perm/index.yaml'), 401)
    expectRestError(await admin.asUser('reader', 'reader-password-1').put(path, { body: chart }), 403)
    expect((await admin.asUser('pusher', 'pusher-password-1').put(path, { body: chart })).status).toBe(201)
    // Replacing a chart needs the right to delete it.
    expectRestError(await admin.asUser('pusher', 'pusher-password-1').put(path, { body: chart }), 403)
    expect((await readIndex('helm-perm', admin.asUser('reader', 'reader-password-1'))).entries.perm).toHaveLength(1)
    expectRestError(await admin.asUser('reader', 'reader-password-1').post('/artifactory/api/helm/helm-perm/reindex'), 403)
    expectRestError(await admin.get('/artifactory/api/helm/no-such-repo/index.yaml'), 404, /not a Helm repository/)

    // Read-only: every write refused with 503 and the admin's message, reads still work.
    expect((await admin.put('/api/v1/system/read-only', { body: { enabled: true, message: 'helm maintenance' } })).status).toBe(200)
    try {
      const other = await buildChart({ name: 'perm', version: '2.0.0' })
      for (const url of [`/artifactory/helm-perm/${chartFile('perm', '2.0.0')}`, `/artifactory/api/helm/helm-perm/${chartFile('perm', '2.0.0')}`]) {
        expectRestError(await admin.put(url, { body: other }), 503, /helm maintenance/)
      }
      expectRestError(await admin.post('/artifactory/api/helm/helm-perm/reindex'), 503)
      expect((await readIndex('helm-perm')).entries.perm!.map((e) => e.version)).toEqual(['1.0.0'])
    } finally {
      expect((await admin.put('/api/v1/system/read-only', { body: { enabled: false } })).status).toBe(200)
    }

    // 1. A chart copied by checksum (X-Checksum-Deploy) to another repository is indexed there too.
    await createHelmRepo('helm-copy')
    const copied = await admin.put(`/artifactory/helm-copy/${chartFile('perm', '1.0.0')}`, {
      headers: { 'x-checksum-deploy': 'true', 'x-checksum-sha256': sha256Of(chart) },
    })
    expect(copied.status, copied.text).toBe(201)
    expect((await readIndex('helm-copy')).entries.perm![0]).toMatchObject({ digest: sha256Of(chart) })

    // 2. Reindex re-reads a chart whose Chart.yaml Trove has no record of (as after a crash between the two writes).
    await (server.trove.services.metadata.db as unknown as Kysely<HelmTables>).deleteFrom('helm_charts').where('sha256', '=', sha256Of(chart)).execute()
    const reindexed = await admin.post('/artifactory/api/helm/helm-perm/reindex')
    expect(reindexed.status, reindexed.text).toBe(200)
    expect(reindexed.json().info).toMatch(/rebuilt/)
    expect((await readIndex('helm-perm')).entries.perm![0]).toMatchObject({ version: '1.0.0', digest: sha256Of(chart) })
  })
})
