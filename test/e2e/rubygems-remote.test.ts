/**
 * RubyGems remote and virtual repositories with the real gem and bundler. The upstream is a
 * second Trove whose gems local repository holds pushed gems. gem install through the remote
 * (cold, then warm with the upstream stopped), bundle install through a virtual whose private
 * member has a gem of the same name as a public one (the dependency-confusion guard keeps it),
 * and a push through the virtual landing in its deployment repository.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { marshalLoad } from '../../src/formats/rubygems/marshal.js'
import { tuplesOf } from '../../src/formats/rubygems/resolver.js'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { gemOf } from '../helpers/gem-archives.js'
import { GemHome } from '../helpers/rubygems.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser, grant } from './generic-support.js'
import { sendBody, startUpstream } from './remote-support.js'

const backends = await metadataBackends()
const hasClients = await requireClients('the gem and bundler suite (RubyGems remote and virtual)', ['gem', 'bundle'])
const API = '/artifactory/api/gems'
const PASSWORD = 'secret-pw-1'

describe.skipIf(!hasClients).each(backends)('RubyGems remote and virtual repositories (%s)', (backend) => {
  let server: TestServer
  let upstream: TestServer
  let admin: Client
  let home: GemHome
  let isUpstreamStopped = false
  const repoUrl = (repo: string) => `${server.url}${API}/${repo}`
  const sourceUrl = (repo: string) => `${server.url.replace('http://', `http://dev:${PASSWORD}@`)}${API}/${repo}/`
  const gemsIn = async (repo: string) => {
    const response = await admin.get(`/artifactory/api/storage/${repo}/gems`)
    return response.status === 404 ? [] : (response.json() as { children: { uri: string }[] }).children.map((c) => c.uri)
  }
  const freshHome = async () => {
    await home?.remove()
    home = await GemHome.create()
  }
  const pushTo = async (base: string, repo: string, file: string, user: string) =>
    home.gem(['push', file, '--host', `${base}${API}/${repo}`], { env: { GEM_HOST_API_KEY: basicAuth(user, PASSWORD) } })

  beforeAll(async () => {
    upstream = await startTestServer({ backend })
    const upAdmin = new Client(upstream.url, upstream.adminAuth)
    expect((await upAdmin.put('/artifactory/api/repositories/up', { body: { key: 'up', rclass: 'local', packageType: 'gems' } })).status).toBe(200)
    await createUser(upAdmin, 'mirror', PASSWORD)
    await grant(upAdmin, 'up', 'mirror', ['read', 'deploy'])
    home = await GemHome.create()
    for (const [name, version, value] of [
      ['pub_lib', '1.0.0', 'public 1.0'],
      ['pub_lib', '2.0.0', 'public 2.0'],
      ['shared_name', '9.0.0', 'FROM UPSTREAM'],
    ] as const) {
      const built = await home.build(name, version, value)
      const pushed = await pushTo(upstream.url, 'up', built.file, 'mirror')
      expect(pushed.code, pushed.output).toBe(0)
    }

    server = await startTestServer({ backend, settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    admin = new Client(server.url, server.adminAuth)
    const create = async (key: string, body: Record<string, unknown>) => {
      const response = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'gems', ...body } })
      expect(response.status, response.text).toBe(200)
    }
    await create('gemremote', {
      rclass: 'remote',
      url: `${upstream.url}${API}/up`,
      username: 'mirror',
      password: PASSWORD,
      retrievalCachePeriodSecs: 0,
      assumedOfflinePeriodSecs: 0,
    })
    await create('gemprivate', { rclass: 'local' })
    await create('gemvirtual', { rclass: 'virtual', repositories: ['gemprivate', 'gemremote'], defaultDeploymentRepo: 'gemprivate' })
    await createUser(admin, 'dev', PASSWORD)
    for (const repo of ['gemremote', 'gemprivate', 'gemvirtual']) await grant(admin, repo, 'dev', ['read', 'deploy'])
    const shared = await home.build('shared_name', '1.0.0', 'private')
    const pushed = await pushTo(server.url, 'gemprivate', shared.file, 'dev')
    expect(pushed.code, pushed.output).toBe(0)
  })

  afterAll(async () => {
    await home?.remove()
    await server?.close()
    if (!isUpstreamStopped) await upstream?.close()
  })

  it('gem install through the remote (cold): the newest version, its file cached', async () => {
    await freshHome()
    const installed = await home.gem(['install', 'pub_lib', '--clear-sources', '--source', sourceUrl('gemremote'), '--no-document'])
    expect(installed.code, installed.output).toBe(0)
    expect(installed.output).toContain('Successfully installed pub_lib-2.0.0')
    expect((await home.run('ruby', ['-e', 'require "pub_lib"; print PubLib::VALUE'])).stdout).toBe('public 2.0')
    expect(await gemsIn('gemremote')).toEqual(['/pub_lib-2.0.0.gem'])
  })

  it('the virtual merges the indexes; a private gem name is never answered from the remote', async () => {
    const versions = (await admin.get(`${API}/gemvirtual/versions`)).text
    expect(versions).toMatch(/\npub_lib 1\.0\.0,2\.0\.0 [0-9a-f]{32}\n/)
    expect(versions).toMatch(/\nshared_name 1\.0\.0 [0-9a-f]{32}\n/)
    expect((await admin.get(`${API}/gemvirtual/info/shared_name`)).text).not.toContain('9.0.0')
    const specs = tuplesOf(marshalLoad(gunzipSync((await admin.get(`${API}/gemvirtual/specs.4.8.gz`)).body)))
    expect(specs.map((t) => `${t.name}-${t.version}`)).toEqual(['pub_lib-1.0.0', 'pub_lib-2.0.0', 'shared_name-1.0.0'])
  })

  it('bundle install through the virtual with a Gemfile whose source is Trove', async () => {
    await freshHome()
    const project = home.path('project')
    await mkdir(project, { recursive: true })
    await writeFile(`${project}/Gemfile`, `source "${repoUrl('gemvirtual')}/"\n\ngem "pub_lib", "1.0.0"\ngem "shared_name"\n`)
    expect((await home.run('bundle', ['config', 'set', '--global', `${repoUrl('gemvirtual')}/`, `dev:${PASSWORD}`])).code).toBe(0)
    const bundled = await home.run('bundle', ['install'], { cwd: project })
    expect(bundled.code, bundled.output).toBe(0)
    const value = await home.run('bundle', ['exec', 'ruby', '-e', 'require "pub_lib"; require "shared_name"; print PubLib::VALUE, "|", SharedName::VALUE'], { cwd: project })
    expect(value.stdout, value.output).toBe('public 1.0|private')
    expect(await gemsIn('gemremote')).toEqual(['/pub_lib-1.0.0.gem', '/pub_lib-2.0.0.gem'])
  })

  it('gem install through the remote still works with the upstream stopped (warm cache)', async () => {
    await upstream.close()
    isUpstreamStopped = true
    await freshHome()
    const installed = await home.gem(['install', 'pub_lib', '-v', '1.0.0', '--clear-sources', '--source', sourceUrl('gemremote'), '--no-document'])
    expect(installed.code, installed.output).toBe(0)
    expect(installed.output).toContain('Successfully installed pub_lib-1.0.0')
    const viaVirtual = await home.gem(['install', 'pub_lib', '-v', '2.0.0', '--clear-sources', '--source', sourceUrl('gemvirtual'), '--no-document'])
    expect(viaVirtual.code, viaVirtual.output).toBe(0)
  })

  it('a remote refuses a gem that does not match the sha256 of its upstream info line, and caches nothing', async () => {
    const gem = await gemOf('tampered', '1.0.0', [{ name: 'lib/t.rb', body: Buffer.from('') }])
    const fake = await startUpstream((request, response) => {
      if (request.url === '/info/tampered') return sendBody(response, `---\n1.0.0 |checksum:${'0'.repeat(64)}\n`, { 'content-type': 'text/plain' })
      if (request.url === '/gems/tampered-1.0.0.gem') return sendBody(response, gem)
      sendBody(response, 'not found', {}, 404)
    })
    try {
      const created = await admin.put('/artifactory/api/repositories/gemfake', { body: { key: 'gemfake', rclass: 'remote', packageType: 'gems', url: fake.url } })
      expect(created.status, created.text).toBe(200)
      const fetched = await fetch(`${server.url}${API}/gemfake/gems/tampered-1.0.0.gem`, { headers: { authorization: server.adminAuth } })
        .then(async (r) => ({ status: r.status, body: Buffer.from(await r.arrayBuffer()) }))
        .catch(() => ({ status: 0, body: Buffer.alloc(0) }))
      // Either refused before the body or cut mid-way: never the whole file with a success.
      expect(fetched.status === 200 && fetched.body.equals(gem)).toBe(false)
      expect(fake.hits('/gems/tampered-1.0.0.gem')).toBe(1)
      expect(await gemsIn('gemfake')).toEqual([])
    } finally {
      await fake.close()
    }
  })

  it('a push through the virtual lands in its deployment repository; a remote takes no push', async () => {
    const built = await home.build('via_virtual', '0.1.0', 'v')
    const pushed = await pushTo(server.url, 'gemvirtual', built.file, 'dev')
    expect(pushed.code, pushed.output).toBe(0)
    expect(await gemsIn('gemprivate')).toContain('/via_virtual-0.1.0.gem')
    const remote = await pushTo(server.url, 'gemremote', built.file, 'dev')
    expect(remote.code).not.toBe(0)
    expect(await gemsIn('gemremote')).not.toContain('/via_virtual-0.1.0.gem')
  })
})
