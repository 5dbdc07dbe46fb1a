/**
 * Go local and virtual repositories with the real go command (Debian's go 1.19): module versions
 * published as `jf go-publish` sends them (a PUT each of the .zip, .mod and .info), then
 * `go mod download`, `go get` and `go build` of a project depending on them, with GOPROXY set to
 * Trove and GONOSUMDB naming the private modules, as a user sets them. go sends credentials
 * (`~/.netrc`, or written in GOPROXY) to https URLs only, so go talks to Trove through an HTTPS
 * front (test/helpers/tls-front.ts) whose certificate it is told to trust.
 */
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { GoMachine, appProject, libraryFiles, publishVersion, runProgram } from '../helpers/go.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { startTlsFront, type TlsFront } from '../helpers/tls-front.js'
import { Client, createUser, grant } from './generic-support.js'

const hasGo = await requireClients('the Go local and virtual suite', ['go'])

const USER = 'gopher'
const PASSWORD = 'gopher-password-1'

describe.skipIf(!hasGo)('Go local and virtual repositories with the go command', () => {
  let server: TestServer
  let front: TlsFront
  let admin: Client
  let dev: Client
  let machine: GoMachine

  const goEnv = (repo: string, extra: NodeJS.ProcessEnv = {}) => ({
    GOPROXY: `${front.url}/artifactory/api/go/${repo}`,
    GONOSUMDB: 'example.com/*',
    SSL_CERT_FILE: front.certFile,
    ...extra,
  })
  const createGo = async (key: string, config: Record<string, unknown>) => {
    const response = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'go', ...config } })
    expect(response.status, response.text).toBe(200)
  }

  beforeAll(async () => {
    server = await startTestServer()
    front = await startTlsFront(server.url)
    admin = new Client(server.url, server.adminAuth)
    await createUser(admin, USER, PASSWORD)
    dev = admin.asUser(USER, PASSWORD)
    await createGo('go-local', { rclass: 'local' })
    await createGo('go-team', { rclass: 'local' })
    await createGo('go-all', { rclass: 'virtual', repositories: ['go-local', 'go-team'], defaultDeploymentRepo: 'go-team' })
    for (const repo of ['go-local', 'go-team', 'go-all']) await grant(admin, repo, USER, ['read', 'deploy'])
    machine = await GoMachine.create('local')
    await machine.netrc('127.0.0.1', USER, PASSWORD)
  })

  afterAll(async () => {
    await machine?.close()
    await front?.close()
    await server?.close()
  })

  it('publishes a module version, then go mod download, go build and go get use it', async () => {
    await publishVersion(dev, 'go-local', 'example.com/greet', 'v1.0.0', libraryFiles('example.com/greet', 'hello from v1.0.0'))

    // 1. The proxy protocol, as go reads it.
    expect((await dev.get('/artifactory/api/go/go-local/example.com/greet/@v/list')).text).toBe('v1.0.0\n')
    expect((await dev.get('/artifactory/api/go/go-local/example.com/greet/@v/v1.0.0.info')).json()).toEqual({ Version: 'v1.0.0', Time: '2026-12-07T10:00:00Z' })
    expect((await dev.get('/artifactory/api/go/go-local/example.com/greet/@latest')).json()).toMatchObject({ Version: 'v1.0.0' })
    const stored = await admin.get('/artifactory/api/storage/go-local/example.com/greet/@v/v1.0.0.zip?properties')
    expect(stored.json().properties).toMatchObject({ 'go.module': ['example.com/greet'], 'go.version': ['v1.0.0'], 'go.source': ['test'] })

    // 2. go mod download, then a build of a project that needs it, with credentials from ~/.netrc.
    const app = await machine.folder('app', appProject({ 'example.com/greet': 'v1.0.0' }, { greet: 'example.com/greet' }))
    const download = await machine.go(['mod', 'download', '-json', 'example.com/greet@v1.0.0'], app, goEnv('go-local'))
    expect(download.code, download.output).toBe(0)
    expect(JSON.parse(download.output)).toMatchObject({ Path: 'example.com/greet', Version: 'v1.0.0', Sum: expect.stringMatching(/^h1:/) })
    const build = await machine.go(['build', '-o', 'app', '.'], app, goEnv('go-local'))
    expect(build.code, build.output).toBe(0)
    expect(await runProgram(`${app}/app`)).toBe('hello from v1.0.0\n')

    // 3. What Trove does not have: go shows the status and Trove's text.
    const missing = await machine.go(['mod', 'download', 'example.com/greet@v1.9.0'], app, goEnv('go-local'))
    expect(missing.code).not.toBe(0)
    expect(missing.output).toMatch(/404 Not Found/)
    expect(missing.output).toMatch(/server response: example\.com\/greet@v1\.9\.0 \(info\) is not in 'go-local'/)

    // 4. A new version: go get @latest finds it and the build uses it.
    await publishVersion(dev, 'go-local', 'example.com/greet', 'v1.1.0', libraryFiles('example.com/greet', 'hello from v1.1.0'))
    const get = await machine.go(['get', 'example.com/greet@latest'], app, goEnv('go-local'))
    expect(get.code, get.output).toBe(0)
    expect(get.output).toMatch(/upgraded example\.com\/greet v1\.0\.0 => v1\.1\.0/)
    expect((await machine.go(['build', '-o', 'app', '.'], app, goEnv('go-local'))).code).toBe(0)
    expect(await runProgram(`${app}/app`)).toBe('hello from v1.1.0\n')
  })

  it('go is refused without credentials, and works with them written in GOPROXY', async () => {
    const other = await GoMachine.create('no-netrc')
    try {
      const app = await other.folder('app', appProject({ 'example.com/greet': 'v1.0.0' }, { greet: 'example.com/greet' }))
      const refused = await other.go(['mod', 'download', 'example.com/greet@v1.0.0'], app, goEnv('go-local'))
      expect(refused.code).not.toBe(0)
      expect(refused.output).toMatch(/401 Unauthorized/)
      const withUser = goEnv('go-local', { GOPROXY: `${front.url.replace('://', `://${USER}:${PASSWORD}@`)}/artifactory/api/go/go-local` })
      const download = await other.go(['mod', 'download', 'example.com/greet@v1.0.0'], app, withUser)
      expect(download.code, download.output).toBe(0)
    } finally {
      await other.close()
    }
  })

  it('a virtual merges its members’ version lists, publishes to its deployment repository, and builds from both', async () => {
    // v1.0.0 and v1.1.0 are in go-local; v1.2.0 goes through the virtual into go-team.
    await publishVersion(dev, 'go-all', 'example.com/greet', 'v1.2.0', libraryFiles('example.com/greet', 'hello from the team'))
    expect((await dev.get('/artifactory/api/go/go-team/example.com/greet/@v/list')).text).toBe('v1.2.0\n')
    expect((await dev.get('/artifactory/api/go/go-all/example.com/greet/@v/list')).text).toBe('v1.0.0\nv1.1.0\nv1.2.0\n')
    await publishVersion(dev, 'go-team', 'example.com/tools/v2', 'v2.0.1', libraryFiles('example.com/tools/v2', 'tools v2'))

    await machine.clearModuleCache()
    const app = await machine.folder('virtual-app', appProject({}, { greet: 'example.com/greet', tools: 'example.com/tools/v2' }))
    const tidy = await machine.go(['mod', 'tidy'], app, goEnv('go-all'))
    expect(tidy.code, tidy.output).toBe(0)
    expect(tidy.output).toMatch(/found example\.com\/greet in example\.com\/greet v1\.2\.0/)
    const build = await machine.go(['build', '-o', 'app', '.'], app, goEnv('go-all'))
    expect(build.code, build.output).toBe(0)
    expect(await runProgram(`${app}/app`)).toBe('hello from the team tools v2\n')
    // An older version is served by the member that has it.
    const pinned = await machine.go(['get', 'example.com/greet@v1.0.0'], app, goEnv('go-all'))
    expect(pinned.code, pinned.output).toBe(0)
    expect(await readFile(`${app}/go.mod`, 'utf8')).toMatch(/example\.com\/greet v1\.0\.0/)
    expect((await machine.go(['build', '-o', 'app', '.'], app, goEnv('go-all'))).code).toBe(0)
    expect(await runProgram(`${app}/app`)).toBe('hello from v1.0.0 tools v2\n')
  })
})
