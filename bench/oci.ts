/**
 * The OCI suite of `npm run bench` (issue 3's quality bar): Trove's docker local repository against
 * the distribution registry (Debian's `docker-registry`, the reference implementation), both
 * started here on 127.0.0.1 with fresh storage, holding the same images.
 *
 * 1. Manifest GET requests/s: 64 keep-alive connections GET one manifest by tag, as fast as they
 *    are answered, for a fixed time (target: Trove ≥ 5× the registry). Trove is measured with
 *    anonymous read (the registry runs without auth) and, for information, with the registry
 *    token of a user granted read (what CI clients send).
 * 2. Blob GET throughput: 16 concurrent streams download a 256 MiB layer (target ≥ 1.0×); a
 *    minimal Node static-file server sending Trove's blob file is measured too, for reference.
 * 3. `skopeo copy` of a 20-layer image out of each into an `oci:` layout, wall time (target ≤ 1.0×),
 *    the mean of 3 copies in a row per measurement.
 *
 * Rounds are interleaved, the order swapped every round; figures are medians, ratios the median
 * of each round's ratio (the servers of one round ran under the same load from other work). Timing
 * never fails the run. `BENCH_ROUNDS` sets the number of rounds (default 5), `BENCH_MANIFEST_SECS`
 * the length of one manifest measurement (default 3).
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync } from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { Pool, request, type Agent, type Dispatcher } from 'undici'
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, blobOf, blobsOfImage, buildImage, writeLayout } from '../test/helpers/oci-images.js'
import type { SuiteReport } from './results.js'
import { ADMIN_AUTH, ADMIN_PASSWORD, ServerProcess, childEnv, cpuSeconds, freePort, startTroveProcess, troveCommand } from './processes.js'
import { REGISTRY_BINARY, hasCommand, skopeo, startRegistry } from './registry.js'
import { median, positiveInteger, range } from './report.js'
import { MiB, call, createAgent, generatedBody, measureDownloads } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_ROUNDS', 5)
const MANIFEST_SECONDS = positiveInteger('BENCH_MANIFEST_SECS', 3)
const MANIFEST_CONNECTIONS = 64
const BLOB_SIZE = 256 * MiB
const BLOB_STREAMS = 16
const LAYERS = 20
const LAYER_CONTENT_BYTES = 64 * 1024
/** A copy takes a fraction of a second, mostly skopeo's own work: a measurement is the mean of a few in a row. */
const COPIES_PER_MEASUREMENT = 3

const TARGET_MANIFEST_RATIO = 5
const TARGET_BLOB_RATIO = 1
const TARGET_COPY_RATIO = 1

const PULLER = 'bench-puller'
const PULLER_PASSWORD = 'bench-puller-password'
const REPO = 'bench-docker'
const LAYERED_IMAGE = `${REPO}/layers`
const BIG_IMAGE = `${REPO}/big`
const TAG = 'latest'
/** What skopeo and docker send when they pull by tag. */
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ')

type Server = 'registry' | 'trove'
const SERVERS: readonly Server[] = ['registry', 'trove']

export interface SuiteContext {
  /** A folder of the run's own, removed by the caller. */
  readonly workDir: string
  /** Registers what must be stopped if the run is interrupted. */
  track<T extends ServerProcess | Dispatcher>(resource: T): T
  /** Where the suite's tables go: printed, and written to the results file (bench/results.ts). */
  readonly report: SuiteReport
}

/** One measurement: the figure, and the server's CPU time per unit (µs per request, s per GiB). */
interface Measurement {
  readonly value: number
  readonly cpu?: number
  /** The bench's own CPU time per unit (the client). */
  readonly clientCpu?: number
}

const execFileAsync = promisify(execFile)

