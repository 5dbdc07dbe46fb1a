/**
 * Cleanup policies on npm and PyPI repositories with the real clients (docs/lifecycle.md): the
 * versions a policy removes disappear from the packument (npm view) and the simple pages (pip),
 * the kept ones still install, the dry run lists what the run deletes, and an immutable npm
 * version refuses npm unpublish and a publish over it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientHome } from '../conformance/npm/clients.js'
import { clientCommand, requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { buildWheel, PythonHome } from '../helpers/python.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const hasNpm = await requireClients('the npm cleanup policy tests', ['npm'])
const hasPython = await requireClients('the PyPI cleanup policy tests', ['pip', 'twine'])
const backends = await metadataBackends()
const POLICIES = '/artifactory/api/cleanup/packages/policies'

interface RunBody {
  runId: string
  status: string
  bytes: number
  items: { package: string; version: string; paths: string[]; outcome: string }[]
}

for (const backend of backends) {
  describe(`cleanup policies on npm and PyPI (${backend})`, () => {
    let server: TestServer
    const api = async (method: string, path: string, json?: unknown, expected?: number) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: server.adminAuth, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: json === undefined ? undefined : JSON.stringify(json),
      })
      const text = await res.text()
      if (expected !== undefined) expect(res.status, text).toBe(expected)
      const isJson = res.headers.get('content-type')?.startsWith('application/json') === true
      return { status: res.status, body: isJson ? (JSON.parse(text) as unknown) : text }
    }
    /** Dry run, then the real run; checks they name the same versions; returns the versions deleted. */
    const dryThenRun = async (policy: string): Promise<string[]> => {
      const dry = (await api('POST', `${POLICIES}/${policy}/run?dryRun=true`, undefined, 200)).body as RunBody
      const started = (await api('POST', `${POLICIES}/${policy}/run`, undefined, 201)).body as RunBody
      let run: RunBody | undefined
      for (let i = 0; i < 600 && (run?.status ?? 'queued') !== 'succeeded'; i++) {
        run = (await api('GET', `/artifactory/api/cleanup/runs/${started.runId}`, undefined, 200)).body as RunBody
        expect(run.status).not.toBe('failed')
        if (run.status !== 'succeeded') await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(run!.status).toBe('succeeded')
      const names = (r: RunBody) => r.items.map((i) => `${i.package}@${i.version}:${[...i.paths].sort().join(',')}`).sort()
      expect(names(run!)).toEqual(names(dry))
      expect(run!.bytes).toBe(dry.bytes)
      return run!.items.map((i) => `${i.package}@${i.version}`).sort()
    }

    beforeAll(async () => {
      server = await startTestServer({ backend })
      for (const [key, packageType] of [['npm-local', 'npm'], ['pylocal', 'pypi']]) {
        await api('PUT', `/artifactory/api/repositories/${key}`, { key, rclass: 'local', packageType }, 200)
      }
      await api('PUT', '/artifactory/api/security/users/dev', { password: 'dev-password-1', email: 'dev@example.test' }, 201)
      for (const key of ['npm-local', 'pylocal']) await api('PUT', `/api/v1/repositories/${key}/grants/dev`, { actions: ['read', 'deploy', 'delete', 'annotate'] })
    })
    afterAll(async () => {
      await server?.close()
    })

    if (hasNpm) {
      it('npm: removed versions leave the packument, kept ones install; an immutable version refuses unpublish and a forced publish', { timeout: 300_000 }, async () => {
        const home = await ClientHome.create()
        try {
          const registry = `${server.url}/artifactory/api/npm/npm-local/`
          const token = ((await api('POST', '/access/api/v1/tokens', { username: 'dev', description: 'cleanup' }, 200)).body as { access_token: string }).access_token
          await home.writeNpmrc([`registry=${registry}`, `${registry.replace(/^http:/, '')}:_authToken=${token}`])
          const npm = clientCommand('npm')
          const publish = async (version: string, force = false) => {
            const cwd = await home.folder(`pkg-${version}`, { 'package.json': JSON.stringify({ name: '@team/lib', version, main: 'index.js' }), 'index.js': `module.exports = '${version}'\n` })
            return home.run(npm, ['publish', ...(force ? ['--force'] : [])], { cwd })
          }
          for (const version of ['1.0.0', '1.0.1', '1.1.0', '2.0.0']) {
            const published = await publish(version)
            expect(published.code, published.output).toBe(0)
            await new Promise((resolve) => setTimeout(resolve, 5))
          }
          await api('POST', POLICIES, { key: 'npm-keep-2', searchCriteria: { repos: ['npm-local'], keepLastNVersions: 2 } }, 201)
          expect(await dryThenRun('npm-keep-2')).toEqual(['@team/lib@1.0.0', '@team/lib@1.0.1'])

          const view = await home.run(npm, ['view', '@team/lib', 'versions', '--json'], { cwd: home.root })
          expect(view.code, view.output).toBe(0)
          expect(JSON.parse(view.stdout)).toEqual(['1.1.0', '2.0.0'])
          const tarball = await fetch(`${registry}@team/lib/-/lib-1.0.0.tgz`, { headers: { authorization: `Bearer ${token}` } })
          expect(tarball.status).toBe(404)
          const project = await home.folder('project', { 'package.json': JSON.stringify({ name: 'project', version: '1.0.0', private: true }) })
          const installed = await home.run(npm, ['install', '@team/lib@^1.1.0'], { cwd: project })
          expect(installed.code, installed.output).toBe(0)

          // Immutable: unpublish and a forced publish over the version are refused with npm's error.
          await api('POST', '/artifactory/api/immutability/rules', { key: 'npm-release', repositories: ['npm-local'], packages: '@team/*', versions: '2.*' }, 201)
          const unpublish = await home.run(npm, ['unpublish', '@team/lib@2.0.0', '--force'], { cwd: home.root })
          expect(unpublish.code).not.toBe(0)
          expect(unpublish.output).toMatch(/403|immutable/i)
          const over = await publish('2.0.0', true)
          expect(over.code).not.toBe(0)
          const after = await home.run(npm, ['view', '@team/lib', 'versions', '--json'], { cwd: home.root })
          expect(JSON.parse(after.stdout)).toEqual(['1.1.0', '2.0.0'])
          const unrestricted = await home.run(npm, ['unpublish', '@team/lib@1.1.0', '--force'], { cwd: home.root })
          expect(unrestricted.code, unrestricted.output).toBe(0)
        } finally {
          await home.remove()
        }
      })
    }

    if (hasPython) {
      it('PyPI: removed releases leave the simple page and pip no longer finds them; the kept one installs', { timeout: 300_000 }, async () => {
        const home = await PythonHome.create()
        try {
          const upload = `${server.url}/artifactory/api/pypi/pylocal`
          const files: string[] = []
          for (const version of ['1.0.0', '1.1.0', '1.2.0']) {
            const wheel = await buildWheel({ name: 'Clean_Me', version, value: version })
            files.push(await home.write(`dist/${wheel.filename}`, wheel.bytes))
            const result = await home.twine(['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', upload, '-u', 'dev', '-p', 'dev-password-1', files.at(-1)!])
            expect(result.code, result.output).toBe(0)
            await new Promise((resolve) => setTimeout(resolve, 5))
          }
          // Release 1.0.0 is marked to be kept by a property on its folder.
          const marked = await fetch(`${server.url}/artifactory/api/storage/pylocal/clean-me/1.0.0?properties=keep=true`, { method: 'PUT', headers: { authorization: server.adminAuth } })
          expect(marked.status, await marked.text()).toBe(204)
          await api('POST', POLICIES, { key: 'py-keep-1', searchCriteria: { repos: ['pylocal'], keepLastNVersions: 1, excludedProperties: { keep: ['true'] } } }, 201)
          expect(await dryThenRun('py-keep-1')).toEqual(['clean-me@1.1.0'])

          const page = await fetch(`${server.url}/artifactory/api/pypi/pylocal/simple/clean-me/`, { headers: { authorization: server.adminAuth } })
          const html = await page.text()
          expect(html).toContain('1.2.0')
          expect(html).toContain('1.0.0')
          expect(html).not.toContain('1.1.0')
          const index = server.url.replace('http://', 'http://dev:dev-password-1@') + '/artifactory/api/pypi/pylocal/simple/'
          const missing = await home.pip(['download', '--no-deps', '-d', home.path('dl'), '--index-url', index, 'clean-me==1.1.0'])
          expect(missing.code).not.toBe(0)
          expect(missing.output).toMatch(/No matching distribution/)
          const kept = await home.pip(['download', '--no-deps', '-d', home.path('dl'), '--index-url', index, 'clean-me==1.2.0'])
          expect(kept.code, kept.output).toBe(0)
        } finally {
          await home.remove()
        }
      })
    }

    it('refuses a bad dryRun value and runs of unknown policies', async () => {
      await api('POST', POLICIES, { key: 'any', searchCriteria: { repos: ['pylocal'], createdBeforeInDays: 365 } }, 201)
      expect((await api('POST', `${POLICIES}/any/run?dryRun=maybe`)).status).toBe(400)
      expect((await api('POST', `${POLICIES}/nope/run?dryRun=true`)).status).toBe(404)
      expect(((await api('GET', `${POLICIES}/any/runs`, undefined, 200)).body as unknown[]).length).toBe(0)
    })
  })
}
