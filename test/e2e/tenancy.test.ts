/**
 * The tenancy matrix (issue #7): for each format and each kind of caller, who may read, push,
 * delete and manage in a project's repositories, over HTTP in each format's own protocol. Callers:
 * the project's Project Admin, Developer, Contributor and Viewer, anonymous, a member of another
 * project, a revoked token, an expired token and a service account (Developer) with its token.
 * Every refusal is checked in the format's own error shape too: REST `{"errors"}` (generic, Maven,
 * Helm, and every repository's management API), OCI error JSON, npm `{"error"}`, PyPI plain text
 * with the reason in the status line; and a refused push or delete must have changed nothing.
 */
import { createHash } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { buildChart, chartFile } from '../helpers/helm.js'
import { npmPackage } from '../helpers/npm.js'
import { blobsOfImage, buildImage, sha256, type BuiltImage } from '../helpers/oci-images.js'
import { metadataBackends } from '../helpers/postgres.js'
import { buildWheel, type PythonDist } from '../helpers/python.js'
import { startTestServer, startWorkersServer, type HttpTestServer } from '../helpers/server.js'
import { apiClient, createUser, expectRestError, type ApiCall } from './admin-http.js'

const backends = await metadataBackends()

type Action = 'read' | 'push' | 'delete' | 'manage'
type Caller = 'Project Admin' | 'Developer' | 'Contributor' | 'Viewer' | 'anonymous' | 'other project' | 'revoked token' | 'expired token' | 'service account'
const CALLERS: readonly Caller[] = ['Project Admin', 'Developer', 'Contributor', 'Viewer', 'anonymous', 'other project', 'revoked token', 'expired token', 'service account']

/** The expected outcome: allowed, or the status of the refusal. */
const EXPECTED: Record<Caller, Record<Action, 'allow' | 401 | 403>> = {
  'Project Admin': { read: 'allow', push: 'allow', delete: 'allow', manage: 'allow' },
  Developer: { read: 'allow', push: 'allow', delete: 'allow', manage: 403 },
  Contributor: { read: 'allow', push: 'allow', delete: 403, manage: 403 },
  Viewer: { read: 'allow', push: 403, delete: 403, manage: 403 },
  anonymous: { read: 401, push: 401, delete: 401, manage: 401 },
  'other project': { read: 403, push: 403, delete: 403, manage: 403 },
  'revoked token': { read: 401, push: 401, delete: 401, manage: 401 },
  'expired token': { read: 401, push: 401, delete: 401, manage: 401 },
  'service account': { read: 'allow', push: 'allow', delete: 'allow', manage: 403 },
}

/**
 * One format's requests; `slot` makes each caller's push and delete touch its own item, which
 * `exists` looks up as the admin (`pushed`: what push(slot) adds; `kept`: what delete(slot) removes).
 * `expectRefusal` asserts a refused request's error body in the format's own shape.
 */
interface FormatDriver {
  readonly repo: string
  readonly packageType: string
  setup(): Promise<void>
  read(auth: string | null): Promise<Response>
  push(auth: string | null, slot: number): Promise<Response>
  delete(auth: string | null, slot: number): Promise<Response>
  exists(item: 'pushed' | 'kept', slot: number): Promise<boolean>
  expectRefusal(action: Exclude<Action, 'manage'>, res: Response, status: 401 | 403): Promise<void>
}

/** Artifactory's REST error body, `{"errors":[{"status","message"}]}` (the action does not change it). */
const restRefusal = async (_action: Action, res: Response, status: 401 | 403) => void (await expectRestError(res, status))

/** The OCI distribution error body, `{"errors":[{"code","message"}]}`, with the code for the status. */
async function expectOciError(res: Response, status: 401 | 403): Promise<void> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  expect(JSON.parse(text)).toMatchObject({ errors: [{ code: status === 401 ? 'UNAUTHORIZED' : 'DENIED', message: expect.any(String) }] })
  if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^(Basic|Bearer) realm=/)
}

/** npm's error body, `{"error":"…"}`. */
async function expectNpmError(res: Response, status: 401 | 403): Promise<void> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  expect(JSON.parse(text)).toEqual({ error: expect.stringMatching(/\S/) })
}

