/**
 * One scenario, three clients: npm, pnpm and yarn (classic) each publish a package to Trove,
 * install it into a fresh folder with a fresh cache (with a dependency and a bin), and are told
 * why a second publish of the same version is refused. pnpm and yarn are Trove's devDependencies
 * (pinned versions, installed by `npm ci`).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { npmPackage } from '../../helpers/npm.js'
import { startTestServer, type TestServer } from '../../helpers/server.js'
import { clientCommand, requireClients } from '../../helpers/clients.js'
import { ClientHome, type ClientResult, type NpmClient } from './clients.js'

interface Binding {
  readonly name: NpmClient
  /** The binary, or `undefined` when the client is missing (and the suite skips). */
  readonly path: string | undefined
  /** `force`: past the client's own check that the version is new, so that Trove answers. */
  publish(home: ClientHome, cwd: string, force?: boolean): Promise<ClientResult>
  add(home: ClientHome, cwd: string, spec: string): Promise<ClientResult>
  /** What the client prints when a publish succeeded, an install did, and when the version exists. */
  readonly published: (name: string, version: string) => RegExp
  readonly added: (name: string, version: string) => RegExp
  readonly duplicate: (name: string, version: string) => RegExp
}

async function bind(name: NpmClient): Promise<Binding> {
  const bin = clientCommand(name)
  const path = (await requireClients(`the ${name} conformance tests`, [name])) ? bin : undefined
  const npmStyle = {
    published: (pkg: string, version: string) => new RegExp(`\\+ ${escapeRegExp(pkg)}@${escapeRegExp(version)}`),
    added: () => /added 2 packages/,
    duplicate: (pkg: string, version: string) =>
      new RegExp(`409 Conflict - PUT \\S+ - cannot publish over the previously published version ${escapeRegExp(pkg)}@${escapeRegExp(version)}`),
  }
  switch (name) {
    case 'npm':
      return { name, path, ...npmStyle, publish: (home, cwd, force) => home.run(bin, ['publish', ...(force ? ['--force'] : [])], { cwd }), add: (home, cwd, spec) => home.run(bin, ['install', spec], { cwd }) }
    case 'pnpm':
      return {
        name,
        path,
        ...npmStyle,
        added: (pkg: string, version: string) => new RegExp(`\\+ ${escapeRegExp(pkg)} ${escapeRegExp(version)}`),
        publish: (home, cwd, force) => home.run(bin, ['publish', '--no-git-checks', ...(force ? ['--force'] : [])], { cwd }),
        add: (home, cwd, spec) => home.run(bin, ['add', spec, ...home.pnpmDirs], { cwd }),
      }
    case 'yarn':
      return {
        name,
        path,
        published: () => /success Published\./,
        added: (pkg: string, version: string) => new RegExp(`success Saved 2 new dependencies[\\s\\S]*${escapeRegExp(pkg)}@${escapeRegExp(version)}`),
        duplicate: (pkg, version) => new RegExp(`error Couldn't publish package: ".*: cannot publish over the previously published version ${escapeRegExp(pkg)}@${escapeRegExp(version)}"`),
        publish: (home, cwd) => home.run(bin, ['publish', '--non-interactive'], { cwd }),
        add: (home, cwd, spec) => home.run(bin, ['add', spec], { cwd }),
      }
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

const bindings = await Promise.all((['npm', 'pnpm', 'yarn'] as const).map(bind))

describe('npm, pnpm and yarn against Trove', () => {
  let server: TestServer
  let registry: string
  let token: string

  beforeAll(async () => {
    server = await startTestServer()
    registry = `${server.url}/artifactory/api/npm/npm-local/`
    const api = async (method: string, path: string, json: unknown) => {
      const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: server.adminAuth, 'content-type': 'application/json' }, body: JSON.stringify(json) })
      expect(res.status, await res.clone().text()).toBeLessThan(300)
      return res
    }
    await api('PUT', '/artifactory/api/repositories/npm-local', { key: 'npm-local', rclass: 'local', packageType: 'npm' })
    await api('PUT', '/artifactory/api/security/users/dev', { password: 'dev-password-1', email: 'dev@example.test' })
    await api('PUT', '/api/v1/repositories/npm-local/grants/dev', { actions: ['read', 'deploy', 'delete', 'annotate'] })
    token = ((await (await api('POST', '/access/api/v1/tokens', { username: 'dev', description: 'conformance' })).json()) as { access_token: string }).access_token
    // The dependency every client's package has, published over HTTP.
    const base = await npmPackage({ name: 'base-lib', version: '1.0.0', main: 'index.js' }, { 'index.js': 'module.exports = "base-lib 1.0.0"\n' })
    await api('PUT', '/artifactory/api/npm/npm-local/base-lib', base.body)
  })

  afterAll(async () => {
    await server?.close()
  })

  describe.each(bindings)('$name', (client) => {
    let home: ClientHome
    const pkg = `@clients/made-by-${client.name}`

    beforeAll(async () => {
      home = await ClientHome.create()
      const nerfDart = registry.replace(/^http:/, '')
      // yarn classic sends credentials with requests for unscoped packages only with always-auth,
      // which it reads from .npmrc only (and npm 11 warns about there).
      const alwaysAuth = client.name === 'yarn' ? [`${nerfDart}:always-auth=true`] : []
      await home.writeNpmrc([`registry=${registry}`, `${nerfDart}:_authToken=${token}`, ...alwaysAuth])
      // yarn classic sends credentials with unscoped requests only with always-auth, which npm
      // would warn about in .npmrc: it goes into yarn's own file.
      await home.writeHomeFile('.yarnrc', `"${nerfDart}:always-auth" true\n`)
    })

    afterAll(async () => {
      await home?.remove()
    })

    it.skipIf(!client.path)('publishes a scoped package with a dependency and a bin', async () => {
      const cwd = await home.folder('package', {
        'package.json': JSON.stringify({ name: pkg, version: '1.0.0', main: 'index.js', bin: { [`hello-${client.name}`]: 'cli.js' }, dependencies: { 'base-lib': '^1.0.0' } }),
        'index.js': `module.exports = require('base-lib') + ' via ${client.name}'\n`,
        'cli.js': `#!/usr/bin/env node\nconsole.log('hello from ${client.name}: ' + require('./index.js'))\n`,
      })
      const result = await client.publish(home, cwd)
      expect(result.code, result.output).toBe(0)
      expect(result.output).toMatch(client.published(pkg, '1.0.0'))
      const doc = (await (await fetch(`${registry}${pkg.replace('/', '%2f')}`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        versions: Record<string, { dependencies: unknown; bin: unknown; dist: { tarball: string } }>
      }
      expect(doc.versions['1.0.0']).toMatchObject({ dependencies: { 'base-lib': '^1.0.0' }, bin: { [`hello-${client.name}`]: 'cli.js' }, dist: { tarball: `${registry}${pkg}/-/made-by-${client.name}-1.0.0.tgz` } })
    })

    it.skipIf(!client.path)('installs it into a fresh folder with a fresh cache', async () => {
      await home.clearCaches()
      const cwd = await home.folder('project', { 'package.json': JSON.stringify({ name: 'project', version: '1.0.0', private: true }) })
      const result = await client.add(home, cwd, `${pkg}@^1.0.0`)
      expect(result.code, result.output).toBe(0)
      expect(result.output).toMatch(client.added(pkg, '1.0.0'))
      // The bin runs the package, which requires its dependency: both were installed.
      const run = await home.run(join(cwd, 'node_modules', '.bin', `hello-${client.name}`), [], { cwd })
      expect(run.stdout.trim()).toBe(`hello from ${client.name}: base-lib 1.0.0 via ${client.name}`)
      const manifest = JSON.parse(await readFile(join(cwd, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
      expect(manifest.dependencies[pkg]).toMatch(/^\^1\.0\.0$/)
    })

    it.skipIf(!client.path)('says why a second publish of the version is refused', async () => {
      const result = await client.publish(home, join(home.root, 'work', 'package'), true)
      expect(result.code, result.output).not.toBe(0)
      expect(result.output).toMatch(client.duplicate(pkg, '1.0.0'))
    })
  })
})
