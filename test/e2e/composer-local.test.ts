/**
 * Composer local repositories with the real clients: package zips built here, deployed with curl
 * as Artifactory users deploy them (the Composer API and the plain layout, the version from
 * composer.json or the `composer.version` property), then `composer require` and `composer
 * install` (Debian's composer) in projects whose only repository is Trove, over plain http
 * (`secure-http: false`), with auth.json credentials.
 */
import { createHash } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { ComposerMachine, composerPackage, projectFiles, runProgram } from '../helpers/composer.js'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import { Client } from './generic-support.js'

const hasClients = await requireClients('the Composer local suite', ['composer', 'curl'])
const backends = await metadataBackends()

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex')

describe.skipIf(!hasClients).each(backends)('Composer local repositories (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let machine: ComposerMachine
  const api = (repo: string) => `${server.url}/artifactory/api/composer/${repo}`

  /** curl -T, as a user deploys: the status and the body. */
  const curlDeploy = async (url: string, bytes: Buffer, name = 'package.zip') => {
    const file = join(machine.root, name)
    await writeFile(file, bytes)
    const run = await runProgram('curl', ['-sS', '-u', `admin:${ADMIN_PASSWORD}`, '-T', file, '-w', '\n%{http_code}', url])
    const lines = run.output.trimEnd().split('\n')
    return { status: Number(lines.pop()), body: lines.join('\n') }
  }
  const p2 = async (repo: string, name: string, dev = false) => {
    const response = await admin.get(`/artifactory/api/composer/${repo}/p2/${name}${dev ? '~dev' : ''}.json`)
    expect(response.status, response.text).toBe(200)
    return response.json() as { minified: string; packages: Record<string, Record<string, unknown>[]> }
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    machine = await ComposerMachine.create()
    const created = await admin.put('/artifactory/api/repositories/php-local', { body: { key: 'php-local', rclass: 'local', packageType: 'composer' } })
    expect(created.status, created.text).toBe(200)
  })

  afterAll(async () => {
    await machine?.close()
    await server?.close()
  })

  it('deploys zips with curl and serves packages.json and minified p2 documents with dist URLs into Trove and sha1 shasums', async () => {
    const greeting = composerPackage({ name: 'acme/greeting', version: '1.0.0', greeting: 'hello 1.0.0' })
    const deployed = await curlDeploy(`${api('php-local')}/acme/greeting-1.0.0.zip`, greeting)
    expect(deployed.status, deployed.body).toBe(201)
    expect(JSON.parse(deployed.body)).toMatchObject({ repo: 'php-local', path: '/acme/greeting/1.0.0/greeting-1.0.0.zip' })
    // The version as a matrix property, composer.json without one; a zipball with a top folder.
    const next = composerPackage({ name: 'acme/greeting', greeting: 'hello 1.1.0-RC1', topFolder: 'acme-greeting-abc123' })
    expect((await curlDeploy(`${api('php-local')}/whatever/name.zip;composer.version=1.1.0-RC1`, next)).status).toBe(201)
    // The plain layout deploys the same way.
    const lib = composerPackage({ name: 'acme/app-lib', version: '2.0.0', require: { 'acme/greeting': '^1.0' } })
    const plain = await curlDeploy(`${server.url}/artifactory/php-local/uploads/app-lib.zip`, lib)
    expect(plain.status, plain.body).toBe(201)
    const dev = composerPackage({ name: 'acme/greeting', version: 'dev-main', greeting: 'hello main' })
    expect((await curlDeploy(`${api('php-local')}/g.zip`, dev)).status).toBe(201)

    const packages = (await admin.get('/artifactory/api/composer/php-local/packages.json')).json() as Record<string, unknown>
    expect(packages).toEqual({ packages: [], 'metadata-url': `${api('php-local')}/p2/%package%.json`, 'available-packages': ['acme/app-lib', 'acme/greeting'] })

    const releases = await p2('php-local', 'acme/greeting')
    expect(releases.minified).toBe('composer/2.0')
    const [newest, older] = releases.packages['acme/greeting']!
    expect(newest).toMatchObject({
      name: 'acme/greeting',
      version: '1.1.0-RC1',
      version_normalized: '1.1.0.0-RC1',
      autoload: { 'psr-4': { 'Acme\\': 'src/' } },
      dist: { type: 'zip', url: `${api('php-local')}/acme/greeting/1.1.0-RC1/greeting-1.1.0-RC1.zip`, shasum: sha1(next) },
    })
    // Minified: the older version lists only what differs.
    expect(older).toMatchObject({ version: '1.0.0', version_normalized: '1.0.0.0', dist: { shasum: sha1(greeting) } })
    expect(older).not.toHaveProperty('autoload')
    const devDocument = await p2('php-local', 'acme/greeting', true)
    expect(devDocument.packages['acme/greeting']!.map((v) => v.version)).toEqual(['dev-main'])
    // The dist URL downloads the deployed bytes.
    const download = await admin.get(`/artifactory/api/composer/php-local/acme/greeting/1.0.0/greeting-1.0.0.zip`)
    expect(download.status).toBe(200)
    expect(download.body.equals(greeting)).toBe(true)
    expect((await admin.get('/artifactory/api/composer/php-local/p2/acme/missing.json')).status).toBe(404)
  })

  it('composer require and composer install through the local repository', async () => {
    const dir = await machine.project('local-app', projectFiles(api('php-local'), 'admin', ADMIN_PASSWORD))
    const required = await machine.composer(['require', 'acme/app-lib:^2.0'], dir)
    expect(required.code, required.output).toBe(0)
    expect(required.output).toMatch(/Installing acme\/greeting \(1\.0\.0\)/)
    expect((await machine.php(dir, 'acme/greeting')).output).toBe('hello 1.0.0')
    // From composer.lock, into an empty vendor folder and an empty cache: downloaded again, checked against the shasum.
    await rm(join(dir, 'vendor'), { recursive: true, force: true })
    await rm(machine.env.COMPOSER_CACHE_DIR!, { recursive: true, force: true })
    const installed = await machine.composer(['install'], dir)
    expect(installed.code, installed.output).toBe(0)
    expect((await machine.php(dir, 'acme/greeting')).output).toBe('hello 1.0.0')
    // Development versions and release candidates by their stability.
    const rc = await machine.composer(['require', 'acme/greeting:1.1.0-RC1@RC'], dir)
    expect(rc.code, rc.output).toBe(0)
    expect((await machine.php(dir, 'acme/greeting')).output).toBe('hello 1.1.0-RC1')
    const devDir = await machine.project('dev-app', projectFiles(api('php-local'), 'admin', ADMIN_PASSWORD))
    const main = await machine.composer(['require', 'acme/greeting:dev-main'], devDir)
    expect(main.code, main.output).toBe(0)
    expect((await machine.php(devDir, 'acme/greeting')).output).toBe('hello main')
    // A package Trove does not have: Composer's own message, and nothing asked elsewhere.
    const missing = await machine.composer(['require', 'acme/nowhere:^1.0'], dir)
    expect(missing.code).not.toBe(0)
    expect(missing.output).toMatch(/acme\/nowhere, it could not be found in any version/)
  })

  it("follows permission-target paths: a reader of one package's folder sees and installs only that package", async () => {
    const created = await admin.put('/artifactory/api/security/users/reader', { body: { name: 'reader', email: 'reader@example.test', password: 'reader-password-1' } })
    expect(created.status, created.text).toBe(201)
    const target = await admin.post('/artifactory/api/v2/security/permissions/greeting-readers', {
      body: { name: 'greeting-readers', repo: { repositories: ['php-local'], 'include-patterns': ['acme/greeting/**'], actions: { users: { reader: ['read'] } } } },
    })
    expect(target.status, target.text).toBe(201)
    const reader = admin.asUser('reader', 'reader-password-1')
    expect((await reader.get('/artifactory/api/composer/php-local/packages.json')).json()).toMatchObject({ 'available-packages': ['acme/greeting'] })
    expect((await reader.get('/artifactory/api/composer/php-local/p2/acme/greeting.json')).status).toBe(200)
    expect((await reader.get('/artifactory/api/composer/php-local/p2/acme/app-lib.json')).status).toBe(403)
    expect((await reader.get('/artifactory/api/composer/php-local/acme/app-lib/2.0.0/app-lib-2.0.0.zip')).status).toBe(403)
    const dir = await machine.project('reader-app', projectFiles(api('php-local'), 'reader', 'reader-password-1'))
    const greeting = await machine.composer(['require', 'acme/greeting:^1.0'], dir)
    expect(greeting.code, greeting.output).toBe(0)
    const lib = await machine.composer(['require', 'acme/app-lib:^2.0'], dir)
    expect(lib.code).not.toBe(0)
  })

  it('a version deleted on the plain layout leaves the documents at once', async () => {
    expect((await admin.delete('/artifactory/php-local/acme/app-lib/2.0.0')).status).toBe(204)
    expect((await admin.get('/artifactory/api/composer/php-local/packages.json')).json()).toMatchObject({ 'available-packages': ['acme/greeting'] })
    expect((await admin.get('/artifactory/api/composer/php-local/p2/acme/app-lib.json')).status).toBe(404)
    expect((await p2('php-local', 'acme/greeting')).packages['acme/greeting']!.map((v) => v.version)).toEqual(['1.1.0-RC1', '1.0.0'])
  })
})
