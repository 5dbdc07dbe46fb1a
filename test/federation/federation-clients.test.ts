import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientCommand, requireClients } from '../helpers/clients.js'
import { ClientHome } from '../conformance/npm/clients.js'
import { buildChart, chartFile } from '../helpers/helm.js'
import { blobsOfImage, buildImage, layoutRoot, readLayoutBlobs, writeLayout } from '../helpers/oci-images.js'
import { metadataBackends } from '../helpers/postgres.js'
import { buildWheel, PythonHome } from '../helpers/python.js'
import { ADMIN_PASSWORD, basicAuth } from '../helpers/server.js'
import { Member, converged, createFederated, eventually } from './federation-support.js'

/*
 * The real clients against three federated instances (C on PostgreSQL when available): skopeo
 * pushes to A and pulls from B and C; a tag moved on B and a tag deleted on A reach the others;
 * twine uploads to B and pip installs from C; a Maven deploy (the PUTs mvn makes) on C is served,
 * with maven-metadata.xml regenerated from the replicated files, by A. Nothing format-specific is
 * replicated: only files (assets) and their properties.
 */
const hasClients = await requireClients('the federation client tests', ['skopeo', 'pip', 'twine', 'npm'])
const backends = await metadataBackends()
const members: Member[] = []
let a: Member, b: Member, c: Member
let work: string

function skopeo(...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('skopeo', args, { timeout: 120_000 }, (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }))
  })
}
const creds = ['--creds', `admin:${ADMIN_PASSWORD}`]
const ADMIN_BASIC = basicAuth('admin', ADMIN_PASSWORD)
const host = (member: Member) => `127.0.0.1:${member.port}`

