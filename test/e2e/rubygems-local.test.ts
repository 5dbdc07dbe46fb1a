/**
 * RubyGems local repositories with the real gem and bundler: gem push with the API key
 * (Artifactory's `Basic` credentials in ~/.gem/credentials, or a bare token), gem install and
 * bundle install of a gem and its dependency, gem yank; refusals with gem's own output and
 * nothing stored (a broken archive, a path leaving the gem, an overwrite, a reader, read-only).
 */
import { writeFile, chmod, mkdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { GemHome, type BuiltGem } from '../helpers/rubygems.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser, grant } from './generic-support.js'
import { hostileGem } from '../helpers/gem-archives.js'

const backends = await metadataBackends()
const hasClients = await requireClients('the gem and bundler suite (RubyGems local)', ['gem', 'bundle'])
const API = '/artifactory/api/gems'
const PASSWORD = 'secret-pw-1'

describe.skipIf(!hasClients).each(backends)('RubyGems local repositories with gem and bundler (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let home: GemHome
  let hello: BuiltGem
  let app: BuiltGem
  const repoUrl = (repo: string) => `${server.url}${API}/${repo}`
  const sourceUrl = (repo: string, user = 'dev') => `${server.url.replace('http://', `http://${user}:${PASSWORD}@`)}${API}/${repo}/`
  const push = (file: string, repo: string, key = basicAuth('dev', PASSWORD)) => home.gem(['push', file, '--host', repoUrl(repo)], { env: { GEM_HOST_API_KEY: key } })
  const storedGems = async (repo: string) => {
    const response = await admin.get(`/artifactory/api/storage/${repo}/gems`)
    return response.status === 404 ? [] : ((response.json() as { children: { uri: string }[] }).children ?? []).map((c) => c.uri)
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    for (const key of ['gemlocal', 'gemother']) {
      const created = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, rclass: 'local', packageType: 'gems' } })
      expect(created.status, created.text).toBe(200)
    }
    await createUser(admin, 'dev', PASSWORD)
    await createUser(admin, 'reader', PASSWORD)
    await grant(admin, 'gemlocal', 'dev', ['read', 'deploy', 'delete'])
    await grant(admin, 'gemlocal', 'reader', ['read'])
    home = await GemHome.create()
    hello = await home.build('trove_hello', '1.0.0', 'hello from trove')
    app = await home.build('trove_app', '0.1.0', 'app', [['trove_hello', '~> 1.0']])
  })

  afterAll(async () => {
    await home?.remove()
    await server?.close()
  })

  it('gem push with the API key from ~/.gem/credentials, as Artifactory documents it', async () => {
    // The key file is what <repo>/api/v1/api_key.yaml answers.
    const keyFile = await admin.asUser('dev', PASSWORD).get(`${API}/gemlocal/api/v1/api_key.yaml`)
    expect(keyFile.status, keyFile.text).toBe(200)
    expect(keyFile.text).toBe(`---\n:rubygems_api_key: ${basicAuth('dev', PASSWORD)}\n`)
    await writeFile(home.path('home/.gem/credentials'), keyFile.text)
    await chmod(home.path('home/.gem/credentials'), 0o600)
    const pushed = await home.gem(['push', hello.file, '--host', repoUrl('gemlocal')])
    expect(pushed.code, pushed.output).toBe(0)
    expect(pushed.output).toContain('Successfully registered gem: trove_hello (1.0.0)')
    const pushedApp = await push(app.file, 'gemlocal')
    expect(pushedApp.code, pushedApp.output).toBe(0)
    expect(await storedGems('gemlocal')).toEqual(['/trove_app-0.1.0.gem', '/trove_hello-1.0.0.gem'])
  })

  it('serves the compact index with checksums and an md5 ETag, and the legacy indexes', async () => {
    const info = await admin.get(`${API}/gemlocal/info/trove_app`)
    expect(info.text).toMatch(/^---\n0\.1\.0 trove_hello:~> 1\.0\|checksum:[0-9a-f]{64}\n$/)
    const versions = await admin.get(`${API}/gemlocal/versions`)
    expect(versions.text).toMatch(/\ntrove_hello 1\.0\.0 [0-9a-f]{32}\n/)
    const etag = versions.headers['etag'] as string
    expect((await admin.get(`${API}/gemlocal/versions`, { headers: { 'if-none-match': etag } })).status).toBe(304)
    expect((await admin.get(`${API}/gemlocal/names`)).text).toBe('---\ntrove_app\ntrove_hello\n')
    expect((await admin.get(`${API}/gemlocal/specs.4.8.gz`)).status).toBe(200)
    expect((await admin.get(`${API}/gemlocal/quick/Marshal.4.8/trove_app-0.1.0.gemspec.rz`)).status).toBe(200)
  })

  it('gem install takes a gem and its dependency from the repository only', async () => {
    const installed = await home.gem(['install', 'trove_app', '--clear-sources', '--source', sourceUrl('gemlocal'), '--no-document'])
    expect(installed.code, installed.output).toBe(0)
    expect(installed.output).toContain('Successfully installed trove_hello-1.0.0')
    const value = await home.run('ruby', ['-e', 'require "trove_hello"; print TroveHello::VALUE'])
    expect(value.stdout).toBe('hello from trove')
    const listed = await home.gem(['list', '--remote', '--clear-sources', '--source', sourceUrl('gemlocal')])
    expect(listed.output).toContain('trove_hello (1.0.0)')
  })

  it('bundle install with a Gemfile whose source is Trove and credentials from bundle config', async () => {
    const project = home.path('project')
    await mkdir(project, { recursive: true })
    await writeFile(`${project}/Gemfile`, `source "${repoUrl('gemlocal')}/"\n\ngem "trove_app"\n`)
    const configured = await home.run('bundle', ['config', 'set', '--global', `${repoUrl('gemlocal')}/`, `dev:${PASSWORD}`], { cwd: project })
    expect(configured.code, configured.output).toBe(0)
    const bundled = await home.run('bundle', ['install'], { cwd: project })
    expect(bundled.code, bundled.output).toBe(0)
    const lock = await home.run('cat', ['Gemfile.lock'], { cwd: project })
    expect(lock.stdout).toContain('trove_hello (1.0.0)')
    const value = await home.run('bundle', ['exec', 'ruby', '-e', 'require "trove_hello"; print TroveHello::VALUE'], { cwd: project })
    expect(value.stdout, value.output).toBe('hello from trove')
  })

  it('refuses an overwrite, a broken archive and path tricks with gem push printing why; nothing is stored', async () => {
    const again = await push(hello.file, 'gemlocal')
    expect(again.code).not.toBe(0)
    expect(again.output).toContain('Repushing of gem versions is not allowed')
    const before = await storedGems('gemlocal')
    // gem refuses a broken file before sending it: its own words.
    const junk = home.path('junk-0.1.0.gem')
    await writeFile(junk, 'not a gem at all')
    const local = await push(junk, 'gemlocal')
    expect(local.code).not.toBe(0)
    expect(local.output).toContain('package metadata is missing')
    // What gem would not send, Trove refuses too: the same POST gem makes, with the reason as the body gem prints.
    for (const [label, bytes, reason] of [
      ['junk', Buffer.from('not a gem at all'), 'Invalid gem'],
      ['escape', await hostileGem('outer-dotdot'), "leaves the archive ('..')"],
      ['inner', await hostileGem('inner-dotdot'), "leaves the archive ('..')"],
      ['extra', await hostileGem('extra-entry'), "unexpected entry 'evil.rb'"],
      ['bad-name', await hostileGem('bad-name'), 'is not a valid gem name'],
    ] as const) {
      const refused = await fetch(`${repoUrl('gemlocal')}/api/v1/gems`, {
        method: 'POST',
        body: bytes,
        headers: { authorization: basicAuth('dev', PASSWORD), 'content-type': 'application/octet-stream' },
      })
      expect(refused.status, label).toBe(400)
      expect(await refused.text(), label).toContain(reason)
    }
    expect(await storedGems('gemlocal')).toEqual(before)
  })

  it("a deploy through the REST API to gems/<file>.gem is checked like a push, the file name matching the gemspec", async () => {
    const rest = await home.build('trove_rest', '1.0.0', 'deployed')
    const dev = admin.asUser('dev', PASSWORD)
    const mismatch = await dev.put('/artifactory/gemlocal/gems/trove_rest-2.0.0.gem', { body: rest.bytes })
    expect(mismatch.status).toBe(400)
    expect(mismatch.text).toContain("'trove_rest-2.0.0.gem' holds the gemspec of trove_rest-1.0.0")
    const elsewhere = await dev.put('/artifactory/gemlocal/quick/Marshal.4.8/trove_rest-1.0.0.gemspec.rz', { body: Buffer.from('x') })
    expect(elsewhere.status).toBe(400)
    expect(await storedGems('gemlocal')).not.toContain('/trove_rest-1.0.0.gem')
    const deployed = await dev.put('/artifactory/gemlocal/gems/trove_rest-1.0.0.gem', { body: rest.bytes })
    expect(deployed.status, deployed.text).toBe(201)
    expect((await admin.get(`${API}/gemlocal/info/trove_rest`)).text).toMatch(/^---\n1\.0\.0 \|checksum:[0-9a-f]{64}\n$/)
    expect((await admin.get(`${API}/gemlocal/quick/Marshal.4.8/trove_rest-1.0.0.gemspec.rz`)).status).toBe(200)
  })

  it('refuses a reader and anyone on a repository they have no rights on; a bare token works as the key', async () => {
    const reader = await push(hello.file, 'gemother', basicAuth('reader', PASSWORD))
    expect(reader.code).not.toBe(0)
    expect(reader.output).toMatch(/reader/)
    const wrong = await push(hello.file, 'gemlocal', basicAuth('dev', 'not-the-password'))
    expect(wrong.code).not.toBe(0)
    expect(wrong.output).toContain('The API key was not accepted')
    const junkKey = await push(hello.file, 'gemlocal', 'not-a-token')
    expect(junkKey.code).not.toBe(0)
    const token = await admin.asUser('dev', PASSWORD).post('/access/api/v1/tokens', { body: {} })
    expect(token.status, token.text).toBe(200)
    const bare = (token.json() as { access_token: string }).access_token
    const other = await push(hello.file, 'gemother', bare)
    expect(other.code).not.toBe(0)
    expect(other.output).toContain('dev')
    const v2 = await home.build('trove_hello', '1.1.0', 'hello 1.1')
    const withToken = await push(v2.file, 'gemlocal', bare)
    expect(withToken.code, withToken.output).toBe(0)
    expect(await storedGems('gemother')).toEqual([])
  })

  it('refuses a push while Trove is read-only', async () => {
    const v3 = await home.build('trove_hello', '1.2.0', 'hello 1.2')
    expect((await admin.put('/api/v1/system/read-only', { body: { enabled: true, message: 'maintenance' } })).status).toBe(200)
    try {
      const refused = await push(v3.file, 'gemlocal')
      expect(refused.code).not.toBe(0)
      expect(refused.output).toContain('maintenance')
    } finally {
      await admin.put('/api/v1/system/read-only', { body: { enabled: false } })
    }
    expect(await storedGems('gemlocal')).not.toContain('/trove_hello-1.2.0.gem')
  })

  it('gem yank removes a version from the indexes and the repository', async () => {
    const yanked = await home.gem(['yank', 'trove_hello', '-v', '1.1.0', '--host', repoUrl('gemlocal')], { env: { GEM_HOST_API_KEY: basicAuth('dev', PASSWORD) } })
    expect(yanked.code, yanked.output).toBe(0)
    expect(yanked.output).toContain('Successfully deleted gem: trove_hello-1.1.0')
    expect((await admin.get(`${API}/gemlocal/info/trove_hello`)).text).not.toContain('1.1.0')
    expect(await storedGems('gemlocal')).not.toContain('/trove_hello-1.1.0.gem')
    const missing = await home.gem(['yank', 'trove_hello', '-v', '9.9.9', '--host', repoUrl('gemlocal')], { env: { GEM_HOST_API_KEY: basicAuth('dev', PASSWORD) } })
    // gem yank prints the answer whatever its status.
    expect(missing.output).toContain('The version 9.9.9 of \'trove_hello\' does not exist')
  })
})
