/**
 * PyPI remote and virtual repositories over real HTTP. The upstream is a second Trove whose PyPI
 * local repository holds uploaded wheels (its pages are PEP 691 JSON), plus small node:http
 * upstreams serving a PEP 503 HTML page, or a file that does not match its hash. Debian's pip
 * installs through the remote and the virtual with `--require-hashes` and no cache, then again
 * with the upstream stopped.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { buildWheel, PythonHome, type PythonDist } from '../helpers/python.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser, grant } from './generic-support.js'
import { sendBody, startUpstream, type FakeUpstream } from './remote-support.js'

const backends = await metadataBackends()
const hasClients = await requireClients('the pip installs through PyPI remote and virtual repositories', ['pip', 'twine'])

const ALLOW_LOOPBACK = { remote: { allowedUpstreamHosts: ['127.0.0.1'] } }
const API = '/artifactory/api/pypi'
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json'
const PASSWORD = 'secret-pw-1'

type JsonPage = { name: string; files: { filename: string; url: string; hashes: Record<string, string>; 'core-metadata'?: { sha256: string } | true; yanked: unknown }[] }

describe.skipIf(!hasClients).each(backends)('PyPI remote and virtual repositories (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let upstreamTrove: TestServer
  let upstreamAdmin: Client
  let home: PythonHome
  let isUpstreamStopped = false
  const cleanups: (() => Promise<void>)[] = []
  const wheels = new Map<string, PythonDist>()

  const upload = async (client: Client, repo: string, dist: PythonDist, name: string, version: string) => {
    const form = new FormData()
    const fields = { ':action': 'file_upload', protocol_version: '1', name, version, filetype: 'bdist_wheel', sha256_digest: dist.sha256 }
    for (const [key, value] of Object.entries(fields)) form.append(key, value)
    form.append('content', new Blob([dist.bytes]), dist.filename)
    const response = await fetch(`${client.baseUrl}${API}/${repo}/`, { method: 'POST', body: form, headers: { authorization: client.authorization! } })
    expect(response.status, await response.text()).toBe(200)
  }
  const createPypi = async (key: string, config: Record<string, unknown>) => {
    const response = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'pypi', ...config } })
    expect(response.status, response.text).toBe(200)
  }
  const jsonPage = async (repo: string, project: string): Promise<JsonPage> => {
    const response = await admin.get(`${API}/${repo}/simple/${project}/`, { headers: { accept: JSON_TYPE } })
    expect(response.status, response.text).toBe(200)
    return response.json() as JsonPage
  }
  const indexUrl = (repo: string, credentials = '') => `${server.url.replace('http://', `http://${credentials}`)}${API}/${repo}/simple/`
  const pipInstall = (repo: string, requirements: string, target: string, credentials = '') =>
    home.pip(['install', '--no-cache-dir', '--only-binary', ':all:', '--require-hashes', '-r', requirements, '--target', home.path(target), '--index-url', indexUrl(repo, credentials)])
  const valueIn = async (target: string, module: string) =>
    (await home.python(['-c', `import ${module}; print(${module}.VALUE)`], { PYTHONPATH: home.path(target) })).stdout.trim()
  const fake = async (handler: Parameters<typeof startUpstream>[0]): Promise<FakeUpstream> => {
    const started = await startUpstream(handler)
    cleanups.push(() => started.close())
    return started
  }

  beforeAll(async () => {
    upstreamTrove = await startTestServer({ backend })
    upstreamAdmin = new Client(upstreamTrove.url, upstreamTrove.adminAuth)
    const up = await upstreamAdmin.put('/artifactory/api/repositories/up', { body: { key: 'up', rclass: 'local', packageType: 'pypi' } })
    expect(up.status, up.text).toBe(200)
    await createUser(upstreamAdmin, 'mirror', PASSWORD)
    await grant(upstreamAdmin, 'up', 'mirror', ['read'])
    for (const [name, version, value] of [
      ['public-lib', '1.0.0', 'public 1.0'],
      ['public-lib', '2.0.0', 'public 2.0'],
      ['shared-name', '9.0.0', 'FROM UPSTREAM'],
    ] as const) {
      const dist = await buildWheel({ name, version, value, requires: name === 'public-lib' && version === '2.0.0' ? [] : [] })
      wheels.set(`${name}@${version}@upstream`, dist)
      await upload(upstreamAdmin, 'up', dist, name, version)
    }

    server = await startTestServer({ backend, settings: ALLOW_LOOPBACK })
    admin = new Client(server.url, server.adminAuth)
    await createPypi('pyremote', {
      rclass: 'remote',
      url: `${upstreamTrove.url}${API}/up`,
      username: 'mirror',
      password: PASSWORD,
      anonymousRead: true,
      // Every page is re-checked upstream: the stopped-upstream test shows stale-if-error.
      retrievalCachePeriodSecs: 0,
      assumedOfflinePeriodSecs: 0,
    })
    await createPypi('pyprivate', { rclass: 'local' })
    await createPypi('pyvirtual', { rclass: 'virtual', repositories: ['pyprivate', 'pyremote'], defaultDeploymentRepo: 'pyprivate' })
    await createUser(admin, 'dev', PASSWORD)
    for (const repo of ['pyprivate', 'pyvirtual', 'pyremote']) await grant(admin, repo, 'dev', ['read', 'deploy'])
    const shared = await buildWheel({ name: 'shared-name', version: '1.0.0', value: 'private' })
    wheels.set('shared-name@1.0.0@private', shared)
    await upload(admin.asUser('dev', PASSWORD), 'pyprivate', shared, 'shared-name', '1.0.0')
    home = await PythonHome.create()
  })

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup()
    await home?.remove()
    await server?.close()
    if (!isUpstreamStopped) await upstreamTrove?.close()
  })

  it('1. a remote serves the upstream page rewritten to point back to Trove, hashes and metadata kept', async () => {
    const page = await jsonPage('pyremote', 'public-lib')
    const wheel = wheels.get('public-lib@1.0.0@upstream')!
    const file = page.files.find((f) => f.filename === wheel.filename)!
    expect(file.url).toBe(`../../packages/public-lib/${wheel.filename}`)
    expect(file.hashes).toEqual({ sha256: wheel.sha256 })
    expect(file['core-metadata']).toEqual({ sha256: createHash('sha256').update(wheel.metadata).digest('hex') })
    // HTML too, from the same cached upstream page.
    const html = await admin.get(`${API}/pyremote/simple/public-lib/`)
    expect(html.text).toContain(`href="../../packages/public-lib/${wheel.filename}#sha256=${wheel.sha256}"`)
    // The metadata file comes from upstream, verified against its hash, and is cached.
    const metadata = await admin.get(`${API}/pyremote/packages/public-lib/${wheel.filename}.metadata`)
    expect(metadata.status, metadata.text).toBe(200)
    expect(metadata.text).toBe(wheel.metadata)
    expect((await admin.get(`/artifactory/api/storage/pyremote/public-lib/${wheel.filename}.metadata`)).status).toBe(200)
  })

  it('2. pip installs through the remote with --require-hashes; the wheel is cached', async () => {
    const wheel = wheels.get('public-lib@2.0.0@upstream')!
    const requirements = await home.write('remote.txt', `public-lib==2.0.0 --hash=sha256:${wheel.sha256}\n`)
    const result = await pipInstall('pyremote', requirements, 'site-remote')
    expect(result.code, result.output).toBe(0)
    expect(await valueIn('site-remote', 'public_lib')).toBe('public 2.0')
    const cached = await admin.get(`/artifactory/api/storage/pyremote/public-lib/${wheel.filename}`)
    expect(cached.status, cached.text).toBe(200)
    expect(cached.json().checksums.sha256).toBe(wheel.sha256)
  })

  it('3. a virtual merges its members, and guards against dependency confusion', async () => {
    const projects = await admin.get(`${API}/pyvirtual/simple/`, { headers: { accept: JSON_TYPE } })
    expect(projects.json().projects.map((p: { name: string }) => p.name)).toEqual(['public-lib', 'shared-name'])
    expect((await jsonPage('pyvirtual', 'public-lib')).files.map((f) => f.filename)).toHaveLength(2)
    // shared-name is in the local member: the upstream's 9.0.0 is never offered, nor served.
    const shared = await jsonPage('pyvirtual', 'shared-name')
    expect(shared.files.map((f) => f.filename)).toEqual([wheels.get('shared-name@1.0.0@private')!.filename])
    const upstreamFile = wheels.get('shared-name@9.0.0@upstream')!.filename
    expect((await admin.get(`${API}/pyvirtual/packages/shared-name/${upstreamFile}`)).status).toBe(404)
    // The remote alone still has it (the guard is the virtual's).
    expect((await jsonPage('pyremote', 'shared-name')).files.map((f) => f.filename)).toEqual([upstreamFile])

    const requirements = await home.write('virtual.txt', `shared-name --hash=sha256:${wheels.get('shared-name@1.0.0@private')!.sha256}\n`)
    const result = await home.pip([
      'install', '--no-cache-dir', '--only-binary', ':all:', '--require-hashes', '-r', requirements, '--target', home.path('site-virtual'), '--index-url', indexUrl('pyvirtual', `dev:${PASSWORD}@`),
    ])
    // --require-hashes wants pins: an unpinned requirement is refused by pip before any download.
    expect(result.code).not.toBe(0)
    const pinned = await home.write('virtual-pinned.txt', `shared-name==1.0.0 --hash=sha256:${wheels.get('shared-name@1.0.0@private')!.sha256}\n`)
    const installed = await pipInstall('pyvirtual', pinned, 'site-virtual', `dev:${PASSWORD}@`)
    expect(installed.code, installed.output).toBe(0)
    expect(await valueIn('site-virtual', 'shared_name')).toBe('private')
  })

  it('4. twine uploads through the virtual to its default deployment repository; a remote refuses uploads', async () => {
    const dist = await buildWheel({ name: 'team-tool', version: '0.1.0', value: 'team' })
    const file = await home.write(`dist/${dist.filename}`, dist.bytes)
    const result = await home.twine(['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', `${server.url}${API}/pyvirtual`, '-u', 'dev', '-p', PASSWORD, file])
    expect(result.code, result.output).toBe(0)
    expect((await admin.get(`/artifactory/api/storage/pyprivate/team-tool/0.1.0/${dist.filename}`)).status).toBe(200)
    expect((await jsonPage('pyvirtual', 'team-tool')).files.map((f) => f.filename)).toEqual([dist.filename])
    const refused = await home.twine(['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', `${server.url}${API}/pyremote`, '-u', 'admin', '-p', 'admin-password-for-tests', file])
    expect(refused.code).not.toBe(0)
    expect(refused.output).toMatch(/HTTPError: 405 Method Not Allowed .*\n?.*'pyremote' is a remote PyPI repository \(a cache\): upload to a local PyPI repository/)
  })

  it('5. reads an upstream HTML page (PEP 503) with relative links and metadata; refuses a file that does not match its hash', async () => {
    const good = await buildWheel({ name: 'html-lib', version: '1.0.0', value: 'html' })
    const bad = await buildWheel({ name: 'html-lib', version: '1.1.0', value: 'bad' })
    const metadataSha = createHash('sha256').update(good.metadata).digest('hex')
    const upstream = await fake((request, response) => {
      const path = (request.url ?? '').split('?')[0]
      if (path === '/simple/html-lib/') {
        return sendBody(
          response,
          `<!DOCTYPE html><html><body>\n<a href="../../files/${good.filename}#sha256=${good.sha256}" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=${metadataSha}">${good.filename}</a>\n` +
            `<a href="../../files/${bad.filename}#sha256=${'0'.repeat(64)}" data-yanked="">${bad.filename}</a>\n</body></html>`,
          { 'content-type': 'text/html' },
        )
      }
      if (path === `/files/${good.filename}`) return sendBody(response, good.bytes)
      if (path === `/files/${good.filename}.metadata`) return sendBody(response, good.metadata)
      if (path === `/files/${bad.filename}`) return sendBody(response, bad.bytes)
      return sendBody(response, 'not found', {}, 404)
    })
    await createPypi('pyhtml', { rclass: 'remote', url: upstream.url, anonymousRead: true })
    const page = await jsonPage('pyhtml', 'html-lib')
    expect(page.files).toEqual([
      expect.objectContaining({ filename: good.filename, url: `../../packages/html-lib/${good.filename}`, hashes: { sha256: good.sha256 }, 'requires-python': '>=3.8', 'core-metadata': { sha256: metadataSha }, yanked: false }),
      expect.objectContaining({ filename: bad.filename, yanked: true }),
    ])
    const requirements = await home.write('html.txt', `html-lib==1.0.0 --hash=sha256:${good.sha256}\n`)
    const result = await pipInstall('pyhtml', requirements, 'site-html')
    expect(result.code, result.output).toBe(0)
    expect(await valueIn('site-html', 'html_lib')).toBe('html')

    // The upstream's bytes do not match its own page: the download fails and nothing is cached.
    const response = await fetch(`${server.url}${API}/pyhtml/packages/html-lib/${bad.filename}`)
    const failed = await response.arrayBuffer().then(() => false, () => true)
    expect(response.status !== 200 || failed).toBe(true)
    expect((await admin.get(`/artifactory/api/storage/pyhtml/html-lib/${bad.filename}`)).status).toBe(404)
  })

  it('6. with the upstream stopped, what was cached still installs (stale pages, cached files)', async () => {
    await upstreamTrove.close()
    isUpstreamStopped = true
    const wheel = wheels.get('public-lib@2.0.0@upstream')!
    const requirements = await home.write('offline.txt', `public-lib==2.0.0 --hash=sha256:${wheel.sha256}\n`)
    for (const [repo, credentials] of [['pyremote', ''], ['pyvirtual', `dev:${PASSWORD}@`]] as const) {
      const result = await pipInstall(repo, requirements, `site-offline-${repo}`, credentials)
      expect(result.code, `${repo}: ${result.output}`).toBe(0)
      expect(await valueIn(`site-offline-${repo}`, 'public_lib')).toBe('public 2.0')
    }
    // What was never cached is an upstream failure (502), not a 404.
    const never = await admin.get(`${API}/pyremote/simple/never-fetched/`)
    expect(never.status).toBe(502)
  })
})
