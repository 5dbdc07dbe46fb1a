/**
 * Real clients through nginx in front of three Trove nodes (issue 15): every request may land on
 * another node (round robin), so an OCI upload's POST, PATCH and PUT, an npm publish and the
 * install after it, a twine upload and pip's index reads, an mvn deploy and its resolution are
 * spread over the cluster.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientHome } from '../conformance/npm/clients.js'
import { CLUSTER_ADMIN_PASSWORD, startCluster, type Cluster } from '../helpers/cluster.js'
import { requireClients } from '../helpers/clients.js'
import { DEBIAN_BEANUTILS, PLUGINS, runMvn, startStaticMavenRepository, tail, writeSettings, type StaticMavenRepository } from '../helpers/maven.js'
import { blobsOfImage, buildImage, layoutRoot, readLayoutBlobs, writeLayout } from '../helpers/oci-images.js'
import { POSTGRES } from '../helpers/postgres.js'
import { buildWheel, PythonHome } from '../helpers/python.js'
import { startMoto, type MotoServer } from '../helpers/s3.js'
import { api, sha256 } from './cluster-support.js'

const isRunnable = await requireClients('the cluster client suite', ['nginx', 'moto_server', POSTGRES, 'skopeo', 'podman', 'npm', 'pip', 'twine', 'mvn', DEBIAN_BEANUTILS])
const CLIENT_TIMEOUT = 300_000

describe.skipIf(!isRunnable)('real clients through nginx and three nodes', () => {
  let moto: MotoServer
  let cluster: Cluster
  let work: string
  let host: string

  const createRepository = (key: string, packageType: string, extra: Record<string, unknown> = {}) =>
    api(cluster.url, 'PUT', `/artifactory/api/repositories/${key}`, { key, rclass: 'local', packageType, ...extra })

  beforeAll(async () => {
    moto = await startMoto()
    cluster = await startCluster(moto)
    work = await mkdtemp(join(tmpdir(), 'trove-cluster-clients-'))
    host = new URL(cluster.url).host
  }, 180_000)

  afterAll(async () => {
    await cluster?.close()
    await moto?.stop()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('skopeo pushes and pulls a multi-layer image, byte for byte', async () => {
    await createRepository('docker-local', 'docker')
    const skopeo = (...args: string[]) =>
      new Promise<{ code: number; stderr: string; stdout: string }>((resolve) => {
        execFile('skopeo', args, { timeout: 180_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        )
      })
    const image = buildImage('cluster', 5, undefined, 1024 * 1024)
    const source = join(work, 'image')
    await writeLayout(source, 'v1', image.manifest, blobsOfImage(image))
    const creds = `admin:${CLUSTER_ADMIN_PASSWORD}`
    const push = await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${source}:v1`, `docker://${host}/docker-local/team/app:v1`)
    expect(push.code, push.stderr).toBe(0)
    // The upload sessions' requests (POST, PATCH, PUT) went to every node.
    const uploads = (await cluster.nginx.requests()).filter((r) => r.path.startsWith('/v2/docker-local/team/app/blobs/uploads/'))
    expect(uploads.length).toBeGreaterThanOrEqual(5 * 2)
    expect(new Set(uploads.map((r) => r.upstreams)).size).toBe(3)
    const out = join(work, 'image-out')
    const pull = await skopeo('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/docker-local/team/app:v1`, `oci:${out}:v1`)
    expect(pull.code, pull.stderr).toBe(0)
    const [sent, received] = await Promise.all([readLayoutBlobs(source), readLayoutBlobs(out)])
    expect([...received.keys()].sort()).toEqual([...sent.keys()].sort())
    for (const [hex, bytes] of sent) expect(sha256(received.get(hex)!), hex).toBe(sha256(bytes))
    expect((await layoutRoot(out, 'v1')).digest).toBe(image.manifest.descriptor.digest)
  }, CLIENT_TIMEOUT)

  it('podman pushes and pulls a multi-layer image, its uploads spread over the nodes', async () => {
    await createRepository('docker-podman', 'docker')
    const storage = ['--root', join(work, 'podman-root'), '--runroot', join(work, 'podman-run'), '--storage-driver', 'vfs']
    const podman = (...args: string[]) =>
      new Promise<{ code: number; stderr: string; stdout: string }>((resolve) => {
        execFile('podman', [...storage, ...args], { timeout: 180_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'podman-auth.json') } }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: stdout.trim(), stderr }),
        )
      })
    const ok = async (...args: string[]) => {
      const run = await podman(...args)
      expect(run.code, `podman ${args.join(' ')}\n${run.stderr}`).toBe(0)
      return run.stdout
    }
    // podman names an image after its oci: path, and image names are lowercase.
    const layout = join(tmpdir(), `trove-cluster-podman-${randomBytes(6).toString('hex')}`)
    try {
      expect(await ok('login', '--tls-verify=false', '-u', 'admin', '-p', CLUSTER_ADMIN_PASSWORD, host)).toMatch(/Login Succeeded/)
      const image = buildImage('cluster-podman', 4, undefined, 512 * 1024)
      await writeLayout(layout, 'v1', image.manifest, blobsOfImage(image))
      const id = (await ok('pull', `oci:${layout}:v1`)).split('\n').pop()!
      expect(`sha256:${id}`).toBe(image.config.descriptor.digest)
      const name = `${host}/docker-podman/team/app:v1`
      await ok('tag', id, name)
      const before = (await cluster.nginx.requests()).length
      await ok('push', '--tls-verify=false', name)
      const uploads = (await cluster.nginx.requests()).slice(before).filter((r) => r.path.startsWith('/v2/docker-podman/team/app/blobs/uploads/'))
      expect(new Set(uploads.map((r) => r.upstreams)).size).toBeGreaterThan(1)
      // Back from the cluster into empty storage: the same image.
      await ok('rmi', '--all', '--force')
      await ok('pull', '--tls-verify=false', name)
      const inspected = JSON.parse(await ok('image', 'inspect', name)) as { Id: string }[]
      expect(inspected[0]!.Id).toBe(id)
    } finally {
      // vfs layers are plain folders; podman's own reset removes them whatever their permissions.
      await podman('system', 'reset', '--force')
      await rm(layout, { recursive: true, force: true })
    }
  }, CLIENT_TIMEOUT)

  it('npm publishes and installs', async () => {
    await createRepository('npm-local', 'npm')
    const home = await ClientHome.create()
    try {
      const registry = `${cluster.url}/artifactory/api/npm/npm-local/`
      const auth = Buffer.from(`admin:${CLUSTER_ADMIN_PASSWORD}`).toString('base64')
      await home.writeNpmrc([`registry=${registry}`, `${registry.replace(/^http:/, '')}:_auth=${auth}`])
      for (const [name, version, dependencies] of [['cluster-dep', '1.0.0', {}], ['cluster-app', '2.0.0', { 'cluster-dep': '^1.0.0' }]] as const) {
        const folder = await home.folder(`${name}-${version}`, {
          'package.json': JSON.stringify({ name, version, dependencies }),
          'index.js': `module.exports = '${name}@${version}'\n`,
        })
        const published = await home.run('npm', ['publish'], { cwd: folder })
        expect(published.code, published.output).toBe(0)
      }
      const project = await home.folder('project', { 'package.json': JSON.stringify({ name: 'project', version: '1.0.0' }) })
      const installed = await home.run('npm', ['install', 'cluster-app'], { cwd: project })
      expect(installed.code, installed.output).toBe(0)
      expect(installed.output).toMatch(/added 2 packages/)
    } finally {
      await rm(home.root, { recursive: true, force: true })
    }
  }, CLIENT_TIMEOUT)

  it('twine uploads and pip installs', async () => {
    await createRepository('pypi-local', 'pypi')
    const home = await PythonHome.create()
    try {
      const wheel = await buildWheel({ name: 'Cluster_Demo', version: '1.0.0', requiresPython: '>=3.7', value: 'clustered' })
      const file = await home.write(`dist/${wheel.filename}`, wheel.bytes)
      const upload = await home.twine(['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', `${cluster.url}/artifactory/api/pypi/pypi-local`, '-u', 'admin', '-p', CLUSTER_ADMIN_PASSWORD, file])
      expect(upload.code, upload.output).toBe(0)
      const index = new URL(`${cluster.url}/artifactory/api/pypi/pypi-local/simple/`)
      index.username = 'admin'
      index.password = CLUSTER_ADMIN_PASSWORD
      const install = await home.pip(['install', '--no-cache-dir', '--only-binary', ':all:', '--target', home.path('site'), '--index-url', index.toString(), 'cluster-demo'])
      expect(install.code, install.output).toBe(0)
      expect(install.output).toMatch(/Successfully installed Cluster_Demo-1\.0\.0|Successfully installed cluster-demo-1\.0\.0/i)
    } finally {
      await home.remove()
    }
  }, CLIENT_TIMEOUT)

  it('mvn deploys and resolves', async () => {
    let plugins: StaticMavenRepository | undefined
    try {
      plugins = await startStaticMavenRepository()
      await createRepository('libs-release-local', 'maven', { handleSnapshots: false })
      await api(cluster.url, 'PUT', '/artifactory/api/repositories/plugins-remote', { key: 'plugins-remote', rclass: 'remote', packageType: 'maven', url: plugins.url })
      await api(cluster.url, 'PUT', '/artifactory/api/repositories/maven-virtual', {
        key: 'maven-virtual',
        rclass: 'virtual',
        packageType: 'maven',
        repositories: ['libs-release-local', 'plugins-remote'],
        defaultDeploymentRepo: 'libs-release-local',
      })
      const server = { id: 'trove', username: 'admin', password: CLUSTER_ADMIN_PASSWORD }
      const settingsOf = async (name: string) => {
        const file = join(work, `${name}.settings.xml`)
        await writeSettings(file, { localRepository: join(work, `${name}-m2`), mirrorUrl: `${cluster.url}/artifactory/maven-virtual`, servers: [server] })
        return file
      }
      const jar = Buffer.from(`a jar deployed through the balancer ${Date.now()}\n`)
      await writeFile(join(work, 'tool.jar'), jar)
      const deploy = await runMvn(
        [
          `org.apache.maven.plugins:maven-deploy-plugin:${PLUGINS.deploy}:deploy-file`,
          `-Dfile=${join(work, 'tool.jar')}`,
          '-DgroupId=org.cluster',
          '-DartifactId=tool',
          '-Dversion=1.0',
          '-Dpackaging=jar',
          `-Durl=${cluster.url}/artifactory/libs-release-local`,
          '-DrepositoryId=trove',
        ],
        { cwd: work, settings: await settingsOf('deployer'), timeoutMs: CLIENT_TIMEOUT },
      )
      expect(deploy.code, tail(deploy.output)).toBe(0)
      // A fresh local repository: the jar comes through the virtual, from whichever node answers.
      const getter = await settingsOf('getter')
      const get = await runMvn([`org.apache.maven.plugins:maven-dependency-plugin:${PLUGINS.dependency}:get`, '-Dartifact=org.cluster:tool:1.0', '-Dtransitive=false'], {
        cwd: work,
        settings: getter,
        timeoutMs: CLIENT_TIMEOUT,
      })
      expect(get.code, tail(get.output)).toBe(0)
      expect(sha256(await readFile(join(work, 'getter-m2', 'org', 'cluster', 'tool', '1.0', 'tool-1.0.jar')))).toBe(sha256(jar))
    } finally {
      await plugins?.close()
    }
  }, CLIENT_TIMEOUT * 2)
})
