/**
 * The container client people script with, against a real Trove on 127.0.0.1: `skopeo login`,
 * `copy` of a multi-layer image and of a multi-architecture index in and out (OCI layouts built
 * on disk by the test, no network), `inspect`, `list-tags`, `delete`, a copy between two
 * repositories (a cross-repository mount), Docker schema 2 conversion, a Helm chart as an OCI
 * artifact, and anonymous pulls.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  OCI_MANIFEST,
  blobOf,
  blobsOfImage,
  buildImage,
  buildIndex,
  layoutRoot,
  readLayoutBlobs,
  writeLayout,
} from '../../helpers/oci-images.js'
import { ADMIN_PASSWORD, RegistryClient, startOciServer, type OciServer } from '../../helpers/oci.js'
import { requireClients } from '../../helpers/clients.js'
import { metadataBackends } from '../../helpers/postgres.js'

const hasSkopeo = await requireClients('the skopeo conformance suite', ['skopeo'])

const backends = await metadataBackends()

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

describe.skipIf(!hasSkopeo).each(backends)('skopeo against Trove on %s', (backend) => {
  let server: OciServer
  let admin: RegistryClient
  let work: string
  let host: string

  /** Runs skopeo with its own auth file, so logins stay inside the test. */
  function skopeo(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        'skopeo',
        args,
        { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      )
    })
  }

  async function ok(...args: string[]): Promise<string> {
    const run = await skopeo(...args)
    expect(run.code, `skopeo ${args.join(' ')}\n${run.stderr}`).toBe(0)
    return run.stdout
  }

  /** Asserts that two OCI layouts hold the same blobs, byte for byte. */
  async function expectSameBlobs(expected: string, actual: string): Promise<void> {
    const [a, b] = await Promise.all([readLayoutBlobs(expected), readLayoutBlobs(actual)])
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort())
    for (const [hex, bytes] of a) expect(b.get(hex)!.equals(bytes), hex).toBe(true)
  }

  const creds = `admin:${ADMIN_PASSWORD}`
  const insecure = '--tls-verify=false'

  beforeAll(async () => {
    server = await startOciServer(backend)
    admin = new RegistryClient(server, server.adminAuth)
    await admin.createRepository('docker-local')
    await admin.createRepository('copies-local')
    await admin.createRepository('public-local', { anonymousRead: true })
    work = await mkdtemp(join(tmpdir(), 'trove-skopeo-'))
    host = new URL(server.url).host
  })
  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('logs in with a password, and refuses a wrong one', async () => {
    const bad = await skopeo('login', insecure, '-u', 'admin', '-p', 'not-the-password', host)
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/invalid username\/password|unauthorized/i)
    expect(await ok('login', insecure, '-u', 'admin', '-p', ADMIN_PASSWORD, host)).toMatch(/Login Succeeded/)
    const auth = JSON.parse(await readFile(join(work, 'auth.json'), 'utf8')) as { auths: Record<string, unknown> }
    expect(Object.keys(auth.auths)).toContain(host)
  })

  it('copies a multi-layer image in and out, byte for byte, and inspects it', async () => {
    const image = buildImage('skopeo-single', 4, undefined, 64 * 1024)
    const source = join(work, 'single')
    await writeLayout(source, 'v1', image.manifest, blobsOfImage(image))
    // Logged in above: no credentials on the command line.
    await ok('copy', `--dest-tls-verify=false`, `oci:${source}:v1`, `docker://${host}/docker-local/team/app:v1`)

    const inspected = JSON.parse(await ok('inspect', insecure, `docker://${host}/docker-local/team/app:v1`)) as {
      Digest: string
      Layers: string[]
      RepoTags: string[]
      Architecture: string
    }
    expect(inspected.Digest).toBe(image.manifest.descriptor.digest)
    expect(inspected.Layers).toEqual(image.layers.map((l) => l.descriptor.digest))
    expect(inspected.RepoTags).toEqual(['v1'])
    expect(inspected.Architecture).toBe('amd64')
    const raw = await ok('inspect', insecure, '--raw', `docker://${host}/docker-local/team/app:v1`)
    expect(raw).toBe(image.manifest.bytes.toString())

    const out = join(work, 'single-out')
    await ok('copy', '--src-tls-verify=false', `docker://${host}/docker-local/team/app:v1`, `oci:${out}:v1`)
    await expectSameBlobs(source, out)
    expect((await layoutRoot(out, 'v1')).digest).toBe(image.manifest.descriptor.digest)
  })

  it('copies a multi-architecture index in and out with --all, and picks a platform', async () => {
    const amd = buildImage('skopeo-multi', 2, { architecture: 'amd64', os: 'linux' })
    const arm = buildImage('skopeo-multi', 2, { architecture: 'arm64', os: 'linux' })
    const index = buildIndex([amd, arm])
    const source = join(work, 'multi')
    await writeLayout(source, 'v1', index, [...blobsOfImage(amd), ...blobsOfImage(arm)])
    await ok('copy', '--all', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${source}:v1`, `docker://${host}/docker-local/multi:v1`)

    const raw = await ok('inspect', insecure, '--creds', creds, '--raw', `docker://${host}/docker-local/multi:v1`)
    expect(raw).toBe(index.bytes.toString())
    // Inspect resolves the index to the platform asked for (its Digest stays the index's).
    const armInspect = JSON.parse(await ok('inspect', insecure, '--creds', creds, '--override-arch', 'arm64', `docker://${host}/docker-local/multi:v1`)) as {
      Digest: string
      Architecture: string
      Layers: string[]
    }
    expect(armInspect.Digest).toBe(index.descriptor.digest)
    expect(armInspect.Architecture).toBe('arm64')
    expect(armInspect.Layers).toEqual(arm.layers.map((l) => l.descriptor.digest))

    const out = join(work, 'multi-out')
    await ok('copy', '--all', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/docker-local/multi:v1`, `oci:${out}:v1`)
    await expectSameBlobs(source, out)
    // One platform only, by digest.
    const single = join(work, 'multi-arm')
    await ok('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/docker-local/multi@${arm.manifest.descriptor.digest}`, `oci:${single}:arm`)
    expect((await layoutRoot(single, 'arm')).digest).toBe(arm.manifest.descriptor.digest)
  })

  it('lists tags, copies between repositories of the same registry, and converts to Docker schema 2', async () => {
    const image = buildImage('skopeo-tags', 2)
    const source = join(work, 'tags')
    await writeLayout(source, 'v1', image.manifest, blobsOfImage(image))
    for (const tag of ['1.0', '1.1', 'latest']) {
      await ok('copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${source}:v1`, `docker://${host}/docker-local/tags:${tag}`)
    }
    const listed = JSON.parse(await ok('list-tags', insecure, '--creds', creds, `docker://${host}/docker-local/tags`)) as { Tags: string[] }
    expect(listed.Tags).toEqual(['1.0', '1.1', 'latest'])

    // Registry to registry: skopeo mounts the blobs from the source repository instead of uploading them.
    await ok('copy', insecure, '--src-creds', creds, '--dest-creds', creds, `docker://${host}/docker-local/tags:1.0`, `docker://${host}/copies-local/tags:copied`)
    const copied = JSON.parse(await ok('inspect', insecure, '--creds', creds, `docker://${host}/copies-local/tags:copied`)) as { Digest: string }
    expect(copied.Digest).toBe(image.manifest.descriptor.digest)

    await ok('copy', '--dest-tls-verify=false', '--dest-creds', creds, '--format', 'v2s2', `oci:${source}:v1`, `docker://${host}/docker-local/converted:v1`)
    const manifest = await admin.call('GET', '/v2/docker-local/converted/manifests/v1', { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } })
    expect(manifest.headers.get('content-type')).toBe('application/vnd.docker.distribution.manifest.v2+json')
    const out = join(work, 'converted-out')
    await ok('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/docker-local/converted:v1`, `oci:${out}:v1`)
  })

  it('deletes an image by tag', async () => {
    const image = buildImage('skopeo-delete', 1)
    const source = join(work, 'delete')
    await writeLayout(source, 'v1', image.manifest, blobsOfImage(image))
    await ok('copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${source}:v1`, `docker://${host}/docker-local/doomed:v1`)
    await ok('delete', insecure, '--creds', creds, `docker://${host}/docker-local/doomed:v1`)
    const gone = await skopeo('inspect', insecure, '--creds', creds, `docker://${host}/docker-local/doomed:v1`)
    expect(gone.code).not.toBe(0)
    expect(gone.stderr).toMatch(/manifest unknown/i)
  })

  it('copies a Helm chart stored as an OCI artifact in and out', async () => {
    const config = blobOf('application/vnd.cncf.helm.config.v1+json', Buffer.from('{"name":"mychart","version":"0.1.0","apiVersion":"v2"}'))
    const content = blobOf('application/vnd.cncf.helm.chart.content.v1.tar+gzip', Buffer.from('not really a chart, but bytes all the same'))
    const manifest = blobOf(
      OCI_MANIFEST,
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: [content.descriptor] })),
    )
    const source = join(work, 'chart')
    await writeLayout(source, '0.1.0', manifest, [config, content])
    await ok('copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${source}:0.1.0`, `docker://${host}/docker-local/charts/mychart:0.1.0`)
    const out = join(work, 'chart-out')
    await ok('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/docker-local/charts/mychart:0.1.0`, `oci:${out}:0.1.0`)
    await expectSameBlobs(source, out)
    const listing = await admin.call('GET', '/artifactory/api/storage/docker-local/charts/mychart/0.1.0')
    expect(((await listing.json()) as { children: { uri: string }[] }).children.map((c) => c.uri)).toContain('/manifest.json')
  })

  it('pulls anonymously where the repository allows it, and is refused elsewhere', async () => {
    const image = buildImage('skopeo-public', 1)
    const source = join(work, 'public')
    await writeLayout(source, 'v1', image.manifest, blobsOfImage(image))
    await ok('copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${source}:v1`, `docker://${host}/public-local/app:v1`)
    const out = join(work, 'public-out')
    await ok('copy', '--src-tls-verify=false', '--src-no-creds', `docker://${host}/public-local/app:v1`, `oci:${out}:v1`)
    await expectSameBlobs(source, out)
    const refused = await skopeo('inspect', insecure, '--no-creds', `docker://${host}/docker-local/team/app:v1`)
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/unauthorized|authentication required/i)
    await writeFile(join(work, 'done'), '')
  })
})
