/**
 * Download redirects (`blobstore.redirectDownloads`): a blob download answers 307 to a short-lived
 * presigned URL of the object store, after authorization and with the download counted, and the
 * real clients follow it: curl, skopeo, npm, pip and mvn. The store's URLs name `localhost`
 * while Trove is reached as 127.0.0.1, as a bucket's host differs from Trove's in production, so
 * the clients do not carry Trove's credentials over to the store.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientHome } from '../conformance/npm/clients.js'
import { Client, curl, deploy, expectRestError } from './generic-support.js'
import { DEBIAN_BEANUTILS, PLUGINS, runMvn, startStaticMavenRepository, tail, writeSettings, type StaticMavenRepository } from '../helpers/maven.js'
import { npmPackage } from '../helpers/npm.js'
import { blobsOfImage, buildImage, sha256 } from '../helpers/oci-images.js'
import { RegistryClient, startOciServer, type OciServer } from '../helpers/oci.js'
import { buildWheel, PythonHome } from '../helpers/python.js'
import { requireClients } from '../helpers/clients.js'
import { motoOrSkip } from '../helpers/s3.js'
import { ADMIN_PASSWORD } from '../helpers/server.js'

const MiB = 1024 * 1024
const hasClients = await requireClients('the download redirect tests', ['skopeo', 'npm', 'pip', 'mvn', DEBIAN_BEANUTILS, 'curl', 'moto_server'])
const moto = hasClients ? await motoOrSkip('the download redirect tests') : undefined
afterAll(() => moto?.stop())

describe.skipIf(!moto)('download redirects to the object store', () => {
  let server: OciServer
  let admin: Client
  let bucket: string
  let work: string
  /** Where the store's URLs point: moto, named `localhost`. */
  let storeOrigin: string

  beforeAll(async () => {
    bucket = await moto!.createBucket()
    storeOrigin = `http://localhost:${moto!.port}`
    server = await startOciServer('sqlite', {
      blobstore: {
        url: `s3://${bucket}/trove`,
        redirectDownloads: true,
        redirectExpirySecs: 120,
        s3: { endpoint: storeOrigin, forcePathStyle: true, partSizeBytes: 5 * MiB },
      },
      remote: { allowedUpstreamHosts: ['127.0.0.1'] },
    })
    admin = new Client(server.url, server.adminAuth)
    work = await mkdtemp(join(tmpdir(), 'trove-redirects-'))
    for (const [key, packageType] of [
      ['generic-local', 'generic'],
      ['docker-local', 'docker'],
      ['npm-local', 'npm'],
      ['pypi-local', 'pypi'],
      ['maven-local', 'maven'],
    ] as const) {
      const created = await admin.put(`/artifactory/api/repositories/${key}`, {
        body: { key, rclass: 'local', packageType, anonymousRead: packageType !== 'generic' && packageType !== 'docker' },
      })
      expect(created.status, created.text).toBe(200)
    }
  })
  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('answers a GET with 307 to the store after authorization, counts it; curl follows it, Range included', async () => {
    const content = randomBytes(6 * MiB + 11)
    await deploy(admin, 'generic-local/tools/tool.bin', content)

    // 1. No login, no redirect: the same refusal a streamed download gets.
    expectRestError(await admin.anonymous.get('/artifactory/generic-local/tools/tool.bin'), 401)

    // 2. The admin is sent to a presigned URL of the store, valid for the configured time.
    const answer = await admin.get('/artifactory/generic-local/tools/tool.bin')
    expect(answer.status).toBe(307)
    const location = new URL(String(answer.headers.location))
    expect(location.origin).toBe(storeOrigin)
    expect(location.pathname).toBe(`/${bucket}/trove/blobs/sha256/${sha256(content).slice(0, 2)}/${sha256(content)}`)
    expect(location.searchParams.get('X-Amz-Expires')).toBe('120')
    expect(answer.body.length).toBe(0)

    // 3. curl follows it, without sending Trove's credentials to the store, and gets the bytes.
    const whole = await curl(['-L', '-u', `admin:${ADMIN_PASSWORD}`, `${server.url}/artifactory/generic-local/tools/tool.bin`], join(work, 'tool.bin'))
    expect(whole.status).toBe(200)
    expect(sha256(whole.body)).toBe(sha256(content))
    const ranged = await curl(['-L', '-r', '1000-1999', '-u', `admin:${ADMIN_PASSWORD}`, `${server.url}/artifactory/generic-local/tools/tool.bin`], join(work, 'range.bin'))
    expect(ranged.status).toBe(206)
    expect(ranged.body.equals(content.subarray(1000, 2000))).toBe(true)

    // 4. Every redirected download was counted, as a streamed one is.
    const stats = await admin.get('/artifactory/api/storage/generic-local/tools/tool.bin?stats')
    expect((stats.json() as { downloadCount: number }).downloadCount).toBe(3)

    // 5. HEAD is answered by Trove itself; a blob gone from the store is Trove's 404, not the store's.
    const head = await admin.head('/artifactory/generic-local/tools/tool.bin')
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe(String(content.length))
    await server.trove.services.blobs.delete(sha256(content))
    expectRestError(await admin.get('/artifactory/generic-local/tools/tool.bin'), 404)
  })

  it('skopeo copies an image out, its layers fetched from the store', async () => {
    const registry = new RegistryClient(server, server.adminAuth)
    const image = buildImage('redirected', 3, undefined, 256 * 1024)
    await registry.pushImage('docker-local/team/app', 'v1', image)
    const answer = await registry.call('GET', `/v2/docker-local/team/app/blobs/${image.layers[0]!.descriptor.digest}`, { headers: {} })
    expect(answer.status).toBe(307)
    expect(new URL(answer.headers.get('location')!).origin).toBe(storeOrigin)

    const out = join(work, 'skopeo-out')
    const copy = await run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      `admin:${ADMIN_PASSWORD}`,
      `docker://${new URL(server.url).host}/docker-local/team/app:v1`,
      `dir:${out}`,
    ])
    expect(copy.code, copy.output).toBe(0)
    for (const blob of blobsOfImage(image).slice(1)) {
      expect(sha256(await readFile(join(out, blob.descriptor.digest.replace('sha256:', ''))))).toBe(sha256(blob.bytes))
    }
  })

  it('npm installs a package whose tarball comes from the store', async () => {
    const { body } = await npmPackage({ name: 'redirected-lib', version: '1.0.0', main: 'index.js' }, { 'index.js': 'module.exports = "from the store"\n' })
    const published = await admin.put('/artifactory/api/npm/npm-local/redirected-lib', { body })
    expect(published.status, published.text).toBe(201)
    const tarballAnswer = await admin.anonymous.get('/artifactory/api/npm/npm-local/redirected-lib/-/redirected-lib-1.0.0.tgz')
    expect(tarballAnswer.status).toBe(307)

    const home = await ClientHome.create()
    try {
      await home.writeNpmrc([`registry=${server.url}/artifactory/api/npm/npm-local/`])
      const project = await home.folder('app', { 'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'redirected-lib': '1.0.0' } }) })
      const install = await home.run('npm', ['install', '--no-package-lock'], { cwd: project })
      expect(install.code, install.output).toBe(0)
      expect(await readFile(join(project, 'node_modules', 'redirected-lib', 'index.js'), 'utf8')).toBe('module.exports = "from the store"\n')
    } finally {
      await home.remove()
    }
  })

  it('pip downloads a wheel from the store', async () => {
    const wheel = await buildWheel({ name: 'redirected-dist', version: '1.0', padding: 300_000 })
    const form = new FormData()
    for (const [key, value] of Object.entries({ ':action': 'file_upload', protocol_version: '1', name: 'redirected-dist', version: '1.0', filetype: 'bdist_wheel', pyversion: 'py3', sha256_digest: wheel.sha256 })) {
      form.append(key, value)
    }
    form.append('content', new Blob([wheel.bytes]), wheel.filename)
    const uploaded = await fetch(`${server.url}/artifactory/api/pypi/pypi-local`, { method: 'POST', body: form, headers: { authorization: server.adminAuth } })
    expect(uploaded.status, await uploaded.text()).toBe(200)

    const home = await PythonHome.create()
    try {
      const download = await home.pip(['download', '--no-deps', '--no-cache-dir', '-d', home.path('out'), '--index-url', `${server.url}/artifactory/api/pypi/pypi-local/simple/`, 'redirected-dist==1.0'])
      expect(download.code, download.output).toBe(0)
      expect(sha256(await readFile(home.path('out', wheel.filename)))).toBe(wheel.sha256)
    } finally {
      await rm(home.root, { recursive: true, force: true })
    }
  })

  it('mvn resolves a dependency from the store', async () => {
    const jar = randomBytes(200_000)
    const pom = '<project><modelVersion>4.0.0</modelVersion><groupId>org.acme</groupId><artifactId>stored</artifactId><version>1.0</version></project>\n'
    await deploy(admin, 'maven-local/org/acme/stored/1.0/stored-1.0.jar', jar)
    await deploy(admin, 'maven-local/org/acme/stored/1.0/stored-1.0.pom', Buffer.from(pom))
    // Maven's own plugins come through a remote of the machine's repositories (pulled through: streamed).
    let plugins: StaticMavenRepository | undefined
    try {
      plugins = await startStaticMavenRepository()
      for (const [key, config] of [
        ['plugins-remote', { rclass: 'remote', url: plugins.url, anonymousRead: true }],
        ['maven-virtual', { rclass: 'virtual', repositories: ['maven-local', 'plugins-remote'], anonymousRead: true }],
      ] as const) {
        const created = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'maven', ...config } })
        expect(created.status, created.text).toBe(200)
      }
      const settings = join(work, 'settings.xml')
      await writeSettings(settings, { localRepository: join(work, 'm2'), mirrorUrl: `${server.url}/artifactory/maven-virtual`, servers: [] })
      const get = await runMvn([`org.apache.maven.plugins:maven-dependency-plugin:${PLUGINS.dependency}:get`, '-Dartifact=org.acme:stored:1.0', '-Dtransitive=false'], {
        cwd: work,
        settings,
        timeoutMs: 240_000,
      })
      expect(get.code, tail(get.output)).toBe(0)
      expect(sha256(await readFile(join(work, 'm2', 'org', 'acme', 'stored', '1.0', 'stored-1.0.jar')))).toBe(sha256(jar))
      const answer = await admin.anonymous.get('/artifactory/maven-virtual/org/acme/stored/1.0/stored-1.0.jar')
      expect(answer.status).toBe(307)
    } finally {
      await plugins?.close()
    }
  }, 300_000)
})

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, output })
    })
  })
}
