/**
 * The real `npm` CLI against a Trove on 127.0.0.1, as a developer uses it: log in, publish plain
 * and scoped packages, install them into a fresh folder with a fresh cache, move dist-tags,
 * deprecate, unpublish, search, and meet the refusals. Each step checks what npm printed.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../../helpers/server.js'
import { requireClients } from '../../helpers/clients.js'
import { ClientHome, type ClientResult } from './clients.js'

const hasNpm = await requireClients('the npm CLI conformance suite', ['npm'])

describe.skipIf(!hasNpm)('the npm CLI against Trove', () => {
  let server: TestServer
  let dev: ClientHome
  let registry: string
  /** `//host/artifactory/api/npm/npm-local/`: the key prefix of per-registry .npmrc settings. */
  let nerfDart: string

  const api = (method: string, path: string, json?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: server.adminAuth, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: json === undefined ? undefined : JSON.stringify(json),
    })

  /** Runs npm in `cwd` as the developer of `home`, and returns what it printed. */
  const runNpm = (home: ClientHome, cwd: string, ...args: string[]): Promise<ClientResult> => home.run('npm', args, { cwd })
  /** Asserts success; returns everything printed. */
  const expectOk = (result: ClientResult) => {
    expect(result.code, result.output).toBe(0)
    return result.output
  }
  /** Asserts success; returns what went to stdout (the answer, without npm's notices). */
  const stdoutOf = (result: ClientResult) => {
    expect(result.code, result.output).toBe(0)
    return result.stdout
  }
  const expectFailure = (result: ClientResult, ...patterns: RegExp[]) => {
    expect(result.code, result.output).not.toBe(0)
    for (const pattern of patterns) expect(result.output).toMatch(pattern)
    return result.output
  }

  const packageFiles = (packageJson: Record<string, unknown>, files: Record<string, string> = {}) => ({
    'package.json': JSON.stringify(packageJson, null, 2),
    'index.js': `module.exports = ${JSON.stringify(`${String(packageJson.name)}@${String(packageJson.version)}`)}\n`,
    ...files,
  })
  const publish = async (home: ClientHome, packageJson: Record<string, unknown>, ...args: string[]) =>
    runNpm(home, await home.folder(`${String(packageJson.name).replace('/', '+')}-${String(packageJson.version)}`, packageFiles(packageJson)), 'publish', ...args)

  beforeAll(async () => {
    server = await startTestServer()
    registry = `${server.url}/artifactory/api/npm/npm-local/`
    nerfDart = registry.replace(/^http:/, '')
    expect((await api('PUT', '/artifactory/api/repositories/npm-local', { key: 'npm-local', rclass: 'local', packageType: 'npm' })).status).toBe(200)
    for (const [user, actions] of [
      ['alice', ['read', 'annotate', 'deploy', 'delete']],
      ['reader', ['read']],
    ] as const) {
      expect((await api('PUT', `/artifactory/api/security/users/${user}`, { email: `${user}@example.test`, password: `${user}-password-1` })).status).toBe(201)
      expect((await api('PUT', `/api/v1/repositories/npm-local/grants/${user}`, { actions })).status).toBe(200)
    }
    dev = await ClientHome.create()
    await dev.writeNpmrc([`registry=${registry}`])
  })

  afterAll(async () => {
    await dev?.remove()
    await server?.close()
  })

  it('1. pings the registry', async () => {
    expect(expectOk(await runNpm(dev, dev.root, 'ping'))).toMatch(new RegExp(`PING ${registry}[\\s\\S]*PONG`))
  })

  it('2. logs in with npm login --auth-type=legacy and gets a token in .npmrc', async () => {
    const login = await dev.run('npm', ['login', '--auth-type=legacy'], {
      cwd: dev.root,
      answers: [
        [/Username:/, 'alice'],
        [/Password:/, 'alice-password-1'],
      ],
    })
    expect(expectOk(login)).toContain(`Logged in on ${registry}`)
    expect(await dev.readNpmrc()).toMatch(new RegExp(`^${nerfDart}:_authToken=trv_\\S+$`, 'm'))
    expect(stdoutOf(await runNpm(dev, dev.root, 'whoami')).trim()).toBe('alice')
  })

  it('3. refuses a wrong password with the reason', async () => {
    const other = await ClientHome.create()
    try {
      await other.writeNpmrc([`registry=${registry}`])
      const login = await other.run('npm', ['login', '--auth-type=legacy'], { cwd: other.root, answers: [[/Username:/, 'alice'], [/Password:/, 'not-her-password']] })
      expectFailure(login, /E401/, /bad username or password for 'alice'/)
    } finally {
      await other.remove()
    }
  })

  it('4. publishes a plain and a scoped package', async () => {
    for (const version of ['1.0.0', '1.1.0']) {
      const greeter = { name: 'greeter', version, description: 'Says hello', keywords: ['hello'], bin: { greet: 'bin/greet.js' } }
      const files = packageFiles(greeter, { 'bin/greet.js': `#!/usr/bin/env node\nconsole.log("hello from greeter ${version}")\n` })
      expect(expectOk(await runNpm(dev, await dev.folder(`greeter-${version}`, files), 'publish'))).toContain(`+ greeter@${version}`)
    }
    const scoped = await publish(dev, { name: '@acme/widgets', version: '2.0.0', description: 'Widgets', dependencies: { greeter: '^1.0.0' } })
    expect(expectOk(scoped)).toContain('+ @acme/widgets@2.0.0')
    expect(stdoutOf(await runNpm(dev, dev.root, 'view', '@acme/widgets', 'dist.tarball')).trim()).toBe(`${registry}@acme/widgets/-/widgets-2.0.0.tgz`)
  })

  it('5. installs them into a fresh folder with a fresh cache, dependencies and bin links included', async () => {
    await dev.clearCaches()
    const project = await dev.folder('app', { 'package.json': JSON.stringify({ name: 'app', version: '1.0.0', private: true }) })
    expect(expectOk(await runNpm(dev, project, 'install', '@acme/widgets'))).toMatch(/added 2 packages/)
    expect(JSON.parse(await readFile(join(project, 'node_modules', 'greeter', 'package.json'), 'utf8')).version).toBe('1.1.0')
    expect(await readFile(join(project, 'node_modules', '@acme', 'widgets', 'index.js'), 'utf8')).toContain('@acme/widgets@2.0.0')
    expect(expectOk(await dev.run(join(project, 'node_modules', '.bin', 'greet'), [], { cwd: project }))).toContain('hello from greeter 1.1.0')
    const lock = JSON.parse(await readFile(join(project, 'package-lock.json'), 'utf8'))
    expect(lock.packages['node_modules/greeter'].resolved).toBe(`${registry}greeter/-/greeter-1.1.0.tgz`)
    expect(lock.packages['node_modules/greeter'].integrity).toMatch(/^sha512-/)
  })

  it('6. refuses to publish over an existing version (409), even when forced', async () => {
    expectFailure(await publish(dev, { name: 'greeter', version: '1.0.0' }, '--force'), /E409/, /409 Conflict - PUT .*greeter - cannot publish over the previously published version greeter@1\.0\.0/)
  })

  it('7. refuses a publish by a user who may only read (403), with _auth in .npmrc', async () => {
    const reader = await ClientHome.create()
    try {
      const auth = Buffer.from('reader:reader-password-1').toString('base64')
      await reader.writeNpmrc([`registry=${registry}`, `${nerfDart}:_auth=${auth}`])
      expect(stdoutOf(await runNpm(reader, reader.root, 'whoami')).trim()).toBe('reader')
      const project = await reader.folder('app', { 'package.json': '{"name":"app","version":"1.0.0","private":true}' })
      expect(expectOk(await runNpm(reader, project, 'install', 'greeter@1.1.0'))).toMatch(/added 1 package/)
      expectFailure(await publish(reader, { name: 'readers-package', version: '1.0.0' }), /E403/, /403 Forbidden - PUT .*readers-package - user 'reader' may not publish \(deploy\)/)
    } finally {
      await reader.remove()
    }
  })

  it('8. works with username and _password in .npmrc, and with _auth holding a token', async () => {
    const other = await ClientHome.create()
    try {
      await other.writeNpmrc([`registry=${registry}`, `${nerfDart}:username=alice`, `${nerfDart}:_password=${Buffer.from('alice-password-1').toString('base64')}`])
      expect(stdoutOf(await runNpm(other, other.root, 'whoami')).trim()).toBe('alice')
      expect(expectOk(await publish(other, { name: 'via-password', version: '1.0.0' }))).toMatch(/\+ via-password@1\.0\.0/)

      const token = (await (await api('POST', '/access/api/v1/tokens', { username: 'alice', description: 'ci' })).json()) as { access_token: string }
      await other.writeNpmrc([`registry=${registry}`, `${nerfDart}:_auth=${Buffer.from(`alice:${token.access_token}`).toString('base64')}`])
      expect(stdoutOf(await runNpm(other, other.root, 'whoami')).trim()).toBe('alice')
      expect(expectOk(await publish(other, { name: 'via-password', version: '1.0.1' }))).toMatch(/\+ via-password@1\.0\.1/)
    } finally {
      await other.remove()
    }
  })

  it('9. prints the read-only message when Trove is in maintenance', async () => {
    expect((await api('PUT', '/api/v1/system/read-only', { enabled: true, message: 'Trove is read-only: storage migration until 18:00' })).status).toBe(200)
    try {
      // npm retries a 5xx twice, 10 s and more apart, before it prints it: not retried here.
      expectFailure(await publish(dev, { name: 'greeter', version: '1.2.0' }, '--fetch-retries=0'), /E503/, /503 Service Unavailable - PUT .*greeter - Trove is read-only: storage migration until 18:00/)
      expect(stdoutOf(await runNpm(dev, dev.root, 'view', 'greeter', 'version')).trim()).toBe('1.1.0')
    } finally {
      await api('PUT', '/api/v1/system/read-only', { enabled: false })
    }
  })

  it('10. adds, lists and removes dist-tags', async () => {
    expect(stdoutOf(await runNpm(dev, dev.root, 'dist-tag', 'add', 'greeter@1.0.0', 'stable'))).toContain('+stable: greeter@1.0.0')
    expect(stdoutOf(await runNpm(dev, dev.root, 'dist-tag', 'ls', 'greeter'))).toBe('latest: 1.1.0\nstable: 1.0.0\n')
    const project = await dev.folder('tagged', { 'package.json': '{"name":"tagged","version":"1.0.0","private":true}' })
    expectOk(await runNpm(dev, project, 'install', 'greeter@stable'))
    expect(JSON.parse(await readFile(join(project, 'node_modules', 'greeter', 'package.json'), 'utf8')).version).toBe('1.0.0')
    expect(stdoutOf(await runNpm(dev, dev.root, 'dist-tag', 'rm', 'greeter', 'stable'))).toContain('-stable: greeter@1.0.0')
    expect(stdoutOf(await runNpm(dev, dev.root, 'dist-tag', 'ls', 'greeter'))).toBe('latest: 1.1.0\n')
  })

  it('11. deprecates a version, and installs warn about it', async () => {
    expectOk(await runNpm(dev, dev.root, 'deprecate', 'greeter@1.0.0', 'greeter 1.0 is unsupported, use ^1.1'))
    expect(stdoutOf(await runNpm(dev, dev.root, 'view', 'greeter@1.0.0', 'deprecated')).trim()).toBe('greeter 1.0 is unsupported, use ^1.1')
    await dev.clearCaches()
    const project = await dev.folder('old', { 'package.json': '{"name":"old","version":"1.0.0","private":true}' })
    expect(expectOk(await runNpm(dev, project, 'install', 'greeter@1.0.0'))).toMatch(/npm warn deprecated greeter@1\.0\.0: greeter 1\.0 is unsupported, use \^1\.1/)
    expectOk(await runNpm(dev, dev.root, 'deprecate', 'greeter@1.0.0', ''))
    expect(stdoutOf(await runNpm(dev, dev.root, 'view', 'greeter@1.0.0', 'deprecated')).trim()).toBe('')
  })

  it('12. finds packages with npm search', async () => {
    const found = expectOk(await runNpm(dev, dev.root, 'search', 'greet'))
    expect(found).toMatch(/greeter/)
    expect(found).toMatch(/Says hello/)
  })

  it('13. unpublishes a version, then a whole package', async () => {
    expect(expectOk(await publish(dev, { name: 'greeter', version: '1.2.0' }))).toMatch(/\+ greeter@1\.2\.0/)
    expect(expectOk(await runNpm(dev, dev.root, 'unpublish', 'greeter@1.2.0'))).toContain('- greeter@1.2.0')
    expect(JSON.parse(stdoutOf(await runNpm(dev, dev.root, 'view', 'greeter', 'versions', '--json')))).toEqual(['1.0.0', '1.1.0'])
    expect(stdoutOf(await runNpm(dev, dev.root, 'view', 'greeter', 'dist-tags.latest')).trim()).toBe('1.1.0')
    const storage = await api('GET', '/artifactory/api/storage/npm-local/greeter/-/greeter-1.2.0.tgz')
    expect(storage.status).toBe(404)

    expect(expectOk(await runNpm(dev, dev.root, 'unpublish', '@acme/widgets', '--force'))).toContain('- @acme/widgets')
    expectFailure(await runNpm(dev, dev.root, 'view', '@acme/widgets'), /E404/, /package @acme\/widgets is not in 'npm-local'/)
  })

  it('14. logs out, revoking the token', async () => {
    const token = /_authToken=(\S+)/.exec(await dev.readNpmrc())![1]!
    expectOk(await runNpm(dev, dev.root, 'logout'))
    expect(await dev.readNpmrc()).not.toContain('_authToken')
    const whoami = await fetch(`${registry}-/whoami`, { headers: { authorization: `Bearer ${token}` } })
    expect(whoami.status).toBe(401)
  })
})
