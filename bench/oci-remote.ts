/**
 * The oci-remote suite of `npm run bench` (issue 5's quality bar): `skopeo copy` of a 20-layer
 * image through a Trove docker remote repository whose upstream is the distribution registry
 * (Debian's `docker-registry`), cold (nothing cached) and warm (everything cached), beside the same
 * copy straight from the registry.
 *
 * Each round starts Trove afresh with an empty data folder (so that the cold copy really fetches
 * every blob, not even deduplicated against an earlier round), then copies: from the registry,
 * through Trove cold, through Trove warm. The copies go into `oci:` layouts; skopeo fetches the
 * layers concurrently (its default, 6 at a time). Figures are medians of the rounds; timing never
 * fails the run. `BENCH_OCI_REMOTE_ROUNDS` sets the number of rounds (default 3).
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, blobOf, tarOf, writeLayout, type Blob } from '../test/helpers/oci-images.js'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, childEnv, cpuSeconds, startTroveProcess, troveCommand } from './processes.js'
import { REGISTRY_BINARY, hasCommand, skopeo, startRegistry } from './registry.js'
import { median, positiveInteger, range } from './report.js'
import { MiB, call, createAgent } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_OCI_REMOTE_ROUNDS', 3)
const LAYERS = 20
/** Layer sizes, cycled: random (incompressible) content, a few large layers and many small ones, as real images have. */
const LAYER_SIZES = [8 * MiB, 2 * MiB, 512 * 1024, 64 * 1024, 16 * 1024]

const REPO = 'bench-docker-remote'
const IMAGE = 'trove-bench/layers'
const TAG = 'latest'

type Target = 'registry' | 'trove-cold' | 'trove-warm'
const TARGETS: readonly Target[] = ['registry', 'trove-cold', 'trove-warm']

interface Copy {
  readonly seconds: number
  /** Trove's CPU seconds during the copy (undefined for the registry). */
  readonly serverCpu: number | undefined
}

const execFileAsync = promisify(execFile)

