/**
 * Go uploads Trove refuses, each with a status and a short text (what go and jf print) and
 * nothing stored: archives that are no zip, files outside `<module>@<version>/` or with path
 * tricks, a go.mod that names another module or differs from the `.mod`, a version that does not
 * fit the module path, an overwrite of a published version, a file over its size limit; and the
 * core's rules as they apply to Go repositories: another project's member, the project quota,
 * read-only mode, anonymous reads per repository. Uploads are sent as `jf go-publish` sends them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { libraryFiles, moduleZip, publishVersion } from '../helpers/go.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser, grant, type HttpResponse } from './generic-support.js'

const API = '/artifactory/api/go'

describe('Go uploads refused, with nothing stored', () => {
  let server: TestServer
  let admin: Client

  const put = (repo: string, module: string, file: string, body: Buffer | string, client = admin) => client.put(`${API}/${repo}/${module}/@v/${file}`, { body })
  const expectRefused = (response: HttpResponse, status: number, text: RegExp) => {
    expect(response.status, response.text).toBe(status)
    expect(response.headers['content-type']).toMatch(/^text\/plain/)
    expect(response.text).toMatch(text)
  }
  /** Nothing of the module's version is visible: no file, not listed. */
  const expectNothingStored = async (repo: string, module: string, version: string) => {
    for (const ext of ['zip', 'mod', 'info']) expect((await admin.get(`/artifactory/api/storage/${repo}/${module}/@v/${version}.${ext}`)).status).toBe(404)
    const list = await admin.get(`${API}/${repo}/${module}/@v/list`)
    expect(list.status === 404 || !list.text.split('\n').includes(version), list.text).toBe(true)
  }
  const createGo = async (key: string, config: Record<string, unknown> = {}) => {
    const response = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'go', rclass: 'local', ...config } })
    expect(response.status, response.text).toBe(200)
  }

  beforeAll(async () => {
    server = await startTestServer()
    admin = new Client(server.url, server.adminAuth)
    await createGo('go-local')
  })

  afterAll(async () => {
    await server?.close()
  })

  it('refuses what is not a zip, and zips whose files leave the module root', async () => {
    const module = 'example.com/tricks'
    expectRefused(await put('go-local', module, 'v1.0.0.zip', 'not a zip at all'), 400, /not a zip archive/)
    const files = libraryFiles(module, 'x')
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'other.com/x@v1.0.0/x.go': 'package x' }, /is not below 'example\.com\/tricks@v1\.0\.0\/'/],
      [{ 'example.com/tricks@v1.0.0/../../evil.go': 'package evil' }, /invalid relative path|'\.\.' path element/],
      [{ '/etc/cron.d/evil': 'x' }, /absolute path|not below/],
      [{ 'example.com/tricks@v1.0.0/sub//x.go': 'package x' }, /empty path element/],
      [{ 'example.com/tricks@v1.0.0/A.go': 'package a', 'example.com/tricks@v1.0.0/a.go': 'package a' }, /twice/],
      [{ 'example.com/tricks@v1.0.1/x.go': 'package x' }, /is not below/],
    ]
    for (const [raw, text] of cases) {
      expectRefused(await put('go-local', module, 'v1.0.0.zip', await moduleZip(module, 'v1.0.0', files, raw)), 400, text)
    }
    await expectNothingStored('go-local', module, 'v1.0.0')
  })

  it("refuses a go.mod that names another module, or differs from the version's .mod", async () => {
    const module = 'example.com/named'
    const foreign = libraryFiles('example.com/someone-else', 'x')
    expectRefused(await put('go-local', module, 'v1.0.0.zip', await moduleZip(module, 'v1.0.0', foreign)), 400, /declares module 'example\.com\/someone-else', not 'example\.com\/named'/)
    expectRefused(await put('go-local', module, 'v1.0.0.mod', foreign['go.mod']!), 400, /v1\.0\.0\.mod declares module 'example\.com\/someone-else'/)
    expectRefused(await put('go-local', module, 'v1.0.0.mod', 'go 1.19\n'), 400, /no module directive/)
    await expectNothingStored('go-local', module, 'v1.0.0')

    // The .mod first, then a zip whose go.mod is another one: refused; and the other way round.
    const files = libraryFiles(module, 'x')
    expect((await put('go-local', module, 'v1.1.0.mod', files['go.mod']!)).status).toBe(201)
    const changed = { ...files, 'go.mod': `${files['go.mod']}\nrequire example.com/extra v1.0.0\n` }
    expectRefused(await put('go-local', module, 'v1.1.0.zip', await moduleZip(module, 'v1.1.0', changed)), 400, /differs from the v1\.1\.0\.mod already uploaded/)
    expect((await put('go-local', module, 'v1.2.0.zip', await moduleZip(module, 'v1.2.0', files))).status).toBe(201)
    expectRefused(await put('go-local', module, 'v1.2.0.mod', changed['go.mod']), 400, /differs from the go\.mod in the v1\.2\.0\.zip/)
    // jf go-publish's X-GO-MODULE-CONTENT must say the same as the zip.
    const header = { 'x-go-module-content': Buffer.from(changed['go.mod']).toString('base64') }
    const response = await admin.put(`${API}/go-local/${module}/@v/v1.3.0.zip`, { body: await moduleZip(module, 'v1.3.0', files), headers: header })
    expectRefused(response, 400, /X-GO-MODULE-CONTENT/)
    // Half-published versions are not listed: v1.1.0 has no zip, v1.2.0 no .mod.
    expect((await admin.get(`${API}/go-local/${module}/@v/list`)).status).toBe(404)
  })

  it('refuses versions that are not canonical or do not fit the module path, and .info files that lie', async () => {
    const files = libraryFiles('example.com/major', 'x')
    expectRefused(await put('go-local', 'example.com/major', 'v2.0.0.mod', files['go.mod']!), 400, /does not match the major version/)
    expectRefused(await put('go-local', 'example.com/major', 'v1.0.mod', files['go.mod']!), 400, /not a canonical module version/)
    expectRefused(await put('go-local', 'example.com/major', 'latest.info', '{}'), 400, /not a canonical module version/)
    expectRefused(await put('go-local', 'example.com/major', 'v1.0.0.info', '{"Version":"v1.0.1"}'), 400, /says Version "v1\.0\.1"/)
    expectRefused(await put('go-local', 'example.com/major', 'v1.0.0.info', 'v1.0.0'), 400, /not JSON/)
    expectRefused(await put('go-local', 'example.com/major', 'v1.0.0.info', `{"Version":"v1.0.0","Pad":"${'x'.repeat(70_000)}"}`), 413, /larger than the limit/)
    expectRefused(await admin.put(`${API}/go-local/example.com/major/@v/list`, { body: 'v1.0.0\n' }), 400, /publish a module version's files/)
    await expectNothingStored('go-local', 'example.com/major', 'v1.0.0')
  })

  it('never replaces a published file: other bytes are a 409, the same bytes change nothing', async () => {
    const module = 'example.com/immutable'
    await publishVersion(admin, 'go-local', module, 'v1.0.0', libraryFiles(module, 'first'))
    const before = (await admin.get(`/artifactory/api/storage/go-local/${module}/@v/v1.0.0.zip`)).json()
    expectRefused(await put('go-local', module, 'v1.0.0.zip', await moduleZip(module, 'v1.0.0', libraryFiles(module, 'second'))), 409, /already published with other content/)
    expectRefused(await put('go-local', module, 'v1.0.0.info', JSON.stringify({ Version: 'v1.0.0', Time: '2030-01-01T00:00:00Z' })), 409, /immutable/)
    expect((await put('go-local', module, 'v1.0.0.zip', await moduleZip(module, 'v1.0.0', libraryFiles(module, 'first')))).status).toBe(201)
    const after = (await admin.get(`/artifactory/api/storage/go-local/${module}/@v/v1.0.0.zip`)).json()
    expect(after.checksums).toEqual(before.checksums)
    expect(after.lastModified).toBe(before.lastModified)
  })

  it('applies the same checks to deploys on the plain layout', async () => {
    const module = 'example.com/plain'
    // The plain layout answers with Artifactory's REST errors.
    const notZip = await admin.put(`/artifactory/go-local/${module}/@v/v1.0.0.zip`, { body: 'not a zip' })
    expect(notZip.status).toBe(400)
    expect(notZip.json().errors[0].message).toMatch(/not a zip archive/)
    const other = await admin.put(`/artifactory/go-local/${module}/@v/notes.txt`, { body: 'x' })
    expect(other.status).toBe(400)
    expect(other.json().errors[0].message).toMatch(/holds module versions' files/)
    await expectNothingStored('go-local', module, 'v1.0.0')
    const files = libraryFiles(module, 'plain')
    expect((await admin.put(`/artifactory/go-local/${module}/@v/v1.0.0.zip`, { body: await moduleZip(module, 'v1.0.0', files) })).status).toBe(201)
    expect((await admin.put(`/artifactory/go-local/${module}/@v/v1.0.0.mod`, { body: files['go.mod']! })).status).toBe(201)
    expect((await admin.get(`${API}/go-local/${module}/@v/list`)).text).toBe('v1.0.0\n')
    // Without an .info, one is made from the upload.
    expect((await admin.get(`${API}/go-local/${module}/@v/v1.0.0.info`)).json()).toMatchObject({ Version: 'v1.0.0', Time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) })
  })

  it("refuses another project's member, uploads past the project's quota, and every upload in read-only mode", async () => {
    const call = (method: string, path: string, body: Record<string, unknown>) => admin.request(method, path, { body })
    expect((await call('POST', '/access/api/v1/projects', { project_key: 'acme', storage_quota_bytes: 200 })).status).toBe(201)
    expect((await call('POST', '/access/api/v1/projects', { project_key: 'other' })).status).toBe(201)
    await createGo('acme-go')
    await createUser(admin, 'dev', 'dev-password-1')
    await createUser(admin, 'stranger', 'stranger-password-1')
    expect((await call('PUT', '/access/api/v1/projects/acme/users/dev', { roles: ['Developer'] })).status).toBe(200)
    expect((await call('PUT', '/access/api/v1/projects/other/users/stranger', { roles: ['Project Admin'] })).status).toBe(200)
    const dev = admin.asUser('dev', 'dev-password-1')
    const stranger = admin.asUser('stranger', 'stranger-password-1')
    const module = 'example.com/acme'
    const files = libraryFiles(module, 'acme')

    // 1. Tenancy: the other project's admin may neither publish nor read here.
    expectRefused(await put('acme-go', module, 'v1.0.0.mod', files['go.mod']!, stranger), 403, /stranger/)
    expect((await stranger.get(`${API}/acme-go/${module}/@v/list`)).status).toBe(403)

    // 2. Quota: the .mod fits in 200 bytes, the zip does not.
    expect((await put('acme-go', module, 'v1.0.0.mod', files['go.mod']!, dev)).status).toBe(201)
    expectRefused(await put('acme-go', module, 'v1.0.0.zip', await moduleZip(module, 'v1.0.0', files), dev), 413, /quota/)
    expect((await admin.get(`/artifactory/api/storage/acme-go/${module}/@v/v1.0.0.zip`)).status).toBe(404)

    // 3. Read-only: uploads are refused with the message, reads still work.
    expect((await admin.put('/api/v1/system/read-only', { body: { enabled: true, message: 'upgrading storage' } })).status).toBe(200)
    try {
      expectRefused(await put('go-local', 'example.com/ro', 'v1.0.0.mod', 'module example.com/ro\n'), 503, /upgrading storage/)
      expect((await admin.get(`${API}/go-local/example.com/immutable/@v/list`)).text).toBe('v1.0.0\n')
    } finally {
      expect((await admin.put('/api/v1/system/read-only', { body: { enabled: false } })).status).toBe(200)
    }
    await expectNothingStored('go-local', 'example.com/ro', 'v1.0.0')
  })

  it('anonymous go reads only repositories that allow them, answered 401 with a Basic challenge elsewhere', async () => {
    await createGo('go-public', { anonymousRead: true })
    await publishVersion(admin, 'go-public', 'example.com/open', 'v0.1.0', libraryFiles('example.com/open', 'open'))
    expect((await admin.anonymous.get(`${API}/go-public/example.com/open/@v/list`)).text).toBe('v0.1.0\n')
    const refused = await admin.anonymous.get(`${API}/go-local/example.com/immutable/@v/list`)
    expectRefused(refused, 401, /authentication|anonymous/i)
    expect(refused.headers['www-authenticate']).toMatch(/^Basic/)
    expectRefused(await admin.anonymous.put(`${API}/go-public/example.com/open/@v/v0.2.0.mod`, { body: 'module example.com/open\n' }), 401, /./)
    // An unknown module is a 404 with go's kind of text.
    expectRefused(await admin.get(`${API}/go-local/example.com/nothing/@v/list`), 404, /module example\.com\/nothing/)
  })
})
