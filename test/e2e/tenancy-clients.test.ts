/**
 * The tenancy matrix through real clients, where they are cheap: a project's service account
 * pushes with its token from skopeo, npm, twine and curl; a member of another project and a
 * Viewer are refused.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobsOfImage, buildImage, writeLayout } from '../helpers/oci-images.js'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { TWINE, buildWheel } from '../helpers/python.js'
import { startTestServer, startWorkersServer, type HttpTestServer } from '../helpers/server.js'
import { apiClient, createUser, type ApiCall } from './admin-http.js'

const hasClients = await requireClients('the tenancy client suite', ['skopeo', 'npm', 'twine', 'curl'])

const backends = await metadataBackends()

interface Run {
  readonly code: number
  readonly stderr: string
  /** stdout and stderr (twine prints its errors on stdout). */
  readonly output: string
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 120_000, cwd: options.cwd, env: { ...process.env, ...options.env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr, output: `${stdout}${stderr}` }),
    )
  })
}

// In one process, and through a node of two serving workers (each request on either).
const runs = backends.flatMap((backend) => [1, 2].map((workers) => [backend, workers] as const))

describe.skipIf(!hasClients).each(runs)('tenancy with real clients (%s, %i worker(s))', (backend, workers) => {
  let server: HttpTestServer
  let call: ApiCall
  let work: string
  let host: string
  let ciToken: string
  let viewerToken: string

  beforeAll(async () => {
    server = workers === 1 ? await startTestServer({ backend }) : await startWorkersServer({ backend, workers })
    call = apiClient(server)
    host = new URL(server.url).host
    work = await mkdtemp(join(tmpdir(), 'trove-tenancy-clients-'))
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'acme' } })).status).toBe(201)
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'other' } })).status).toBe(201)
    const lead = await createUser(call, 'lead')
    await createUser(call, 'stranger', 'stranger-password-1')
    const viewer = await createUser(call, 'viewer')
    expect((await call('PUT', '/access/api/v1/projects/acme/users/lead', { json: { roles: ['Project Admin'] } })).status).toBe(200)
    expect((await call('PUT', '/access/api/v1/projects/acme/users/viewer', { json: { roles: ['Viewer'] } })).status).toBe(200)
    expect((await call('PUT', '/access/api/v1/projects/other/users/stranger', { json: { roles: ['Developer'] } })).status).toBe(200)
    for (const [key, type] of [['acme-docker', 'docker'], ['acme-npm', 'npm'], ['acme-pypi', 'pypi'], ['acme-generic', 'generic']]) {
      expect((await call('PUT', `/artifactory/api/repositories/${key}`, { auth: lead, json: { rclass: 'local', packageType: type } })).status).toBe(200)
    }
    expect((await call('PUT', '/access/api/v1/projects/acme/service-accounts/acme-ci', { auth: lead, json: { roles: ['Developer'] } })).status).toBe(201)
    const token = async (who: string, body: Record<string, unknown>) =>
      ((await (await call('POST', '/access/api/v1/tokens', { auth: who, json: body })).json()) as { access_token: string }).access_token
    ciToken = await token(lead, { username: 'acme-ci' })
    viewerToken = await token(viewer, {})
  }, 300_000) // a node of workers starts each of its processes

  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('skopeo copy: the service account pushes with its token; another project member is refused', async () => {
    const image = buildImage('clients', 2)
    const layout = join(work, 'layout')
    await writeLayout(layout, 'v1', image.manifest, blobsOfImage(image))
    const env = { REGISTRY_AUTH_FILE: join(work, 'auth.json') }
    const push = await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `acme-ci:${ciToken}`, `oci:${layout}:v1`, `docker://${host}/acme-docker/app:v1`], { env })
    expect(push.code, push.stderr).toBe(0)
    const refused = await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'stranger:stranger-password-1', `oci:${layout}:v1`, `docker://${host}/acme-docker/app:v2`], { env })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/denied|unauthorized|403|401/i)
    const pulled = await run('skopeo', ['inspect', '--tls-verify=false', '--creds', `acme-ci:${ciToken}`, `docker://${host}/acme-docker/app:v1`], { env })
    expect(pulled.code, pulled.stderr).toBe(0)
    const outsider = await run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'stranger:stranger-password-1', `docker://${host}/acme-docker/app:v1`], { env })
    expect(outsider.code).not.toBe(0)
  })

  it('npm publish: the service account publishes with _authToken; a Viewer token is refused with 403', async () => {
    const registry = `${server.url}/artifactory/api/npm/acme-npm/`
    const nerf = `//${host}/artifactory/api/npm/acme-npm/`
    const pkg = join(work, 'pkg')
    await mkdir(pkg, { recursive: true })
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'acme-lib', version: '1.0.0', main: 'index.js' }))
    await writeFile(join(pkg, 'index.js'), 'module.exports = 1\n')
    const publishWith = async (token: string) => {
      const npmrc = join(work, `npmrc-${token.slice(-6)}`)
      await writeFile(npmrc, `registry=${registry}\n${nerf}:_authToken=${token}\n`)
      return run('npm', ['publish', '--registry', registry, '--userconfig', npmrc, '--cache', join(work, 'npm-cache')], { cwd: pkg })
    }
    const refused = await publishWith(viewerToken)
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/403/)
    const published = await publishWith(ciToken)
    expect(published.code, published.stderr).toBe(0)
    const packument = (await (await call('GET', '/artifactory/api/npm/acme-npm/acme-lib')).json()) as { 'dist-tags': Record<string, string> }
    expect(packument['dist-tags'].latest).toBe('1.0.0')
  })

  it('twine upload: the service account uploads with its token as the password; another project member is refused', async () => {
    const wheel = await buildWheel({ name: 'acme-tool', version: '1.0.0' })
    const file = join(work, wheel.filename)
    await writeFile(file, wheel.bytes)
    const repositoryUrl = `${server.url}/artifactory/api/pypi/acme-pypi`
    const upload = (user: string, password: string) =>
      run(TWINE, ['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', repositoryUrl, '-u', user, '-p', password, file], { env: { HOME: work } })
    const refused = await upload('stranger', 'stranger-password-1')
    expect(refused.code).not.toBe(0)
    expect(refused.output).toMatch(/403 Forbidden/)
    expect(refused.output).toMatch(/user 'stranger' may not deploy/)
    const uploaded = await upload('acme-ci', ciToken)
    expect(uploaded.code, uploaded.output).toBe(0)
    const page = await call('GET', '/artifactory/api/pypi/acme-pypi/simple/acme-tool/')
    expect(await page.text()).toContain(wheel.filename)
  })

  it('curl: the service account deploys with its token as Bearer and as the Basic password; its password login is refused', async () => {
    const url = `${server.url}/artifactory/acme-generic/builds/1/app.txt`
    const content = join(work, 'app.txt')
    await writeFile(content, 'built by CI\n')
    const bearer = await run('curl', ['-sS', '-f', '-T', content, '-H', `Authorization: Bearer ${ciToken}`, url])
    expect(bearer.code, bearer.stderr).toBe(0)
    const basic = await run('curl', ['-sS', '-f', '-T', content, '-u', `acme-ci:${ciToken}`, `${url}.copy`])
    expect(basic.code, basic.stderr).toBe(0)
    expect(await (await call('GET', '/artifactory/acme-generic/builds/1/app.txt.copy')).text()).toBe('built by CI\n')
    // A service account has no password: anything but its token is refused.
    const password = await run('curl', ['-sS', '-f', '-T', content, '-u', 'acme-ci:some-password-1', `${url}.other`])
    expect(password.code).not.toBe(0)
    expect((await call('GET', '/artifactory/acme-generic/builds/1/app.txt.other')).status).toBe(404)
  })
})
