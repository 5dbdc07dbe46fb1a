/**
 * Cleanup policies and immutability rules on container images, with skopeo (docs/lifecycle.md):
 * a policy keeping the 3 newest tags of each image deletes the rest, its dry run lists exactly
 * that, a kept multi-arch index keeps the children it shares with a deleted one, and an immutable
 * tag refuses a push and a delete until an admin lifts the rule.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobsOfImage, buildImage, buildIndex, layoutRoot, writeLayout, type BuiltImage } from '../helpers/oci-images.js'
import { ADMIN_PASSWORD, RegistryClient, expectOciError, startOciServer, type OciServer } from '../helpers/oci.js'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'

const hasSkopeo = await requireClients('the cleanup policy suite with skopeo', ['skopeo'])
const backends = await metadataBackends()

const POLICIES = '/artifactory/api/cleanup/packages/policies'
const RULES = '/artifactory/api/immutability/rules'

interface RunItem {
  repo: string
  package: string
  version: string
  paths: string[]
  bytes: number
  outcome: string
}
interface RunBody {
  runId: string
  status: string
  versions: number
  bytes: number
  items: RunItem[]
}

for (const backend of backends) {
  describe(`cleanup policies and immutability on images (${backend})`, () => {
    let server: OciServer
    let admin: RegistryClient
    let work: string
    let host: string
    const creds = `admin:${ADMIN_PASSWORD}`

    function skopeo(...args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
      return new Promise((resolve) => {
        execFile('skopeo', args, { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        )
      })
    }
    const api = (method: string, path: string, json?: unknown, auth = server.adminAuth) =>
      fetch(`${server.url}${path}`, { method, headers: { authorization: auth, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) }, body: json === undefined ? undefined : JSON.stringify(json) })
    const json = async <T>(res: Response, status: number): Promise<T> => {
      const text = await res.text()
      expect(res.status, text).toBe(status)
      return JSON.parse(text) as T
    }
    /** Pushes an image under a tag; a moment apart, so that "newest" is well defined. */
    const pushTag = async (image: string, tag: string, built: BuiltImage) => {
      await admin.pushImage(`docker-local/${image}`, tag, built)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const pushIndex = async (image: string, tag: string, children: readonly BuiltImage[]) => {
      for (const child of children) await admin.pushImage(`docker-local/${image}`, child.manifest.descriptor.digest, child)
      const res = await admin.putManifest(`docker-local/${image}`, tag, buildIndex(children))
      expect(res.status, await res.text()).toBe(201)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const tags = async (image: string) => ((await json<{ tags: string[] }>(await admin.call('GET', `/v2/docker-local/${image}/tags/list`), 200)).tags ?? []).sort()
    const finished = async (runId: string): Promise<RunBody> => {
      for (let i = 0; i < 600; i++) {
        const run = await json<RunBody>(await api('GET', `/artifactory/api/cleanup/runs/${runId}`), 200)
        if (run.status === 'succeeded' || run.status === 'failed') return run
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      throw new Error(`run ${runId} did not finish`)
    }
    const keyOf = (i: RunItem) => `${i.package}:${i.version} ${[...i.paths].sort().join(',')}`

    beforeAll(async () => {
      server = await startOciServer(backend)
      admin = new RegistryClient(server, server.adminAuth)
      await admin.createRepository('docker-local')
      work = await mkdtemp(join(tmpdir(), 'trove-cleanup-'))
      host = new URL(server.url).host
    })
    afterAll(async () => {
      await server?.close()
      if (work) await rm(work, { recursive: true, force: true })
    })

    it('refuses policies that are malformed, select nothing, or name unknown repositories', async () => {
      const user = await admin.createUser('dev', { 'docker-local': ['read', 'deploy', 'delete'] })
      let res = await api('POST', POLICIES, { key: 'bad', searchCriteria: { repos: ['docker-local'] } })
      expect(res.status).toBe(400)
      expect(await res.text()).toMatch(/would delete everything/)
      res = await api('POST', POLICIES, { key: 'bad', searchCriteria: { repos: ['nope'], keepLastNVersions: 1 } })
      expect(res.status).toBe(400)
      res = await api('POST', POLICIES, { key: 'bad', searchCriteria: { repos: ['docker-local'], keepLastNVersions: -1 } })
      expect(res.status).toBe(400)
      res = await api('POST', POLICIES, { key: 'bad', searchCriteria: { repos: ['docker-local'], keepLastNVersions: 1, surprise: true } })
      expect(res.status).toBe(400)
      // A developer is no Project Admin: refused, and nothing was stored.
      res = await api('POST', POLICIES, { key: 'mine', searchCriteria: { repos: ['docker-local'], keepLastNVersions: 1 } }, user)
      expect(res.status).toBe(403)
      expect((await api('GET', `${POLICIES}/mine`)).status).toBe(404)
      expect(await json<unknown[]>(await api('GET', POLICIES), 200)).toEqual([])
      res = await api('POST', RULES, { key: 'r', repositories: ['docker-local'], versions: 'v*' }, user)
      expect(res.status).toBe(403)
    })

    if (hasSkopeo) {
      it('keeps the 3 newest tags of each image: the dry run lists what the run deletes, and kept tags still pull, a multi-arch one too', { timeout: 300_000 }, async () => {
        const amd = buildImage('shared', 2, { architecture: 'amd64', os: 'linux' })
        const arm = buildImage('shared', 2, { architecture: 'arm64', os: 'linux' })
        const ppc = buildImage('only-old', 1, { architecture: 'ppc64le', os: 'linux' })
        const s390 = buildImage('only-new', 1, { architecture: 's390x', os: 'linux' })
        await pushIndex('app', 'multi-old', [amd, arm, ppc])
        await pushTag('app', 'old1', buildImage('old1', 1))
        await pushTag('app', 'old2', buildImage('old2', 1))
        await pushTag('app', 'new1', buildImage('new1', 1))
        await pushIndex('app', 'multi', [amd, arm, s390])
        await pushTag('app', 'new2', buildImage('new2', 2))
        await pushTag('other', 'a', buildImage('other-a', 1))
        await pushTag('other', 'b', buildImage('other-b', 1))

        await json(await api('POST', POLICIES, { key: 'keep-3', description: 'newest three', searchCriteria: { repos: ['docker-local'], keepLastNVersions: 3 } }), 201)
        const dry = await json<RunBody>(await api('POST', `${POLICIES}/keep-3/run?dryRun=true`), 200)
        expect(dry.items.map((i) => `${i.package}:${i.version}`).sort()).toEqual(['app:multi-old', 'app:old1', 'app:old2'])
        expect(dry.bytes).toBe(dry.items.reduce((sum, i) => sum + i.bytes, 0))
        expect(dry.bytes).toBeGreaterThan(0)
        // The old index takes the child only it named; the shared children stay for the kept index.
        const multiOld = dry.items.find((i) => i.version === 'multi-old')!
        expect(multiOld.paths.some((p) => p.includes(ppc.manifest.descriptor.digest.slice(7)))).toBe(true)
        expect(multiOld.paths.some((p) => p.includes(amd.manifest.descriptor.digest.slice(7)))).toBe(false)
        expect(await tags('app')).toEqual(['multi', 'multi-old', 'new1', 'new2', 'old1', 'old2'])

        const started = await json<RunBody>(await api('POST', `${POLICIES}/keep-3/run`), 201)
        const run = await finished(started.runId)
        expect(run.status).toBe('succeeded')
        expect(run.items.map(keyOf).sort()).toEqual(dry.items.map(keyOf).sort())
        expect(run.items.every((i) => i.outcome === 'deleted')).toBe(true)
        expect(run.bytes).toBe(dry.bytes)

        expect(await tags('app')).toEqual(['multi', 'new1', 'new2'])
        expect(await tags('other')).toEqual(['a', 'b'])
        await expectOciError(await admin.call('GET', `/v2/docker-local/app/manifests/${ppc.manifest.descriptor.digest}`), 404, 'MANIFEST_UNKNOWN')
        await expectOciError(await admin.call('GET', `/v2/docker-local/app/manifests/old1`), 404, 'MANIFEST_UNKNOWN')

        // skopeo pulls every kept tag, the multi-arch one with all its platforms.
        const out = join(work, 'multi-out')
        const all = await skopeo('copy', '--all', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/docker-local/app:multi`, `oci:${out}:multi`)
        expect(all.code, all.stderr).toBe(0)
        expect((await layoutRoot(out, 'multi')).digest).toBe(buildIndex([amd, arm, s390]).descriptor.digest)
        for (const tag of ['new1', 'new2']) {
          const pulled = await skopeo('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/docker-local/app:${tag}`, `oci:${join(work, tag)}:${tag}`)
          expect(pulled.code, pulled.stderr).toBe(0)
        }
        const gone = await skopeo('inspect', '--tls-verify=false', '--creds', creds, `docker://${host}/docker-local/app:old2`)
        expect(gone.code).not.toBe(0)

        // The run is in the policy's log and in the audit log.
        const runs = await json<{ id: string; dryRun: boolean }[]>(await api('GET', `${POLICIES}/keep-3/runs`), 200)
        expect(runs.map((r) => r.dryRun).sort()).toEqual([false, true])
        const audit = await json<{ events: { action: string; target: string }[] }>(await api('GET', '/api/v1/audit?action=cleanup.run'), 200)
        expect(audit.events.some((e) => e.target === 'keep-3')).toBe(true)
        // A second run finds nothing more to delete.
        expect((await json<RunBody>(await api('POST', `${POLICIES}/keep-3/run?dryRun=true`), 200)).items).toEqual([])
      })

      it('an immutable tag refuses a skopeo push and deletes, is kept by policies, and goes once an admin lifts the rule', { timeout: 300_000 }, async () => {
        const push = async (seed: string, tag: string) => {
          const image = buildImage(seed, 1)
          const dir = join(work, `src-${seed}`)
          await writeLayout(dir, tag, image.manifest, blobsOfImage(image))
          return skopeo('copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${dir}:${tag}`, `docker://${host}/docker-local/rel:${tag}`)
        }
        await json(await api('POST', RULES, { key: 'releases', repositories: ['docker-local'], packages: 'rel', versions: 'v*' }), 201)
        const first = await push('rel-1', 'v1')
        expect(first.code, first.stderr).toBe(0)
        const latest = await push('rel-latest', 'latest')
        expect(latest.code, latest.stderr).toBe(0)

        const overwrite = await push('rel-2', 'v1')
        expect(overwrite.code).not.toBe(0)
        expect(overwrite.stderr).toMatch(/denied|immutable/i)
        const inspected = await skopeo('inspect', '--tls-verify=false', '--creds', creds, `docker://${host}/docker-local/rel:v1`)
        expect(JSON.parse(inspected.stdout).Digest).toBe(buildImage('rel-1', 1).manifest.descriptor.digest)
        await expectOciError(await admin.call('DELETE', `/v2/docker-local/rel/manifests/v1`), 403, 'DENIED', /immutable/)
        const rest = await api('DELETE', '/artifactory/docker-local/rel')
        expect(rest.status).toBe(403)
        expect(await tags('rel')).toEqual(['latest', 'v1'])
        // A latest tag may move on.
        const moved = await push('rel-latest-2', 'latest')
        expect(moved.code, moved.stderr).toBe(0)

        // Policies keep immutable versions, whatever their rules select.
        await json(await api('POST', POLICIES, { key: 'rel-all', searchCriteria: { repos: ['docker-local'], includedPackages: ['rel'], createdBeforeInDays: 0 } }), 201)
        const dry = await json<RunBody>(await api('POST', `${POLICIES}/rel-all/run?dryRun=true`), 200)
        expect(dry.items.map((i) => i.version)).toEqual(['latest'])

        // Only an admin lifts a rule; then the tag can go.
        const lead = await admin.createUser('lead', { 'docker-local': ['read', 'deploy', 'delete', 'manage'] })
        expect((await api('PUT', `${RULES}/releases`, { repositories: ['docker-local'], packages: 'rel', versions: 'v*', enabled: false }, lead)).status).toBe(403)
        expect((await api('DELETE', `${RULES}/releases`, undefined, lead)).status).toBe(403)
        await json(await api('PUT', `${RULES}/releases`, { repositories: ['docker-local'], packages: 'rel', versions: 'v*', enabled: false }), 200)
        expect((await admin.call('DELETE', `/v2/docker-local/rel/manifests/v1`)).status).toBe(202)
        expect(await tags('rel')).toEqual(['latest'])
      })
    }
  })
}
