/**
 * A format is one folder and one registration line: the test-only format of test/formats/sample,
 * added to a server with `extraFormats: [sampleFormat]` and nothing else, shows up in repository
 * creation and validation, the console's formats, Set Me Up, its own routes and table, the
 * configuration loader, the storage API, search and the scan pipeline.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UiFormatList, UiSetMeUp } from '../../src/api/formats.js'
import { sampleFormat } from '../formats/sample/index.js'
import { requireClients } from '../helpers/clients.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, expectRestError, type ApiCall } from './admin-http.js'

const run = promisify(execFile)
const hasClients = await requireClients('the sample format suite', ['curl'])

const PACKAGE = 'name: hello\nversion: 1.0.0\nrequires: oldlib 1.9.0\nrequires: newlib 1.10.0\n'
const PATH = 'hello/1.0.0/hello-1.0.0.sample'

describe.skipIf(!hasClients)('a format from its folder alone (test/formats/sample)', () => {
  let server: TestServer
  let call: ApiCall
  let workDir: string

  beforeAll(async () => {
    // The one line that adds the format (the server's own list is src/formats/index.ts).
    server = await startTestServer({ extraFormats: [sampleFormat], env: { TROVE_SAMPLE_MAX_PACKAGE_BYTES: '512' } })
    call = apiClient(server)
    workDir = await mkdtemp(join(tmpdir(), 'trove-sample-'))
  })
  afterAll(async () => {
    await server?.close()
    if (workDir) await rm(workDir, { recursive: true, force: true })
  })

  it('1. is one of the formats the console gets, with its setting described for the form', async () => {
    const { formats } = (await (await call('GET', '/api/v1/ui/formats', { auth: null })).json()) as UiFormatList
    expect(formats.find((f) => f.id === 'sample')).toEqual({
      id: 'sample',
      title: 'Sample',
      kinds: ['local'],
      settings: [{ name: 'sampleChannel', label: 'Channel', help: expect.any(String), kinds: ['local'], type: 'enum', values: ['stable', 'beta'], default: 'stable' }],
      console: { packageNoun: 'sample package', browseHints: [expect.any(String)] },
    })
  })

  it('2. creates its repositories, validating its setting and its classes', async () => {
    const create = (key: string, body: Record<string, unknown>) => call('PUT', `/artifactory/api/repositories/${key}`, { json: { key, ...body } })
    await expectRestError(await create('sample-bad', { rclass: 'local', packageType: 'sample', sampleChannel: 'nightly' }), 400, /sampleChannel: must be stable or beta/, 'sampleChannel')
    await expectRestError(await create('sample-remote', { rclass: 'remote', packageType: 'sample', url: 'http://127.0.0.1:9/' }), 400, /rclass 'remote' is not supported/, 'rclass')
    // The setting is the sample format's: another type does not validate it.
    expect((await create('generic-with-field', { rclass: 'local', packageType: 'generic', sampleChannel: 'nightly' })).status).toBe(200)
    expect((await call('GET', '/artifactory/api/repositories/sample-bad')).status).toBe(404)
    const created = await create('sample-local', { rclass: 'local', packageType: 'sample', sampleChannel: 'beta' })
    expect(created.status, await created.text()).toBe(200)
    expect(await (await call('GET', '/artifactory/api/repositories/sample-local')).json()).toMatchObject({ packageType: 'sample', sampleChannel: 'beta' })
  })

  it('3. renders Set Me Up, and its snippet uploads with curl through the format’s own route and table', async () => {
    const res = await call('GET', '/api/v1/ui/repositories/sample-local/set-me-up')
    expect(res.status).toBe(200)
    const { snippets } = (await res.json()) as UiSetMeUp
    expect(snippets.map((s) => s.id)).toEqual(['curl-upload'])
    await writeFile(join(workDir, 'hello-1.0.0.sample'), PACKAGE)
    const command = snippets[0]!.text.replace(/<[A-Z_]+>/, ADMIN_PASSWORD)
    const { stdout } = await run('sh', ['-c', `${command} --fail-with-body --silent --show-error`], { cwd: workDir })
    expect(JSON.parse(stdout)).toMatchObject({ path: PATH, channel: 'beta' })

    const listed = await call('GET', '/artifactory/api/sample/sample-local/-/packages')
    expect(await listed.json()).toEqual({ channel: 'beta', packages: [{ name: 'hello', version: '1.0.0', path: PATH, uploadedBy: 'admin' }] })
    // The table is the format's, created by its own migration with the core's.
    const applied = await sql<{ name: string }>`select name from kysely_migration where name like '%sample%'`.execute(server.trove.services.metadata.db)
    expect(applied.rows.map((r) => r.name)).toEqual(['20261207-sample-packages'])
  })

  it('4. applies its configuration section (TROVE_SAMPLE_MAX_PACKAGE_BYTES) and answers in the REST error body', async () => {
    const res = await call('PUT', '/artifactory/api/sample/sample-local/big/1.0.0', { body: 'x'.repeat(600) })
    await expectRestError(res, 413, /at most 512 bytes \(sample\.maxPackageBytes\)/)
    expect((await call('GET', '/artifactory/api/storage/sample-local/big')).status).toBe(404)
    await expectRestError(await call('PUT', '/artifactory/api/sample/sample-local/hello/1.0.0', { body: PACKAGE, auth: null }), 401)
  })

  it('5. its files are the core’s: the storage API and search find them', async () => {
    const item = await call('GET', `/artifactory/api/storage/sample-local/${PATH}`)
    expect(item.status).toBe(200)
    expect(await item.json()).toMatchObject({ repo: 'sample-local', path: `/${PATH}`, size: String(Buffer.byteLength(PACKAGE)) })
    const search = await call('GET', '/artifactory/api/search/artifact?name=hello-1.0.0.sample&repos=sample-local')
    expect(search.status).toBe(200)
    expect(((await search.json()) as { results: { uri: string }[] }).results.map((r) => r.uri)).toEqual([expect.stringMatching(new RegExp(`/artifactory/api/storage/sample-local/${PATH}$`))])
  })

  it('6. the scanner reads it with the format’s extractor and matches with its ecosystem’s version order', async () => {
    // One advisory per dependency, affected below 1.10.0: in the sample order 1.9.0 is below it and 1.10.0 is not (as text, both would be).
    const advisory = (id: string, name: string) => ({
      id,
      modified: '2026-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'Sample', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.10.0' }] }] }],
    })
    expect((await call('POST', '/api/v1/vulndb/import', { json: [advisory('SAMPLE-1', 'oldlib'), advisory('SAMPLE-2', 'newlib')] })).status).toBe(200)
    await server.trove.services.jobs.runDue()
    const report = (await (await call('GET', `/api/v1/scan/artifact/sample-local/${PATH}`)).json()) as {
      status: string
      components: { name: string; version: string; relation: string }[]
      vulnerabilities: { ids: string[] }[]
    }
    expect(report.status).toBe('done')
    expect(report.components).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'hello', version: '1.0.0', relation: 'self' }),
        expect.objectContaining({ name: 'oldlib', version: '1.9.0', relation: 'dependency' }),
        expect.objectContaining({ name: 'newlib', version: '1.10.0', relation: 'dependency' }),
      ]),
    )
    expect(report.vulnerabilities.flatMap((v) => v.ids)).toEqual(['SAMPLE-1'])
  })
})