/**
 * PyPI's error answer: plain text `<status> <message>`, the message also the status line's reason
 * (what twine prints), not the standard phrase; a 401 challenges for Basic credentials (pip's).
 */
async function expectPypiError(res: Response, status: 401 | 403): Promise<void> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
  expect(res.statusText).not.toBe(STATUS_CODES[status])
  expect(res.statusText).toMatch(/\S/)
  expect(text).toBe(`${status} ${res.statusText}\n`)
  if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
}

/** twine's legacy upload (`:action=file_upload`, every field before the `content` file), as a form. */
function twineForm(dist: PythonDist, name: string, version: string): FormData {
  const form = new FormData()
  const fields = { ':action': 'file_upload', protocol_version: '1', metadata_version: '2.1', name, version, filetype: 'bdist_wheel', pyversion: 'py3', sha256_digest: dist.sha256 }
  for (const [key, value] of Object.entries(fields)) form.append(key, value)
  form.append('content', new Blob([dist.bytes]), dist.filename)
  return form
}

// In one process, and through a node of two serving workers (each request on either).
const runs = backends.flatMap((backend) => [1, 2].map((workers) => [backend, workers] as const))

describe.each(runs)('tenancy matrix (%s, %i worker(s))', (backend, workers) => {
  let server: HttpTestServer
  let call: ApiCall
  const auth = {} as Record<Caller, string | null>
  let image: BuiltImage

  const raw = (method: string, path: string, who: string | null, init: { body?: string | Buffer | FormData; headers?: Record<string, string> } = {}) =>
    fetch(`${server.url}${path}`, { method, headers: { ...(who ? { authorization: who } : {}), ...init.headers }, body: init.body })
  const found = async (path: string) => {
    const res = await raw('GET', path, server.adminAuth)
    await res.body?.cancel()
    expect([200, 404], path).toContain(res.status)
    return res.status === 200
  }
  /** Requests made in sequence, as one client step makes them: the first refusal, or the last answer. */
  const inTurn = async (...requests: (() => Promise<Response>)[]) => {
    for (const request of requests.slice(0, -1)) {
      const res = await request()
      if (res.status >= 300) return res
      await res.body?.cancel()
    }
    return requests.at(-1)!()
  }

  const drivers: FormatDriver[] = [
    {
      repo: 'acme-generic',
      packageType: 'generic',
      async setup() {
        for (let slot = 0; slot < CALLERS.length; slot++) expect((await raw('PUT', `/artifactory/acme-generic/del/${slot}.txt`, server.adminAuth, { body: `d${slot}` })).status).toBe(201)
        expect((await raw('PUT', '/artifactory/acme-generic/file.txt', server.adminAuth, { body: 'hello' })).status).toBe(201)
      },
      read: (who) => raw('GET', '/artifactory/acme-generic/file.txt', who),
      push: (who, slot) => raw('PUT', `/artifactory/acme-generic/new/${slot}.txt`, who, { body: `pushed ${slot}` }),
      delete: (who, slot) => raw('DELETE', `/artifactory/acme-generic/del/${slot}.txt`, who),
      exists: (item, slot) => found(item === 'pushed' ? `/artifactory/acme-generic/new/${slot}.txt` : `/artifactory/acme-generic/del/${slot}.txt`),
      expectRefusal: restRefusal,
    },
    {
      repo: 'acme-docker',
      packageType: 'docker',
      async setup() {
        for (const blob of blobsOfImage(image).slice(1)) {
          const res = await raw('POST', `/v2/acme-docker/app/blobs/uploads/?digest=sha256:${sha256(blob.bytes)}`, server.adminAuth, { body: blob.bytes, headers: { 'content-type': 'application/octet-stream' } })
          expect(res.status, await res.clone().text()).toBe(201)
        }
        for (const tag of ['latest', ...CALLERS.map((_, slot) => `del-${slot}`)]) {
          expect((await putManifest(server.adminAuth, tag)).status).toBe(201)
        }
      },
      read: (who) => raw('GET', '/v2/acme-docker/app/manifests/latest', who, { headers: { accept: image.manifest.descriptor.mediaType } }),
      push: (who, slot) => putManifest(who, `new-${slot}`),
      delete: (who, slot) => raw('DELETE', `/v2/acme-docker/app/manifests/del-${slot}`, who),
      exists: (item, slot) => found(`/v2/acme-docker/app/manifests/${item === 'pushed' ? 'new' : 'del'}-${slot}`),
      expectRefusal: (_action, res, status) => expectOciError(res, status),
    },
    {
      repo: 'acme-npm',
      packageType: 'npm',
      async setup() {
        for (const name of ['pkg', ...CALLERS.map((_, slot) => `del-${slot}`)]) {
          const { body } = await npmPackage({ name, version: '1.0.0' })
          const res = await raw('PUT', `/artifactory/api/npm/acme-npm/${name}`, server.adminAuth, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
          expect(res.status, await res.clone().text()).toBe(201)
        }
      },
      read: (who) => raw('GET', '/artifactory/api/npm/acme-npm/pkg', who),
      async push(who, slot) {
        const { body } = await npmPackage({ name: 'pkg', version: `2.0.${slot}` })
        return raw('PUT', '/artifactory/api/npm/acme-npm/pkg', who, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
      },
      async delete(who, slot) {
        const packument = (await (await raw('GET', `/artifactory/api/npm/acme-npm/del-${slot}`, server.adminAuth)).json()) as { _rev: string }
        return raw('DELETE', `/artifactory/api/npm/acme-npm/del-${slot}/-rev/${packument._rev}`, who)
      },
      async exists(item, slot) {
        if (item === 'kept') return found(`/artifactory/api/npm/acme-npm/del-${slot}`)
        const packument = (await (await raw('GET', '/artifactory/api/npm/acme-npm/pkg', server.adminAuth)).json()) as { versions: Record<string, unknown> }
        return `2.0.${slot}` in packument.versions
      },
      expectRefusal: (_action, res, status) => expectNpmError(res, status),
    },
    {
      // Upload and read in PyPI's APIs; PyPI has no delete in its protocol: twine has none, and
      // Artifactory's users delete a file through the REST API, whose errors are `{"errors"}`.
      repo: 'acme-pypi',
      packageType: 'pypi',
      async setup() {
        for (const version of ['1.0.0', ...CALLERS.map((_, slot) => `0.${slot}.0`)]) {
          const res = await raw('POST', '/artifactory/api/pypi/acme-pypi', server.adminAuth, { body: twineForm(await pyWheel(version), 'pkg', version) })
          expect(res.status, await res.clone().text()).toBe(200)
        }
      },
      read: async (who) => {
        const wheel = await pyWheel('1.0.0')
        return inTurn(
          () => raw('GET', '/artifactory/api/pypi/acme-pypi/simple/pkg/', who),
          () => raw('GET', `/artifactory/api/pypi/acme-pypi/packages/pkg/1.0.0/${wheel.filename}`, who),
        )
      },
      push: async (who, slot) => raw('POST', '/artifactory/api/pypi/acme-pypi', who, { body: twineForm(await pyWheel(`2.0.${slot}`), 'pkg', `2.0.${slot}`) }),
      delete: async (who, slot) => raw('DELETE', `/artifactory/acme-pypi/pkg/0.${slot}.0/${(await pyWheel(`0.${slot}.0`)).filename}`, who),
      async exists(item, slot) {
        const version = item === 'pushed' ? `2.0.${slot}` : `0.${slot}.0`
        const page = await raw('GET', '/artifactory/api/pypi/acme-pypi/simple/pkg/', server.adminAuth, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })
        expect(page.status).toBe(200)
        const { files } = (await page.json()) as { files: { filename: string }[] }
        return files.some((f) => f.filename === `pkg-${version}-py3-none-any.whl`)
      },
      expectRefusal: (action, res, status) => (action === 'delete' ? restRefusal(action, res, status) : expectPypiError(res, status)),
    },
    {
      // As mvn deploy: the jar, its checksum, the pom, then maven-metadata.xml (which Trove generates itself).
      repo: 'acme-maven',
      packageType: 'maven',
      async setup() {
        for (const version of ['1.0', ...CALLERS.map((_, slot) => `0.${slot}`)]) {
          expect((await raw('PUT', `${mavenBase}/${version}/lib-${version}.jar`, server.adminAuth, { body: `jar ${version}` })).status).toBe(201)
        }
      },
      read: (who) => inTurn(() => raw('GET', `${mavenBase}/maven-metadata.xml`, who), () => raw('GET', `${mavenBase}/1.0/lib-1.0.jar`, who)),
      push: (who, slot) => {
        const version = `2.${slot}`
        const jar = `jar ${version}`
        return inTurn(
          () => raw('PUT', `${mavenBase}/${version}/lib-${version}.jar`, who, { body: jar }),
          () => raw('PUT', `${mavenBase}/${version}/lib-${version}.jar.sha1`, who, { body: createHash('sha1').update(jar).digest('hex') }),
          () => raw('PUT', `${mavenBase}/${version}/lib-${version}.pom`, who, { body: pom(version) }),
          () => raw('PUT', `${mavenBase}/maven-metadata.xml`, who, { body: '<metadata/>' }),
        )
      },
      delete: (who, slot) => raw('DELETE', `${mavenBase}/0.${slot}/lib-0.${slot}.jar`, who),
      exists: (item, slot) => (item === 'pushed' ? found(`${mavenBase}/2.${slot}/lib-2.${slot}.jar`) : found(`${mavenBase}/0.${slot}/lib-0.${slot}.jar`)),
      expectRefusal: restRefusal,
    },
    {
      repo: 'acme-helm',
      packageType: 'helm',
      async setup() {
        for (const version of ['1.0.0', ...CALLERS.map((_, slot) => `0.${slot}.0`)]) {
          const res = await raw('PUT', `/artifactory/api/helm/acme-helm/${chartFile('app', version)}`, server.adminAuth, { body: await buildChart({ name: 'app', version }) })
          expect(res.status, await res.clone().text()).toBe(201)
        }
      },
      read: (who) =>
        inTurn(
          () => raw('GET', '/artifactory/api/helm/acme-helm/index.yaml', who),
          () => raw('GET', `/artifactory/api/helm/acme-helm/${chartFile('app', '1.0.0')}`, who),
        ),
      push: async (who, slot) => raw('PUT', `/artifactory/api/helm/acme-helm/${chartFile('app', `2.0.${slot}`)}`, who, { body: await buildChart({ name: 'app', version: `2.0.${slot}` }) }),
      delete: (who, slot) => raw('DELETE', `/artifactory/api/helm/acme-helm/${chartFile('app', `0.${slot}.0`)}`, who),
      async exists(item, slot) {
        const version = item === 'pushed' ? `2.0.${slot}` : `0.${slot}.0`
        const stored = await found(`/artifactory/api/helm/acme-helm/${chartFile('app', version)}`)
        const index = parseYaml(await (await raw('GET', '/artifactory/api/helm/acme-helm/index.yaml', server.adminAuth)).text()) as { entries: Record<string, { version: string }[]> }
        // The index follows the files (reindexed after each change) for what a refusal left alone.
        expect((index.entries.app ?? []).some((e) => e.version === version)).toBe(stored)
        return stored
      },
      expectRefusal: restRefusal,
    },
  ]

  const mavenBase = '/artifactory/acme-maven/org/acme/lib'
  const pom = (version: string) =>
    `<?xml version="1.0"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>org.acme</groupId><artifactId>lib</artifactId><version>${version}</version></project>\n`
  const wheels = new Map<string, Promise<PythonDist>>()
  const pyWheel = (version: string) => {
    if (!wheels.has(version)) wheels.set(version, buildWheel({ name: 'pkg', version }))
    return wheels.get(version)!
  }

  function putManifest(who: string | null, tag: string): Promise<Response> {
    return raw('PUT', `/v2/acme-docker/app/manifests/${tag}`, who, { body: image.manifest.bytes, headers: { 'content-type': image.manifest.descriptor.mediaType } })
  }

  beforeAll(async () => {
    server = workers === 1 ? await startTestServer({ backend }) : await startWorkersServer({ backend, workers })
    call = apiClient(server)
    image = buildImage('tenancy', 2)
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'acme', storage_quota_bytes: -1 } })).status).toBe(201)
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'other' } })).status).toBe(201)
    const roles: [Caller, string][] = [['Project Admin', 'pa'], ['Developer', 'developer'], ['Contributor', 'contributor'], ['Viewer', 'viewer']]
    for (const [role, name] of roles) {
      auth[role] = await createUser(call, name)
      expect((await call('PUT', `/access/api/v1/projects/acme/users/${name}`, { json: { roles: [role] } })).status).toBe(200)
    }
    auth['other project'] = await createUser(call, 'stranger')
    expect((await call('PUT', '/access/api/v1/projects/other/users/stranger', { json: { roles: ['Project Admin'] } })).status).toBe(200)
    auth.anonymous = null
    const token = async (who: string, body: Record<string, unknown>) => {
      const res = await call('POST', '/access/api/v1/tokens', { auth: who, json: body })
      expect(res.status, await res.clone().text()).toBe(200)
      return (await res.json()) as { access_token: string; token_id: string }
    }
    const revoked = await token(auth.Developer!, { description: 'to revoke' })
    expect((await call('DELETE', `/access/api/v1/tokens/${revoked.token_id}`, { auth: auth.Developer })).status).toBe(200)
    auth['revoked token'] = `Bearer ${revoked.access_token}`
    auth['expired token'] = `Bearer ${(await token(auth.Developer!, { expires_in: 1 })).access_token}`
    expect((await call('PUT', '/access/api/v1/projects/acme/service-accounts/acme-ci', { auth: auth['Project Admin'], json: { roles: ['Developer'] } })).status).toBe(201)
    auth['service account'] = `Bearer ${(await token(auth['Project Admin']!, { username: 'acme-ci' })).access_token}`
    for (const driver of drivers) {
      const res = await call('PUT', `/artifactory/api/repositories/${driver.repo}`, { auth: auth['Project Admin'], json: { rclass: 'local', packageType: driver.packageType } })
      expect(res.status, await res.clone().text()).toBe(200)
      await driver.setup()
    }
    await new Promise((resolve) => setTimeout(resolve, 1100)) // the expired token's second passes
  }, 300_000) // a node of workers starts each of its processes

  afterAll(async () => {
    await server?.close()
  })

  const cases = drivers.flatMap((d) => CALLERS.map((caller, slot) => [d.packageType, caller, slot] as const))

  it.each(cases)('%s: %s', async (packageType, caller, slot) => {
    const driver = drivers.find((d) => d.packageType === packageType)!
    const who = auth[caller]
    const responses: Record<Action, Response> = {
      read: await driver.read(who),
      push: await driver.push(who, slot),
      delete: await driver.delete(who, slot),
      manage: await call('POST', `/artifactory/api/repositories/${driver.repo}`, { auth: who, json: { description: `changed by ${caller}` } }),
    }
    const actual = Object.fromEntries(Object.entries(responses).map(([action, res]) => [action, res.status < 300 ? 'allow' : res.status]))
    expect(actual).toEqual(EXPECTED[caller])
    for (const [action, outcome] of Object.entries(EXPECTED[caller]) as [Action, 'allow' | 401 | 403][]) {
      if (outcome === 'allow') await responses[action].body?.cancel()
      else if (action === 'manage') await restRefusal(action, responses[action], outcome)
      else await driver.expectRefusal(action, responses[action], outcome)
    }
    // What was refused changed nothing; what was allowed took effect.
    expect(await driver.exists('pushed', slot)).toBe(EXPECTED[caller].push === 'allow')
    expect(await driver.exists('kept', slot)).toBe(EXPECTED[caller].delete !== 'allow')
  })

  it('lists to each caller only the repositories they may read', async () => {
    const listed = async (who: string | null) => ((await (await call('GET', '/artifactory/api/repositories', { auth: who })).json()) as { key: string }[]).map((r) => r.key)
    expect(await listed(auth.Viewer)).toEqual(['acme-docker', 'acme-generic', 'acme-helm', 'acme-maven', 'acme-npm', 'acme-pypi'])
    expect(await listed(auth['other project'])).toEqual([])
    expect(await listed(null)).toEqual([])
  })
})