/** Runs the OCI suite; returns without measuring (and says why) when a client or server is missing. */
export async function ociSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== oci: Trove against the distribution registry`)
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

  // ---- the servers ----
  const { server: registry, host: registryHost } = await startRegistry(workDir).then((r) => ({ ...r, server: track(r.server) }))
  const troveData = join(workDir, 'trove-data')
  const troveServer = track(await startTroveProcess({ args: trove.args, dataDir: troveData }))
  const troveHost = new URL(troveServer.url).host
  const agent = track(createAgent())
  const admin = (method: 'PUT' | 'POST', path: string, body: unknown) => call(agent, method, `${troveServer.url}${path}`, ADMIN_AUTH, body)
  await admin('PUT', `/artifactory/api/repositories/${REPO}`, { rclass: 'local', packageType: 'docker', anonymousRead: true })
  await admin('PUT', `/artifactory/api/security/users/${PULLER}`, { email: `${PULLER}@example.test`, password: PULLER_PASSWORD })
  await admin('PUT', `/api/v1/repositories/${REPO}/grants/${PULLER}`, { actions: ['read'] })
  const hosts: Record<Server, { url: string; host: string; pid: number; pushAuth?: string }> = {
    registry: { url: registry.url, host: registryHost, pid: registry.pid },
    trove: { url: troveServer.url, host: troveHost, pid: troveServer.pid, pushAuth: ADMIN_AUTH },
  }

  // ---- the same images in both ----
  // skopeo's own credentials file, so that a developer's logins neither help nor hinder.
  const skopeoEnv = childEnv({ REGISTRY_AUTH_FILE: join(workDir, 'skopeo-auth.json') })
  const layered = buildImage('trove-bench', LAYERS, { architecture: 'amd64', os: 'linux' }, LAYER_CONTENT_BYTES)
  const layout = join(workDir, 'layered-layout')
  await writeLayout(layout, TAG, layered.manifest, blobsOfImage(layered).slice(1))
  const pushSeconds: Partial<Record<Server, number>> = {}
  for (const server of SERVERS) {
    const creds = server === 'trove' ? ['--dest-creds', `admin:${ADMIN_PASSWORD}`] : []
    const started = performance.now()
    await skopeo(skopeoEnv, ['copy', '--dest-tls-verify=false', ...creds, `oci:${layout}:${TAG}`, `docker://${hosts[server].host}/${LAYERED_IMAGE}:${TAG}`])
    pushSeconds[server] = (performance.now() - started) / 1000
  }
  const manifestDigest = layered.manifest.descriptor.digest
  console.log(
    `pushed ${LAYERED_IMAGE}:${TAG} (${LAYERS} layers) with skopeo: registry ${pushSeconds.registry!.toFixed(2)} s, trove ${pushSeconds.trove!.toFixed(2)} s (once, no target)`,
  )

  process.stdout.write(`writing a ${BLOB_SIZE / MiB} MiB layer and pushing it to both… `)
  const bigLayer = await writeGeneratedFile(join(workDir, 'big-layer'), BLOB_SIZE)
  const bigDescriptor = { mediaType: OCI_LAYER_GZIP, digest: `sha256:${bigLayer.hex}`, size: BLOB_SIZE }
  const bigConfig = blobOf(OCI_CONFIG, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [bigDescriptor.digest] } })))
  const bigManifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: bigConfig.descriptor, layers: [bigDescriptor] }))
  for (const server of SERVERS) {
    const { url, pushAuth } = hosts[server]
    await pushBlob(agent, url, BIG_IMAGE, bigLayer.hex, BLOB_SIZE, () => createReadStream(bigLayer.path), pushAuth)
    await pushBlob(agent, url, BIG_IMAGE, bigConfig.descriptor.digest.slice(7), bigConfig.bytes.length, () => bigConfig.bytes, pushAuth)
    await pushManifest(agent, url, BIG_IMAGE, TAG, bigManifest, pushAuth)
  }
  await rm(bigLayer.path)
  console.log('done')

  // ---- 1. manifest GET ----
  const tokenUrl = `${troveServer.url}/v2/token?service=${encodeURIComponent(hosts.trove.host)}&scope=${encodeURIComponent(`repository:${LAYERED_IMAGE}:pull`)}`
  const tokenResponse = await request(tokenUrl, { dispatcher: agent, headers: { authorization: basic(PULLER, PULLER_PASSWORD) } })
  if (tokenResponse.statusCode !== 200) throw new Error(`registry token: ${tokenResponse.statusCode} ${await tokenResponse.body.text()}`)
  const registryToken = ((await tokenResponse.body.json()) as { token: string }).token
  type ManifestTarget = 'registry' | 'trove' | 'trove-token'
  const manifestTargets: Record<ManifestTarget, { url: string; pid: number; authorization?: string }> = {
    registry: { url: registry.url, pid: registry.pid },
    trove: { url: troveServer.url, pid: troveServer.pid },
    'trove-token': { url: troveServer.url, pid: troveServer.pid, authorization: `Bearer ${registryToken}` },
  }
  const manifestPath = `/v2/${LAYERED_IMAGE}/manifests/${TAG}`
  const pools = new Map<string, Pool>()
  const poolFor = (url: string) => {
    let pool = pools.get(url)
    if (!pool) pools.set(url, (pool = track(new Pool(url, { connections: MANIFEST_CONNECTIONS, pipelining: 1 }))))
    return pool
  }
  const measureManifest = async (target: ManifestTarget, seconds = MANIFEST_SECONDS): Promise<Measurement> => {
    const { url, pid, authorization } = manifestTargets[target]
    const cpuBefore = await cpuSeconds(pid)
    const clientBefore = process.cpuUsage()
    const { requests, elapsed } = await hammer(poolFor(url), manifestPath, manifestDigest, authorization, seconds)
    const client = process.cpuUsage(clientBefore)
    return { value: requests / elapsed, cpu: (((await cpuSeconds(pid)) - cpuBefore) / requests) * 1e6, clientCpu: (client.user + client.system) / requests }
  }
  console.log(`\nmanifest GET by tag, ${MANIFEST_CONNECTIONS} keep-alive connections, ${MANIFEST_SECONDS} s per measurement (req/s)`)
  for (const target of Object.keys(manifestTargets) as ManifestTarget[]) await measureManifest(target, 1) // warm-up: connections, JIT
  const manifests = await interleaved(['registry', 'trove', 'trove-token'], measureManifest, 0)
  await Promise.all([...pools.values()].map((p) => p.close()))

  // ---- 2. blob GET, 16 streams ----
  const staticPort = await freePort()
  const blobFile = join(troveData, 'blobs', 'sha256', bigLayer.hex.slice(0, 2), bigLayer.hex)
  if ((await stat(blobFile)).size !== BLOB_SIZE) throw new Error(`${blobFile} is not ${BLOB_SIZE} bytes`)
  const staticServer = track(
    await ServerProcess.start('static', ['--import', 'tsx', 'bench/static-file-server.ts', blobFile, String(staticPort)], childEnv({}), staticPort, '/ready'),
  )
  type BlobTarget = Server | 'node-static'
  const blobPath = `/v2/${BIG_IMAGE}/blobs/${bigDescriptor.digest}`
  const blobTargets: Record<BlobTarget, { url: string; pid: number }> = {
    registry: { url: `${registry.url}${blobPath}`, pid: registry.pid },
    trove: { url: `${troveServer.url}${blobPath}`, pid: troveServer.pid },
    'node-static': { url: `${staticServer.url}/blob`, pid: staticServer.pid },
  }
  const measureBlob = async (target: BlobTarget, streams = BLOB_STREAMS): Promise<Measurement> => {
    const { url, pid } = blobTargets[target]
    const cpuBefore = await cpuSeconds(pid)
    const mibPerSecond = await measureDownloads(agent, url, BLOB_SIZE, { streams, times: 1 })
    return { value: mibPerSecond, cpu: ((await cpuSeconds(pid)) - cpuBefore) / ((streams * BLOB_SIZE) / (1024 * MiB)) }
  }
  console.log(`\nblob GET of the ${BLOB_SIZE / MiB} MiB layer, ${BLOB_STREAMS} concurrent streams (MiB/s)`)
  for (const target of Object.keys(blobTargets) as BlobTarget[]) await measureBlob(target, 2) // warm-up: page cache
  const blobs = await interleaved(['registry', 'trove', 'node-static'], measureBlob, 0)
  await staticServer.stop()

  // ---- 3. skopeo copy out ----
  let copies = 0
  const copyOut = async (server: Server): Promise<Measurement> => {
    let seconds = 0
    for (let i = 0; i < COPIES_PER_MEASUREMENT; i++) {
      const destination = join(workDir, `copy-${copies++}`)
      const started = performance.now()
      await skopeo(skopeoEnv, ['copy', '--src-tls-verify=false', '--src-no-creds', `docker://${hosts[server].host}/${LAYERED_IMAGE}:${TAG}`, `oci:${destination}:${TAG}`])
      seconds += (performance.now() - started) / 1000
      await rm(destination, { recursive: true, force: true })
    }
    return { value: seconds / COPIES_PER_MEASUREMENT }
  }
  console.log(`\nskopeo copy of ${LAYERED_IMAGE}:${TAG} (${LAYERS} layers) out of each into an oci: layout, mean of ${COPIES_PER_MEASUREMENT} in a row (s)`)
  for (const server of SERVERS) await copyOut(server) // warm-up
  const copiesOut = await interleaved(SERVERS, copyOut, 2)

  await troveServer.stop()
  await registry.stop()

  // ---- report ----
  const verdict = (isMet: boolean) => (isMet ? 'PASS' : 'MISS')
  const row = (
    label: string,
    base: readonly Measurement[],
    other: readonly Measurement[],
    target: { text: string; isMet?: (ratio: number) => boolean },
    digits: number,
    cpuUnit?: { unit: string; digits: number },
  ): string[] => {
    const ratio = median(other.map((m, i) => m.value / base[i]!.value))
    const cpu = (values: readonly Measurement[]) =>
      cpuUnit && values[0]?.cpu !== undefined ? `${median(values.map((m) => m.cpu!)).toFixed(cpuUnit.digits)} ${cpuUnit.unit}` : ''
    return [
      label,
      median(base.map((m) => m.value)).toFixed(digits),
      median(other.map((m) => m.value)).toFixed(digits),
      ratio.toFixed(2),
      target.text,
      target.isMet ? verdict(target.isMet(ratio)) : '',
      range(base.map((m) => m.value), digits),
      range(other.map((m) => m.value), digits),
      cpu(base),
      cpu(other),
    ]
  }
  const perRequest = { unit: 'µs/req', digits: 0 }
  const clientCpu = (values: readonly Measurement[]) => median(values.map((m) => m.clientCpu ?? 0)).toFixed(0)
  const perGib = { unit: 's/GiB', digits: 2 }
  report.table(`Trove against the distribution registry: medians of ${ROUNDS} rounds; ratio: the median of the rounds' ratios`, [
    ['measure', 'registry', 'trove', 'trove/registry', 'target', 'result', 'registry range', 'trove range', 'CPU registry', 'CPU trove'],
    row('manifest GET, req/s (anonymous)', manifests.registry, manifests.trove, { text: `≥ ${TARGET_MANIFEST_RATIO}`, isMet: (r) => r >= TARGET_MANIFEST_RATIO }, 0, perRequest),
    row('manifest GET, req/s (trove: user token)', manifests.registry, manifests['trove-token'], { text: 'info' }, 0, perRequest),
    row(`blob GET ${BLOB_SIZE / MiB} MiB ×${BLOB_STREAMS}, MiB/s`, blobs.registry, blobs.trove, { text: `≥ ${TARGET_BLOB_RATIO.toFixed(1)}`, isMet: (r) => r >= TARGET_BLOB_RATIO }, 0, perGib),
    row('  same, Node static server (in trove column)', blobs.registry, blobs['node-static'], { text: 'info' }, 0, perGib),
    row(`skopeo copy out (${LAYERS} layers), s`, copiesOut.registry, copiesOut.trove, { text: `≤ ${TARGET_COPY_RATIO.toFixed(1)}`, isMet: (r) => r <= TARGET_COPY_RATIO }, 2),
  ])
  report.note(
    `\nThe registry runs without auth; Trove's repository allows anonymous read (skopeo still fetches an anonymous token first).` +
      `\nThe token row sends the registry token of a user granted read on every request. The Node static server sends Trove's` +
      `\nblob file with node:http and fs streams (bench/static-file-server.ts): what Node itself does. CPU: the server process's` +
      `\nuser + system time per request or per GiB sent. The client (undici, in this process) shares the machine's CPUs with` +
      `\nthe servers: it spent ${clientCpu(manifests.registry)} µs/req against the registry and ${clientCpu(manifests.trove)} µs/req against Trove.`,
  )
}

