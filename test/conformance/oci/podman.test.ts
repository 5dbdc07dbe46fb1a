/**
 * podman against a real Trove on 127.0.0.1, with its own storage (vfs) in a temporary folder:
 * login and logout, push and pull of a multi-layer image, a multi-architecture manifest list
 * pushed with `podman manifest push --all` and pulled for one platform, and anonymous refusal.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobsOfImage, buildImage, writeLayout } from '../../helpers/oci-images.js'
import { ADMIN_PASSWORD, RegistryClient, startOciServer, type OciServer } from '../../helpers/oci.js'
import { requireClients } from '../../helpers/clients.js'
import { metadataBackends } from '../../helpers/postgres.js'

const hasPodman = await requireClients('the podman conformance suite', ['podman'])

const backends = await metadataBackends()

describe.skipIf(!hasPodman).each(backends)('podman against Trove on %s', (backend) => {
  let server: OciServer
  let admin: RegistryClient
  let work: string
  let host: string

  function podman(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const storage = ['--root', join(work, 'root'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs']
    return new Promise((resolve) => {
      execFile(
        'podman',
        [...storage, ...args],
        { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      )
    })
  }

  async function ok(...args: string[]): Promise<string> {
    const run = await podman(...args)
    expect(run.code, `podman ${args.join(' ')}\n${run.stderr}`).toBe(0)
    return run.stdout.trim()
  }

  beforeAll(async () => {
    server = await startOciServer(backend)
    admin = new RegistryClient(server, server.adminAuth)
    await admin.createRepository('docker-local')
    // podman names images after their oci: path, and image names are lowercase.
    work = join(tmpdir(), `trove-podman-${randomBytes(6).toString('hex')}`)
    await mkdir(work)
    host = new URL(server.url).host
  })
  afterAll(async () => {
    await server?.close()
    if (work) {
      // vfs layers are plain folders; podman's own reset removes them whatever their permissions.
      await podman('system', 'reset', '--force')
      await rm(work, { recursive: true, force: true })
    }
  })

  it('logs in, pushes a multi-layer image, and pulls it back into empty storage', async () => {
    const bad = await podman('login', '--tls-verify=false', '-u', 'admin', '-p', 'not-the-password', host)
    expect(bad.code).not.toBe(0)
    expect(await ok('login', '--tls-verify=false', '-u', 'admin', '-p', ADMIN_PASSWORD, host)).toMatch(/Login Succeeded/)

    const image = buildImage('podman-single', 3)
    const layout = join(work, 'single')
    await writeLayout(layout, 'v1', image.manifest, blobsOfImage(image))
    const id = (await ok('pull', `oci:${layout}:v1`)).split('\n').pop()!
    expect(image.config.descriptor.digest).toBe(`sha256:${id}`)
    await ok('tag', id, `${host}/docker-local/podman/app:v1`)
    await ok('push', '--tls-verify=false', `${host}/docker-local/podman/app:v1`)

    const head = await admin.call('HEAD', '/v2/docker-local/podman/app/manifests/v1')
    expect(head.status).toBe(200)
    const digest = head.headers.get('docker-content-digest')!

    await ok('rmi', '--all', '--force')
    await ok('pull', '--tls-verify=false', `${host}/docker-local/podman/app:v1`)
    const inspected = JSON.parse(await ok('image', 'inspect', `${host}/docker-local/podman/app:v1`)) as { Id: string; Digest: string }[]
    expect(inspected[0]!.Id).toBe(id)
    expect(inspected[0]!.Digest).toBe(digest)
    // By digest too.
    await ok('pull', '--tls-verify=false', `${host}/docker-local/podman/app@${digest}`)
  })

  it('pushes a multi-architecture manifest list and pulls one platform of it', async () => {
    const amd = buildImage('podman-multi', 2, { architecture: 'amd64', os: 'linux' })
    const arm = buildImage('podman-multi', 2, { architecture: 'arm64', os: 'linux' })
    await writeLayout(join(work, 'amd'), 'v1', amd.manifest, blobsOfImage(amd))
    await writeLayout(join(work, 'arm'), 'v1', arm.manifest, blobsOfImage(arm))
    await ok('manifest', 'create', 'trove-multi')
    await ok('manifest', 'add', 'trove-multi', `oci:${join(work, 'amd')}:v1`)
    await ok('manifest', 'add', 'trove-multi', `oci:${join(work, 'arm')}:v1`)
    await ok('manifest', 'push', '--all', '--tls-verify=false', 'trove-multi', `docker://${host}/docker-local/podman/multi:v1`)

    const tags = (await (await admin.call('GET', '/v2/docker-local/podman/multi/tags/list')).json()) as { tags: string[] }
    expect(tags.tags).toEqual(['v1'])
    await ok('pull', '--arch', 'arm64', '--tls-verify=false', `${host}/docker-local/podman/multi:v1`)
    const inspected = JSON.parse(await ok('image', 'inspect', `${host}/docker-local/podman/multi:v1`)) as { Id: string; Architecture: string }[]
    expect(inspected[0]!.Architecture).toBe('arm64')
    expect(`sha256:${inspected[0]!.Id}`).toBe(arm.config.descriptor.digest)
  })

  it('is refused after logging out', async () => {
    await ok('logout', host)
    const refused = await podman('pull', '--tls-verify=false', `${host}/docker-local/podman/app:v1`)
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/unauthorized|authentication required/i)
  })
})