if (hasClients) {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'trove-federation-clients-'))
    a = await Member.create(0, 'sqlite')
    b = await Member.create(1, 'sqlite')
    c = await Member.create(2, backends.includes('postgres') ? 'postgres' : 'sqlite')
    members.push(a, b, c)
    for (const [key, type] of [['platform-images', 'docker'], ['py-shared', 'pypi'], ['libs-shared', 'maven'], ['npm-shared', 'npm'], ['charts-shared', 'helm']] as const) {
      const created = await createFederated(a, [b, c], key, type)
      expect(created.status, await created.text()).toBe(200)
    }
  }, 120_000)

  afterAll(async () => {
    for (const member of members) await member.destroy()
    if (work) await rm(work, { recursive: true, force: true })
  })

  describe('federated repositories with the real clients', () => {
    it('skopeo pushes to A and pulls from B and C; a tag moved on B and deleted on A propagate', async () => {
      const v1 = buildImage('federation-one', 2, undefined, 64 * 1024)
      const v2 = buildImage('federation-two', 2, undefined, 64 * 1024)
      await writeLayout(join(work, 'v1'), 'v1', v1.manifest, blobsOfImage(v1))
      await writeLayout(join(work, 'v2'), 'v2', v2.manifest, blobsOfImage(v2))
      const push = await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_PASSWORD}`, `oci:${join(work, 'v1')}:v1`, `docker://${host(a)}/platform-images/base/app:stable`)
      expect(push.code, push.stderr).toBe(0)
      for (const member of [b, c]) {
        const target = join(work, `pulled-${member.name}`)
        await eventually(`the image on ${member.name}`, async () => (await skopeo('copy', '--src-tls-verify=false', '--src-creds', `admin:${ADMIN_PASSWORD}`, `docker://${host(member)}/platform-images/base/app:stable`, `oci:${target}:stable`)).code === 0)
        const pulled = await readLayoutBlobs(target)
        for (const blob of blobsOfImage(v1)) expect(pulled.get(blob.descriptor.digest.slice(7))?.equals(blob.bytes)).toBe(true)
      }

      // The tag moves on B (another image pushed to it): A and C serve the new manifest.
      const moved = await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_PASSWORD}`, `oci:${join(work, 'v2')}:v2`, `docker://${host(b)}/platform-images/base/app:stable`)
      expect(moved.code, moved.stderr).toBe(0)
      const digestOn = async (member: Member) => {
        const out = join(work, `check-${member.name}-${Date.now()}`)
        const run = await skopeo('copy', '--src-tls-verify=false', '--src-creds', `admin:${ADMIN_PASSWORD}`, `docker://${host(member)}/platform-images/base/app:stable`, `oci:${out}:stable`)
        return run.code === 0 ? (await layoutRoot(out, 'stable')).digest : `failed: ${run.stderr}`
      }
      for (const member of [a, c]) await eventually(`the moved tag on ${member.name}`, async () => (await digestOn(member)) === v2.manifest.descriptor.digest)

      // The tag is deleted on A: B and C no longer have it.
      const removed = await skopeo('delete', '--tls-verify=false', ...creds, `docker://${host(a)}/platform-images/base/app:stable`)
      expect(removed.code, removed.stderr).toBe(0)
      for (const member of [b, c]) await eventually(`the tag gone from ${member.name}`, async () => (await digestOn(member)).startsWith('failed'))
      await converged('platform-images', [a, b, c])
    })

    it('twine uploads to B and pip installs from C', async () => {
      const home = await PythonHome.create()
      const wheel = await buildWheel({ name: 'Fed_Demo', version: '1.0.0', value: 'replicated' })
      const file = await home.write(`dist/${wheel.filename}`, wheel.bytes)
      const upload = await home.twine(['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', `${b.url}/artifactory/api/pypi/py-shared`, '-u', 'admin', '-p', ADMIN_PASSWORD, file])
      expect(upload.code, upload.output).toBe(0)
      const index = `http://admin:${ADMIN_PASSWORD}@${host(c)}/artifactory/api/pypi/py-shared/simple/`
      const target = home.path('site')
      await eventually('fed-demo installable from C', async () => (await home.pip(['install', '--no-cache-dir', '--only-binary', ':all:', '--target', target, '--index-url', index, 'fed-demo==1.0.0'])).code === 0)
      const imported = await home.python(['-c', 'import fed_demo; print(fed_demo.VALUE)'], { PYTHONPATH: target })
      expect(imported.stdout.trim()).toBe('replicated')
      await rm(home.root, { recursive: true, force: true })
    })

    it('npm publishes to B and installs from C; an unpublish on C reaches B', async () => {
      const tokenOf = async (member: Member) => ((await (await member.api('POST', '/access/api/v1/tokens', { username: 'admin', description: 'federation test' })).json()) as { access_token: string }).access_token
      const registryOf = (member: Member) => `${member.url}/artifactory/api/npm/npm-shared/`
      const npmrc = async (home: ClientHome, member: Member) => home.writeNpmrc([`registry=${registryOf(member)}`, `${registryOf(member).replace(/^http:/, '')}:_authToken=${await tokenOf(member)}`])
      const npm = clientCommand('npm')
      const publisher = await ClientHome.create()
      await npmrc(publisher, b)
      const cwd = await publisher.folder('package', { 'package.json': JSON.stringify({ name: '@platform/fed-lib', version: '1.0.0', main: 'index.js' }), 'index.js': "module.exports = 'fed-lib from B'\n" })
      const published = await publisher.run(npm, ['publish'], { cwd })
      expect(published.code, published.output).toBe(0)
      const second = await publisher.folder('package2', { 'package.json': JSON.stringify({ name: '@platform/fed-lib', version: '1.1.0', main: 'index.js' }), 'index.js': "module.exports = 'fed-lib 1.1 from B'\n" })
      expect((await publisher.run(npm, ['publish'], { cwd: second })).code).toBe(0)

      const installer = await ClientHome.create()
      await npmrc(installer, c)
      const project = await installer.folder('project', { 'package.json': JSON.stringify({ name: 'project', version: '1.0.0', private: true }) })
      await eventually('fed-lib 1.1.0 on C', async () => {
        const response = await fetch(`${registryOf(c)}@platform%2ffed-lib`, { headers: { authorization: ADMIN_BASIC } })
        return response.status === 200 && ((await response.json()) as { 'dist-tags': { latest?: string } })['dist-tags'].latest === '1.1.0'
      })
      const installed = await installer.run(npm, ['install', '@platform/fed-lib'], { cwd: project })
      expect(installed.code, installed.output).toBe(0)
      const run = await installer.run(process.execPath, ['-e', "console.log(require('@platform/fed-lib'))"], { cwd: project })
      expect(run.output.trim()).toBe('fed-lib 1.1 from B')

      // Unpublished on C: B no longer has the version either.
      const unpublished = await installer.run(npm, ['unpublish', '@platform/fed-lib@1.1.0', '--force'], { cwd: project })
      expect(unpublished.code, unpublished.output).toBe(0)
      await eventually('1.1.0 gone from B', async () => {
        const response = await fetch(`${registryOf(b)}@platform%2ffed-lib`, { headers: { authorization: ADMIN_BASIC } })
        const doc = (await response.json()) as { versions: Record<string, unknown>; 'dist-tags': { latest?: string } }
        return doc.versions['1.1.0'] === undefined && doc['dist-tags'].latest === '1.0.0'
      })
      await publisher.remove()
      await installer.remove()
    })

    it('a Helm chart deployed on A is in the index.yaml of B', async () => {
      await a.put('charts-shared', chartFile('fed-chart', '0.3.0'), await buildChart({ name: 'fed-chart', version: '0.3.0' }))
      await eventually('the chart in B\'s index', async () => {
        const response = await fetch(`${b.url}/artifactory/api/helm/charts-shared/index.yaml`, { headers: { authorization: ADMIN_BASIC } })
        const text = await response.text()
        return response.status === 200 && text.includes('fed-chart') && text.includes('0.3.0')
      })
    })

    it('a Maven deploy on C is served by A, maven-metadata.xml regenerated there', async () => {
      const pom = '<?xml version="1.0"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>org.fed</groupId><artifactId>lib</artifactId><version>1.2.0</version></project>\n'
      await c.put('libs-shared', 'org/fed/lib/1.2.0/lib-1.2.0.pom', pom)
      await c.put('libs-shared', 'org/fed/lib/1.2.0/lib-1.2.0.jar', Buffer.from('not really a jar, but bytes'))
      await eventually('the jar on A', async () => (await a.get('libs-shared', 'org/fed/lib/1.2.0/lib-1.2.0.jar')) === 'not really a jar, but bytes')
      await eventually('maven-metadata.xml on A', async () => ((await a.get('libs-shared', 'org/fed/lib/maven-metadata.xml')) ?? '').includes('<version>1.2.0</version>'))
    })
  })
}