/**
 * `ROUNDS` rounds measuring every target once, in an order reversed every other round so that no
 * target always runs first; prints each round.
 */
async function interleaved<T extends string>(
  targets: readonly T[],
  measure: (target: T) => Promise<Measurement>,
  digits: number,
): Promise<Record<T, Measurement[]>> {
  const results = Object.fromEntries(targets.map((t) => [t, [] as Measurement[]])) as Record<T, Measurement[]>
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse()
    for (const target of order) results[target].push(await measure(target))
    console.log(`round ${round + 1}/${ROUNDS}: ${targets.map((t) => `${t} ${results[t].at(-1)!.value.toFixed(digits)}`).join(', ')}`)
  }
  return results
}


/**
 * `MANIFEST_CONNECTIONS` clients GET `path` in a loop on the pool's keep-alive connections until
 * `seconds` have passed; every answer must be a 200 naming `digest`.
 */
async function hammer(
  pool: Pool,
  path: string,
  digest: string,
  authorization: string | undefined,
  seconds: number,
): Promise<{ requests: number; elapsed: number }> {
  const headers: Record<string, string> = { accept: MANIFEST_ACCEPT }
  if (authorization) headers.authorization = authorization
  let requests = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  await Promise.all(
    Array.from({ length: MANIFEST_CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const response = await pool.request({ path, method: 'GET', headers })
        const body = await response.body.arrayBuffer()
        if (response.statusCode !== 200 || response.headers['docker-content-digest'] !== digest) {
          throw new Error(`GET ${path}: ${response.statusCode} ${String(response.headers['docker-content-digest'])} ${Buffer.from(body).toString().slice(0, 200)}`)
        }
        requests++
      }
    }),
  )
  return { requests, elapsed: (performance.now() - started) / 1000 }
}

