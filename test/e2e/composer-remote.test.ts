/**
 * Composer remote and virtual repositories with the real client. The upstream is a real server on
 * 127.0.0.1: a second Trove whose local Composer repository has the packages (deployed with curl).
 * `composer require`/`install` run through the remote cold (everything fetched), warm (an empty
 * client cache, Trove's own), and with the upstream stopped (served from what Trove cached), and
 * through a virtual merging a local and the remote, with the dependency-confusion guard.
 */
import { createHash } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { ComposerMachine, composerPackage, projectFiles, runProgram } from '../helpers/composer.js'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import { Client } from './generic-support.js'
import { createRemote, sendBody, startUpstream } from './remote-support.js'

const hasClients = await requireClients('the Composer remote suite', ['composer', 'curl'])
const backends = await metadataBackends()
const ALLOW_LOOPBACK = { remote: { allowedUpstreamHosts: ['127.0.0.1'] } }

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex')

describe.skipIf(!hasClients).each(backends)('Composer remote and virtual repositories (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let upstream: TestServer | undefined
  let machine: ComposerMachine
  const api = (base: string, repo: string) => `${base}/artifactory/api/composer/${repo}`
  const packages: Record<string, Buffer> = {}

  const curlDeploy = async (url: string, bytes: Buffer) => {
    const file = join(machine.root, 'upload.zip')
    await writeFile(file, bytes)
    const run = await runProgram('curl', ['-sS', '-f', '-u', `admin:${ADMIN_PASSWORD}`, '-T', file, url])
    expect(run.code, run.output).toBe(0)
  }
  const createComposer = async (key: string, body: Record<string, unknown>) => {
    const created = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'composer', ...body } })
    expect(created.status, created.text).toBe(200)
  }
  /** A fresh project of a fresh machine (empty Composer cache) whose only repository is `repo`. */
  const freshProject = async (name: string, repo: string, require: Record<string, string> = {}) => {
    await rm(machine.env.COMPOSER_CACHE_DIR!, { recursive: true, force: true })
    return machine.project(name, projectFiles(api(server.url, repo), 'admin', ADMIN_PASSWORD, require))
  }

  beforeAll(async () => {
    server = await startTestServer({ backend, settings: ALLOW_LOOPBACK })
    admin = new Client(server.url, server.adminAuth)
    upstream = await startTestServer()
    machine = await ComposerMachine.create()
    const upstreamAdmin = new Client(upstream.url, upstream.adminAuth)
    const created = await upstreamAdmin.put('/artifactory/api/repositories/up-local', { body: { key: 'up-local', rclass: 'local', packageType: 'composer', anonymousRead: true } })
    expect(created.status, created.text).toBe(200)
    packages.lib10 = composerPackage({ name: 'acme/upstream-lib', version: '1.0.0', greeting: 'upstream 1.0.0' })
    packages.lib12 = composerPackage({ name: 'acme/upstream-lib', version: '1.2.0', greeting: 'upstream 1.2.0' })
    packages.tool = composerPackage({ name: 'acme/tool', version: '3.1.0', require: { 'acme/upstream-lib': '^1.0' }, greeting: 'tool' })
    packages.shared = composerPackage({ name: 'acme/shared', version: '9.9.9', greeting: 'shared from upstream' })
    for (const bytes of [packages.lib10, packages.lib12, packages.tool, packages.shared]) await curlDeploy(`${api(upstream.url, 'up-local')}/p.zip`, bytes!)
    await createRemote(admin, 'php-remote', api(upstream.url, 'up-local'), { packageType: 'composer', anonymousRead: false, retrievalCachePeriodSecs: 0 })
  })

  afterAll(async () => {
    await machine?.close()
    await upstream?.close()
    await server?.close()
  })

  it('rewrites the upstream p2 document so that dists come through Trove, with the upstream shasums', async () => {
    const packagesJson = (await admin.get('/artifactory/api/composer/php-remote/packages.json')).json() as Record<string, unknown>
    expect(packagesJson).toEqual({ packages: [], 'metadata-url': `${api(server.url, 'php-remote')}/p2/%package%.json` })
    const p2 = (await admin.get('/artifactory/api/composer/php-remote/p2/acme/upstream-lib.json')).json() as { minified: string; packages: Record<string, Record<string, unknown>[]> }
    expect(p2.minified).toBe('composer/2.0')
    const [newest, older] = p2.packages['acme/upstream-lib']!
    expect(newest).toMatchObject({
      version: '1.2.0',
      dist: { type: 'zip', url: `${api(server.url, 'php-remote')}/.composer/dist/acme/upstream-lib/1.2.0/upstream-lib-1.2.0.zip`, shasum: sha1(packages.lib12!) },
    })
    expect(older).toMatchObject({ version: '1.0.0', dist: { shasum: sha1(packages.lib10!) } })
  })

  it('composer require through the remote, cold then warm: dists cached with their upstream URL', async () => {
    const cold = await freshProject('remote-cold', 'php-remote')
    const required = await machine.composer(['require', 'acme/tool:^3.0'], cold)
    expect(required.code, required.output).toBe(0)
    expect(required.output).toMatch(/Installing acme\/upstream-lib \(1\.2\.0\)/)
    expect((await machine.php(cold, 'acme/tool')).output).toBe('tool')
    const info = await admin.get('/artifactory/api/storage/php-remote/.composer/dist/acme/upstream-lib/1.2.0/upstream-lib-1.2.0.zip')
    expect(info.status, info.text).toBe(200)
    expect(info.json()).toMatchObject({
      createdBy: 'remote:php-remote',
      remoteUrl: `${api(upstream!.url, 'up-local')}/acme/upstream-lib/1.2.0/upstream-lib-1.2.0.zip`,
      checksums: { sha1: sha1(packages.lib12!) },
    })
    // Warm: another machine-like run with an empty client cache, from the lock file.
    const warm = await freshProject('remote-warm', 'php-remote')
    await writeFile(join(warm, 'composer.lock'), await readFile(join(cold, 'composer.lock')))
    await writeFile(join(warm, 'composer.json'), await readFile(join(cold, 'composer.json')))
    const installed = await machine.composer(['install'], warm)
    expect(installed.code, installed.output).toBe(0)
    expect((await machine.php(warm, 'acme/upstream-lib')).output).toBe('upstream 1.2.0')
  })

  it('a virtual merges its local and remote members; a package its local has is never taken from the remote', async () => {
    await createComposer('php-local', { rclass: 'local' })
    await createComposer('php-virtual', { rclass: 'virtual', repositories: ['php-local', 'php-remote'], defaultDeploymentRepo: 'php-local' })
    // Deployed through the virtual: lands in its deployment repository.
    await curlDeploy(`${api(server.url, 'php-virtual')}/s.zip`, composerPackage({ name: 'acme/shared', version: '1.0.0', greeting: 'shared from local' }))
    expect((await admin.get('/artifactory/api/storage/php-local/acme/shared/1.0.0/shared-1.0.0.zip')).status).toBe(200)
    const p2 = (await admin.get('/artifactory/api/composer/php-virtual/p2/acme/shared.json')).json() as { packages: Record<string, Record<string, unknown>[]> }
    expect(p2.packages['acme/shared']!.map((v) => v.version)).toEqual(['1.0.0'])
    // The remote's copy is not reachable through the virtual either.
    expect((await admin.get('/artifactory/api/composer/php-virtual/.composer/dist/acme/shared/9.9.9/shared-9.9.9.zip')).status).toBe(404)
    const dir = await freshProject('virtual', 'php-virtual')
    const required = await machine.composer(['require', 'acme/shared:*', 'acme/tool:^3.0'], dir)
    expect(required.code, required.output).toBe(0)
    expect((await machine.php(dir, 'acme/shared')).output).toBe('shared from local')
    expect((await machine.php(dir, 'acme/upstream-lib')).output).toBe('upstream 1.2.0')
    const lock = JSON.parse(await readFile(join(dir, 'composer.lock'), 'utf8')) as { packages: { name: string; dist: { url: string } }[] }
    for (const pkg of lock.packages) expect(pkg.dist.url.startsWith(api(server.url, 'php-virtual'))).toBe(true)
  })

  it('follows a relative metadata-url and relative dist URLs of a hand-written upstream; a dist whose sha1 is not the shasum is not cached', async () => {
    const good = composerPackage({ name: 'acme/liar', version: '1.1.0', greeting: 'good' })
    const bad = composerPackage({ name: 'acme/liar', version: '1.0.0', greeting: 'tampered' })
    const document = {
      minified: 'composer/2.0',
      packages: {
        'acme/liar': [
          { name: 'acme/liar', version: '1.1.0', version_normalized: '1.1.0.0', autoload: { 'psr-4': { 'Acme\\': 'src/' } }, dist: { type: 'zip', url: '../../../files/good.zip', shasum: sha1(good) }, source: { type: 'git', url: 'https://vcs.example.test/liar.git', reference: 'abc' } },
          { version: '1.0.0', version_normalized: '1.0.0.0', dist: { type: 'zip', url: '/files/bad.zip', shasum: 'a'.repeat(40) }, source: '__unset' },
        ],
      },
    }
    const files: Record<string, Buffer | string> = {
      '/repo/packages.json': JSON.stringify({ packages: [], 'metadata-url': '/repo/p2/%package%.json' }),
      '/repo/p2/acme/liar.json': JSON.stringify(document),
      '/files/good.zip': good,
      '/files/bad.zip': bad,
    }
    const fake = await startUpstream((request, response) => {
      const file = files[(request.url ?? '').split('?')[0]!]
      if (file === undefined) sendBody(response, 'not found', {}, 404)
      else sendBody(response, file, { 'content-type': 'application/octet-stream' })
    })
    try {
      await createRemote(admin, 'php-static', `${fake.url}/repo`, { packageType: 'composer', anonymousRead: false })
      const p2 = (await admin.get('/artifactory/api/composer/php-static/p2/acme/liar.json')).json() as { packages: Record<string, Record<string, unknown>[]> }
      const [newest, older] = p2.packages['acme/liar']!
      expect(newest).not.toHaveProperty('source')
      expect(older).toMatchObject({ version: '1.0.0', dist: { url: `${api(server.url, 'php-static')}/.composer/dist/acme/liar/1.0.0/liar-1.0.0.zip` } })
      const fetched = await admin.get('/artifactory/api/composer/php-static/.composer/dist/acme/liar/1.1.0/liar-1.1.0.zip')
      expect(fetched.status).toBe(200)
      expect(fetched.body.equals(good)).toBe(true)
      const tampered = await admin.get('/artifactory/api/composer/php-static/.composer/dist/acme/liar/1.0.0/liar-1.0.0.zip').catch(() => undefined)
      expect(tampered === undefined || tampered.status !== 200 || !tampered.body.equals(bad)).toBe(true)
      expect((await admin.get('/artifactory/api/storage/php-static/.composer/dist/acme/liar/1.0.0/liar-1.0.0.zip')).status).toBe(404)
      expect((await admin.get('/artifactory/api/storage/php-static/.composer/dist/acme/liar/1.1.0/liar-1.1.0.zip')).status).toBe(200)
      // Composer installs the good one, and refuses to install the tampered one.
      const dir = await freshProject('static', 'php-static')
      const required = await machine.composer(['require', 'acme/liar:1.1.0'], dir)
      expect(required.code, required.output).toBe(0)
      expect((await machine.php(dir, 'acme/liar')).output).toBe('good')
      const refused = await machine.composer(['require', 'acme/liar:1.0.0'], dir)
      expect(refused.code).not.toBe(0)
    } finally {
      await fake.close()
    }
  })

  it('installs from what Trove cached once the upstream is stopped', async () => {
    await upstream!.close()
    upstream = undefined
    const dir = await freshProject('stopped', 'php-remote')
    const required = await machine.composer(['require', 'acme/tool:^3.0'], dir)
    expect(required.code, required.output).toBe(0)
    expect((await machine.php(dir, 'acme/upstream-lib')).output).toBe('upstream 1.2.0')
    // What was never fetched is missing, with Composer's own message.
    const missing = await machine.composer(['require', 'acme/never-fetched:^1.0'], dir)
    expect(missing.code).not.toBe(0)
    expect(missing.output).toMatch(/acme\/never-fetched/)
  })
})
