/**
 * What a Composer repository refuses, deployed with curl as users deploy: each refusal answers at
 * once in Artifactory's `{"errors":[…]}` shape with the right status, and nothing is stored
 * (no file, no package in packages.json, no p2 document): a file that is no zip, composer.json
 * with a bad name, no version or one that disagrees with the property, entries leaving the
 * archive, an overwrite of a release, an archive past the size limit, another project's member,
 * a project past its quota, read-only mode. Composer then installs only what was accepted.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { ComposerMachine, composerPackage, projectFiles, runProgram } from '../helpers/composer.js'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser } from './generic-support.js'

const hasClients = await requireClients('the Composer refusals suite', ['composer', 'curl'])
const backends = await metadataBackends()
const MAX_ARCHIVE_BYTES = 64 * 1024

describe.skipIf(!hasClients).each(backends)('Composer deploy refusals (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let machine: ComposerMachine
  const api = (repo: string) => `${server.url}/artifactory/api/composer/${repo}`

  const curlDeploy = async (url: string, bytes: Buffer, credentials = `admin:${ADMIN_PASSWORD}`) => {
    const file = join(machine.root, 'upload.zip')
    await writeFile(file, bytes)
    const run = await runProgram('curl', ['-sS', '-u', credentials, '-T', file, '-w', '\n%{http_code}', url])
    const lines = run.output.trimEnd().split('\n')
    return { status: Number(lines.pop()), body: lines.join('\n') }
  }
  /** An Artifactory error answer with this status and message. */
  const expectRefused = (answer: { status: number; body: string }, status: number, message: RegExp) => {
    expect(answer.status, answer.body).toBe(status)
    const body = JSON.parse(answer.body) as { errors: { status: number; message: string }[] }
    expect(body.errors[0]!.status).toBe(status)
    expect(body.errors[0]!.message).toMatch(message)
  }
  /** Every file of a repository, from the storage API. */
  const filesOf = async (repo: string) => {
    const response = await admin.get(`/artifactory/api/storage/${repo}?list&deep=1`)
    expect(response.status, response.text).toBe(200)
    return ((response.json() as { files: { uri: string }[] }).files ?? []).map((f) => f.uri).sort()
  }
  const availableOf = async (repo: string) => ((await admin.get(`/artifactory/api/composer/${repo}/packages.json`)).json() as { 'available-packages': string[] })['available-packages']

  beforeAll(async () => {
    server = await startTestServer({ backend, settings: { composer: { maxArchiveBytes: MAX_ARCHIVE_BYTES } } })
    admin = new Client(server.url, server.adminAuth)
    machine = await ComposerMachine.create()
    for (const [key, extra] of [['php-local', {}], ['acme-php', { projectKey: 'acme' }]] as const) {
      if (key === 'acme-php') {
        for (const project of ['acme', 'other']) {
          const created = await admin.post('/access/api/v1/projects', { body: { project_key: project, storage_quota_bytes: project === 'acme' ? 6000 : 1_000_000 } })
          expect(created.status, created.text).toBe(201)
        }
      }
      const created = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, rclass: 'local', packageType: 'composer', ...extra } })
      expect(created.status, created.text).toBe(200)
    }
    await createUser(admin, 'stranger', 'stranger-password-1')
    expect((await admin.put('/access/api/v1/projects/other/users/stranger', { body: { roles: ['Developer'] } })).status).toBe(200)
    await createUser(admin, 'builder', 'builder-password-1')
    expect((await admin.put('/access/api/v1/projects/acme/users/builder', { body: { roles: ['Developer'] } })).status).toBe(200)
    expect((await curlDeploy(`${api('php-local')}/ok.zip`, composerPackage({ name: 'acme/kept', version: '1.0.0', greeting: 'kept' }))).status).toBe(201)
  })

  afterAll(async () => {
    await machine?.close()
    await server?.close()
  })

  it('refuses bad archives, names, versions, path tricks, overwrites and oversized archives, storing nothing', async () => {
    const before = await filesOf('php-local')
    expect(before).toEqual(['/acme/kept/1.0.0/kept-1.0.0.zip'])
    const url = `${api('php-local')}/upload.zip`
    expectRefused(await curlDeploy(url, Buffer.from('not a zip at all')), 400, /not a Composer package archive: .*not a readable zip/)
    expectRefused(await curlDeploy(`${api('php-local')}/notes.txt`, Buffer.from('text')), 400, /package archives \(\.zip\)/)
    expectRefused(await curlDeploy(url, composerPackage({ name: 'Acme/Bad Name', version: '1.0.0' })), 400, /"name" of the form vendor\/package/)
    expectRefused(await curlDeploy(url, composerPackage({ name: 'acme/noversion' })), 400, /has no "version".*composer\.version/)
    expectRefused(await curlDeploy(url, composerPackage({ name: 'acme/x', version: 'latest' })), 400, /'latest' is not a Composer version/)
    expectRefused(await curlDeploy(url, composerPackage({ name: 'acme/x', version: 'dev-feature/../../x' })), 400, /cannot be stored/)
    expectRefused(await curlDeploy(`${url};composer.version=2.0.0`, composerPackage({ name: 'acme/x', version: '1.0.0' })), 400, /says version '1\.0\.0' but the composer\.version property says '2\.0\.0'/)
    const tricks = composerPackage({ name: 'acme/tricks', version: '1.0.0', extra: [{ name: '../../evil.php', data: '<?php' }] })
    expectRefused(await curlDeploy(url, tricks), 400, /leaves the archive/)
    const absolute = composerPackage({ name: 'acme/tricks', version: '1.0.0', extra: [{ name: '/etc/evil.php', data: '<?php' }] })
    expectRefused(await curlDeploy(url, absolute), 400, /absolute path/)
    expectRefused(await curlDeploy(url, composerPackage({ name: 'acme/kept', version: '1.0.0', greeting: 'replaced' })), 409, /acme\/kept 1\.0\.0 is already in 'php-local'.*never overwritten/)
    expectRefused(await curlDeploy(`${url};composer.version=v1.0.0`, composerPackage({ name: 'acme/kept', greeting: 'again' })), 409, /already in/)
    const huge = composerPackage({ name: 'acme/huge', version: '1.0.0', extra: [{ name: 'blob.bin', data: Buffer.alloc(MAX_ARCHIVE_BYTES + 1, 7) }] })
    expectRefused(await curlDeploy(url, huge), 413, new RegExp(`at most ${MAX_ARCHIVE_BYTES} bytes`))
    expect(await filesOf('php-local')).toEqual(before)
    expect(await availableOf('php-local')).toEqual(['acme/kept'])
    expect((await admin.get('/artifactory/api/composer/php-local/p2/acme/tricks.json')).status).toBe(404)
    // The release Composer installs is the one first deployed.
    const dir = await machine.project('kept', projectFiles(api('php-local'), 'admin', ADMIN_PASSWORD))
    const required = await machine.composer(['require', 'acme/kept:^1.0'], dir)
    expect(required.code, required.output).toBe(0)
    expect((await machine.php(dir, 'acme/kept')).output).toBe('kept')
  })

  it("refuses another project's member and a deploy past the project's quota; the project's member deploys", async () => {
    const small = composerPackage({ name: 'acme/tenant', version: '1.0.0' })
    expectRefused(await curlDeploy(`${api('acme-php')}/t.zip`, small, 'stranger:stranger-password-1'), 403, /stranger/)
    expect(await filesOf('acme-php')).toEqual([])
    expect((await curlDeploy(`${api('acme-php')}/t.zip`, small, 'builder:builder-password-1')).status).toBe(201)
    const big = composerPackage({ name: 'acme/tenant', version: '2.0.0', extra: [{ name: 'data.bin', data: Buffer.from(Array.from({ length: 8000 }, (_, i) => (i * 7919) % 251)) }] })
    expectRefused(await curlDeploy(`${api('acme-php')}/t.zip`, big, 'builder:builder-password-1'), 413, /quota/i)
    expect(await filesOf('acme-php')).toEqual(['/acme/tenant/1.0.0/tenant-1.0.0.zip'])
  })

  it('refuses deploys in read-only mode and still serves installs', async () => {
    expect((await admin.put('/api/v1/system/read-only', { body: { enabled: true, message: 'maintenance' } })).status).toBe(200)
    try {
      const answer = await curlDeploy(`${api('php-local')}/r.zip`, composerPackage({ name: 'acme/during', version: '1.0.0' }))
      expect(answer.status, answer.body).toBe(503)
      expect(answer.body).toMatch(/maintenance/)
      expect(await availableOf('php-local')).toEqual(['acme/kept'])
      const dir = await machine.project('read-only', projectFiles(api('php-local'), 'admin', ADMIN_PASSWORD))
      const required = await machine.composer(['require', 'acme/kept:^1.0'], dir)
      expect(required.code, required.output).toBe(0)
    } finally {
      expect((await admin.put('/api/v1/system/read-only', { body: { enabled: false } })).status).toBe(200)
    }
  })
})