/** Writes `size` generated bytes to `path`, hashing them on the way. */
async function writeGeneratedFile(path: string, size: number): Promise<{ path: string; hex: string }> {
  const hash = createHash('sha256')
  const body = generatedBody(size)
  body.on('data', (chunk: Buffer) => hash.update(chunk))
  await pipeline(body, createWriteStream(path))
  return { path, hex: hash.digest('hex') }
}

/** Pushes a blob as every registry accepts it: `POST` an upload, then one `PUT ?digest=` with the bytes. */
async function pushBlob(
  agent: Agent,
  base: string,
  name: string,
  hex: string,
  size: number,
  body: () => Readable | Buffer,
  authorization: string | undefined,
): Promise<void> {
  const auth: Record<string, string> = authorization ? { authorization } : {}
  const started = await request(`${base}/v2/${name}/blobs/uploads/`, { dispatcher: agent, method: 'POST', headers: { ...auth, 'content-length': '0' } })
  const text = await started.body.text()
  const location = started.headers.location
  if (started.statusCode !== 202 || typeof location !== 'string') throw new Error(`POST ${base}/v2/${name}/blobs/uploads/: ${started.statusCode} ${text}`)
  const url = new URL(location, base)
  url.searchParams.set('digest', `sha256:${hex}`)
  const put = await request(url, {
    dispatcher: agent,
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(size) },
    body: body(),
  })
  const putText = await put.body.text()
  if (put.statusCode !== 201) throw new Error(`PUT ${url}: ${put.statusCode} ${putText}`)
}

async function pushManifest(agent: Agent, base: string, name: string, tag: string, bytes: Buffer, authorization: string | undefined): Promise<void> {
  const response = await request(`${base}/v2/${name}/manifests/${tag}`, {
    dispatcher: agent,
    method: 'PUT',
    headers: { ...(authorization ? { authorization } : {}), 'content-type': OCI_MANIFEST },
    body: bytes,
  })
  const text = await response.body.text()
  if (response.statusCode !== 201) throw new Error(`PUT ${base}/v2/${name}/manifests/${tag}: ${response.statusCode} ${text}`)
}




function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
}
