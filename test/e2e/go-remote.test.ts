/**
 * Go remote and virtual repositories with the real go command. The upstream is a second Trove's
 * Go local repository on 127.0.0.1 (a private one: the remote logs in with its own credentials),
 * and the checksum database is golang.org/x/mod's own server (test/helpers/go-sumdb.ts) vouching
 * for that upstream's modules: go runs with GOSUMDB set to that database's key and no URL, so it
 * reaches the database only through Trove's `sumdb/` proxy on the remote. Then: cached module
 * files, a virtual whose dependency-confusion guard keeps a private module from the upstream, and
 * builds that still work with the upstream and the database stopped.
 */
import { copyFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { GoMachine, appProject, libraryFiles, publishVersion, runProgram } from '../helpers/go.js'
import { startSumDb, type SumDb } from '../helpers/go-sumdb.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import { startTlsFront, type TlsFront } from '../helpers/tls-front.js'
import { Client, createUser, grant } from './generic-support.js'

const hasGo = await requireClients('the Go remote suite', ['go'])

const ALLOW_LOOPBACK = { remote: { allowedUpstreamHosts: ['127.0.0.1'] } }
const SUMDB_NAME = 'sum.trove.test'

describe.skipIf(!hasGo)('Go remote and virtual repositories with the go command', () => {
  let upstream: TestServer
  let server: TestServer
  let front: TlsFront
  let sumdb: SumDb
  let admin: Client
  let machine: GoMachine
  let app: string
  /** Stopped by the last test. */
  let isUpstreamStopped = false

  const goEnv = (repo: string, extra: NodeJS.ProcessEnv = {}) => ({
    GOPROXY: `${front.url}/artifactory/api/go/${repo}`,
    GOSUMDB: sumdb.verifierKey,
    SSL_CERT_FILE: front.certFile,
    ...extra,
  })

  beforeAll(async () => {
    upstream = await startTestServer()
    const upstreamAdmin = new Client(upstream.url, upstream.adminAuth)
    expect((await upstreamAdmin.put('/artifactory/api/repositories/up-go', { body: { key: 'up-go', rclass: 'local', packageType: 'go' } })).status).toBe(200)
    await createUser(upstreamAdmin, 'mirror', 'mirror-password-1')
    await grant(upstreamAdmin, 'up-go', 'mirror', ['read'])
    for (const version of ['v1.0.0', 'v1.1.0']) await publishVersion(upstreamAdmin, 'up-go', 'example.com/lib', version, libraryFiles('example.com/lib', `lib ${version}`))
    await publishVersion(upstreamAdmin, 'up-go', 'example.com/Upper/util', 'v0.3.0', libraryFiles('example.com/Upper/util', 'util'))
    // Someone published a module named like our private one upstream: the guard must keep it out.
    await publishVersion(upstreamAdmin, 'up-go', 'example.com/private', 'v1.9.9', libraryFiles('example.com/private', 'hijacked'))
    const upstreamProxy = `${upstream.url.replace('://', '://mirror:mirror-password-1@')}/artifactory/api/go/up-go`
    sumdb = await startSumDb(SUMDB_NAME, upstreamProxy)

    server = await startTestServer({ settings: ALLOW_LOOPBACK })
    front = await startTlsFront(server.url)
    admin = new Client(server.url, server.adminAuth)
    const create = async (key: string, config: Record<string, unknown>) => {
      const response = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'go', ...config } })
      expect(response.status, response.text).toBe(200)
    }
    await create('go-remote', {
      rclass: 'remote',
      url: `${upstream.url}/artifactory/api/go/up-go`,
      username: 'mirror',
      password: 'mirror-password-1',
      retrievalCachePeriodSecs: 0,
      assumedOfflinePeriodSecs: 0,
      goSumdbUrl: sumdb.url,
      goSumdbName: SUMDB_NAME,
    })
    await create('go-mine', { rclass: 'local' })
    await create('go-virtual', { rclass: 'virtual', repositories: ['go-mine', 'go-remote'], defaultDeploymentRepo: 'go-mine' })
    await publishVersion(admin, 'go-mine', 'example.com/private', 'v1.0.0', libraryFiles('example.com/private', 'ours'))

    machine = await GoMachine.create('remote')
    await machine.netrc('127.0.0.1', 'admin', ADMIN_PASSWORD)
  })

  afterAll(async () => {
    await machine?.close()
    await front?.close()
    if (!isUpstreamStopped) await sumdb?.close()
    await server?.close()
    if (!isUpstreamStopped) await upstream?.close()
  })

  it('cold: go downloads through the remote, verifies every module with the checksum database through Trove, and the files are cached', async () => {
    app = await machine.folder('app', appProject({ 'example.com/lib': 'v1.1.0', 'example.com/Upper/util': 'v0.3.0' }, { lib: 'example.com/lib', util: 'example.com/Upper/util' }))
    const build = await machine.go(['build', '-o', 'app', '.'], app, goEnv('go-remote'))
    expect(build.code, build.output).toBe(0)
    expect(await runProgram(join(app, 'app'))).toBe('lib v1.1.0 util\n')

    // 1. go asked the database, through Trove only, and wrote what it vouched for into go.sum.
    expect(sumdb.requests.some((p) => p.startsWith('/lookup/example.com/lib@v1.1.0'))).toBe(true)
    expect(sumdb.requests.some((p) => p.startsWith('/lookup/example.com/!upper/util@v0.3.0'))).toBe(true)
    expect(sumdb.requests.some((p) => p.startsWith('/tile/'))).toBe(true)
    const goSum = await readFile(join(app, 'go.sum'), 'utf8')
    expect(goSum).toMatch(/^example\.com\/lib v1\.1\.0 h1:/m)
    expect(goSum).toMatch(/^example\.com\/Upper\/util v0\.3\.0\/go\.mod h1:/m)
    const supported = await admin.get(`/artifactory/api/go/go-remote/sumdb/${SUMDB_NAME}/supported`)
    expect(supported.status).toBe(200)
    expect((await admin.get('/artifactory/api/go/go-remote/sumdb/sum.other.test/supported')).status).toBe(404)

    // 2. The module files are cached in the remote, with their upstream URL.
    const cached = await admin.get('/artifactory/api/storage/go-remote/example.com/lib/@v/v1.1.0.zip')
    expect(cached.status, cached.text).toBe(200)
    expect(cached.json()).toMatchObject({ remoteUrl: `${upstream.url}/artifactory/api/go/up-go/example.com/lib/@v/v1.1.0.zip` })
    expect((await admin.get('/artifactory/api/storage/go-remote/example.com/!upper/util/@v/v0.3.0.mod')).status).toBe(200)

    // 3. go get @latest reads the upstream's list through the remote.
    const get = await machine.go(['get', 'example.com/lib@latest'], app, goEnv('go-remote'))
    expect(get.code, get.output).toBe(0)
    const list = await machine.go(['list', '-m', '-versions', 'example.com/lib'], app, goEnv('go-remote'))
    expect(list.output.trim()).toBe('example.com/lib v1.0.0 v1.1.0')
  })

  it('a virtual over a local and the remote: lists merged, and a private module is never taken from the upstream', async () => {
    expect((await admin.get('/artifactory/api/go/go-virtual/example.com/lib/@v/list')).text).toBe('v1.0.0\nv1.1.0\n')
    expect((await admin.get('/artifactory/api/go/go-virtual/example.com/private/@v/list')).text).toBe('v1.0.0\n')
    const hijack = await admin.get('/artifactory/api/go/go-virtual/example.com/private/@v/v1.9.9.info')
    expect(hijack.status).toBe(404)
    expect(hijack.text).toMatch(/dependencyConfusionGuard/)

    const project = await machine.folder('virtual-app', appProject({}, { lib: 'example.com/lib', private: 'example.com/private' }))
    const tidy = await machine.go(['mod', 'tidy'], project, goEnv('go-virtual', { GONOSUMDB: 'example.com/private' }))
    expect(tidy.code, tidy.output).toBe(0)
    expect(await readFile(join(project, 'go.mod'), 'utf8')).toMatch(/example\.com\/private v1\.0\.0/)
    expect((await machine.go(['build', '-o', 'app', '.'], project, goEnv('go-virtual', { GONOSUMDB: 'example.com/private' }))).code).toBe(0)
    expect(await runProgram(join(project, 'app'))).toBe('lib v1.1.0 ours\n')
    // The checksum database is reachable through the virtual too.
    expect((await admin.get(`/artifactory/api/go/go-virtual/sumdb/${SUMDB_NAME}/supported`)).status).toBe(200)
  })

  it('warm: with the upstream and the database stopped, a fresh machine still builds from the cache', async () => {
    await upstream.close()
    await sumdb.close()
    isUpstreamStopped = true
    const fresh = await GoMachine.create('warm')
    try {
      await fresh.netrc('127.0.0.1', 'admin', ADMIN_PASSWORD)
      const project = await fresh.folder('app', {})
      for (const file of ['go.mod', 'go.sum', 'main.go']) await copyFile(join(app, file), join(project, file))
      const build = await fresh.go(['build', '-o', 'app', '.'], project, goEnv('go-remote'))
      expect(build.code, build.output).toBe(0)
      expect(await runProgram(join(project, 'app'))).toBe('lib v1.1.0 util\n')
      // The cached version list is served stale; a version never cached cannot be had.
      expect((await admin.get('/artifactory/api/go/go-remote/example.com/lib/@v/list')).text).toBe('v1.0.0\nv1.1.0\n')
      const missing = await admin.get('/artifactory/api/go/go-remote/example.com/lib/@v/v1.0.0.zip')
      expect(missing.status).toBeGreaterThanOrEqual(502)
    } finally {
      await fresh.close()
    }
  })
})