export async function ociRemoteSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== oci-remote: skopeo copy of a ${LAYERS}-layer image through a Trove docker remote of the distribution registry`)
  const missing = [
    existsSync(REGISTRY_BINARY) ? undefined : `${REGISTRY_BINARY} (apt-get install -y docker-registry)`,
    (await hasCommand('skopeo')) ? undefined : 'skopeo (apt-get install -y skopeo)',
  ].filter((m) => m !== undefined)
  if (missing.length > 0) {
    report.note(`SKIPPED: missing ${missing.join(' and ')}`)
    return
  }
  await mkdir(workDir, { recursive: true })
  const { stdout: registryVersion } = await execFileAsync(REGISTRY_BINARY, ['--version'])
  const trove = await troveCommand()
  console.log(`${registryVersion.trim()}; Trove from ${trove.label}; ${ROUNDS} rounds`)

  const { server: registry, host: registryHost } = await startRegistry(workDir).then((r) => ({ ...r, server: track(r.server) }))

  // skopeo's own credentials file, so that a developer's logins neither help nor hinder.
  const skopeoEnv = childEnv({ REGISTRY_AUTH_FILE: join(workDir, 'skopeo-auth.json') })
  const image = randomImage()
  const layout = join(workDir, 'layout')
  await writeLayout(layout, TAG, image[0]!, image.slice(1))
  await skopeo(skopeoEnv, ['copy', '--dest-tls-verify=false', `oci:${layout}:${TAG}`, `docker://${registryHost}/${IMAGE}:${TAG}`])
  const imageBytes = image.reduce((n, b) => n + b.bytes.length, 0)
  console.log(`pushed ${IMAGE}:${TAG} to the registry: ${LAYERS} layers, ${(imageBytes / MiB).toFixed(1)} MiB in all`)

  let copies = 0
  const copy = async (host: string, name: string, pid?: number): Promise<Copy> => {
    const destination = join(workDir, `copy-${copies++}`)
    const cpuBefore = pid === undefined ? undefined : await cpuSeconds(pid)
    const started = performance.now()
    await skopeo(skopeoEnv, ['copy', '--src-tls-verify=false', '--src-no-creds', `docker://${host}/${name}:${TAG}`, `oci:${destination}:${TAG}`])
    const seconds = (performance.now() - started) / 1000
    const serverCpu = pid === undefined || cpuBefore === undefined ? undefined : (await cpuSeconds(pid)) - cpuBefore
    await rm(destination, { recursive: true, force: true })
    return { seconds, serverCpu }
  }

  // Warm-up, not counted: skopeo, the page cache, the registry.
  await copy(registryHost, IMAGE)
  const results = Object.fromEntries(TARGETS.map((t) => [t, [] as Copy[]])) as Record<Target, Copy[]>
  for (let round = 0; round < ROUNDS; round++) {
    const server = track(
      await startTroveProcess({
        args: trove.args,
        dataDir: join(workDir, `trove-data-${round}`),
        // The upstream is on loopback, which Trove refuses unless allowed.
        env: { TROVE_ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' },
      }),
    )
    const agent = createAgent()
    try {
      await call(agent, 'PUT', `${server.url}/artifactory/api/repositories/${REPO}`, ADMIN_AUTH, {
        rclass: 'remote',
        packageType: 'docker',
        url: registry.url,
        anonymousRead: true,
      })
    } finally {
      await agent.close()
    }
    const troveHost = new URL(server.url).host
    // The registry's copy first in even rounds, last in odd ones.
    if (round % 2 === 0) results.registry.push(await copy(registryHost, IMAGE))
    results['trove-cold'].push(await copy(troveHost, `${REPO}/${IMAGE}`, server.pid))
    results['trove-warm'].push(await copy(troveHost, `${REPO}/${IMAGE}`, server.pid))
    if (round % 2 === 1) results.registry.push(await copy(registryHost, IMAGE))
    await server.stop()
    console.log(`round ${round + 1}/${ROUNDS}: ${TARGETS.map((t) => `${t} ${results[t].at(-1)!.seconds.toFixed(2)}`).join(', ')} s`)
  }
  await registry.stop()

  const seconds = (t: Target) => median(results[t].map((c) => c.seconds))
  const ratio = (t: Target) => median(results[t].map((c, i) => c.seconds / results.registry[i]!.seconds))
  report.table(`skopeo copy of ${IMAGE}:${TAG} (${LAYERS} layers, ${(imageBytes / MiB).toFixed(1)} MiB) into an oci: layout: medians of ${ROUNDS} rounds`, [
    ['copy', 'seconds', 'range', '/ registry direct', 'Trove CPU'],
    ...TARGETS.map((t) => [
      t === 'registry' ? 'registry (direct)' : t,
      seconds(t).toFixed(2),
      range(results[t].map((c) => c.seconds), 2),
      t === 'registry' ? '' : ratio(t).toFixed(2),
      t === 'registry' ? '' : `${median(results[t].map((c) => c.serverCpu ?? 0)).toFixed(2)} s`,
    ]),
  ])
  report.note(
    `\nCold: a Trove with an empty data folder, every manifest and blob pulled through from the registry while skopeo receives it;` +
      `\nwarm: the same copy again, all from Trove's cache (the tag re-checked only after retrievalCachePeriodSecs). No target: for information.`,
  )
}

/** A ${LAYERS}-layer image of random content: its manifest first, then its config and layers. */
function randomImage(): Blob[] {
  const layers: Blob[] = []
  const diffIds: string[] = []
  for (let i = 0; i < LAYERS; i++) {
    const tar = tarOf({ [`layer-${i}.bin`]: randomBytes(LAYER_SIZES[i % LAYER_SIZES.length]!) })
    diffIds.push(`sha256:${createHash('sha256').update(tar).digest('hex')}`)
    layers.push(blobOf(OCI_LAYER_GZIP, gzipSync(tar, { level: 1 })))
  }
  const config = blobOf(OCI_CONFIG, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } })))
  const manifest = blobOf(
    OCI_MANIFEST,
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: layers.map((l) => l.descriptor) })),
  )
  return [manifest, config, ...layers]
}



