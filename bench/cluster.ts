/**
 * The cluster suite of `npm run bench -- cluster` (issue 15's figures): three Trove nodes on one
 * PostgreSQL database and one moto bucket behind Debian's nginx (test/helpers/cluster.ts, the same
 * setup as the cluster e2e suite), all on 127.0.0.1, in one run:
 *
 * 1. Manifest GET requests/s through the balancer (32 concurrent anonymous clients, for a few
 *    seconds), with one node in the balancer (the other two marked down) and with all three.
 * 2. 16-stream download throughput of a 64 MiB blob through the balancer, one node and three.
 * 3. A rolling restart of the three nodes (each: out of nginx, SIGTERM and drain, start, back in)
 *    under a 16-client mixed load: how long it took, and how many requests failed (target 0).
 *
 * On a 2-core machine three nodes share the cores the one node had: the comparison says what
 * spreading costs or gains here, not how a cluster of real machines scales. Timing never fails
 * the run.
 */
import { createHash, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { request, type Agent } from 'undici'
import { startCluster, CLUSTER_ADMIN_AUTH, type Cluster } from '../test/helpers/cluster.js'
import { blobsOfImage, buildImage, OCI_MANIFEST } from '../test/helpers/oci-images.js'
import { startMoto } from '../test/helpers/s3.js'
import { MixedLoad, type StoredFile } from '../test/cluster/mixed-load.js'
import type { SuiteContext } from './oci.js'
import { median, positiveInteger } from './report.js'
import { MiB, call, createAgent, measureDownloads, upload } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_ROUNDS', 3)
const MANIFEST_CLIENTS = 32
const MANIFEST_SECONDS = 4
const BLOB_SIZE = 64 * MiB
const LOAD_CLIENTS = 16
const IMAGE = 'docker-local/bench/app'

export async function clusterSuite({ track, report }: SuiteContext): Promise<void> {
  console.log(`\n== cluster: three nodes behind nginx on PostgreSQL and moto; ${ROUNDS} rounds`)
  const moto = await startMoto()
  let cluster: Cluster | undefined
  try {
    process.stdout.write('starting three nodes and nginx… ')
    cluster = await startCluster(moto, { env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } })
    console.log('ready')
    const agent = track(createAgent())
    const base = cluster.url
    await call(agent, 'PUT', `${base}/artifactory/api/repositories/docker-local`, CLUSTER_ADMIN_AUTH, { key: 'docker-local', rclass: 'local', packageType: 'docker', anonymousRead: true })
    await call(agent, 'PUT', `${base}/artifactory/api/repositories/bench-generic`, CLUSTER_ADMIN_AUTH, { key: 'bench-generic', rclass: 'local', packageType: 'generic', anonymousRead: true })
    const image = buildImage('bench-cluster', 2)
    for (const blob of blobsOfImage(image).filter((b) => b.descriptor.digest !== image.manifest.descriptor.digest)) await pushBlob(agent, base, IMAGE, blob.descriptor.digest, blob.bytes, CLUSTER_ADMIN_AUTH)
    await put(agent, `${base}/v2/${IMAGE}/manifests/v1`, OCI_MANIFEST, image.manifest.bytes, CLUSTER_ADMIN_AUTH)
    await upload(agent, `${base}/artifactory/bench-generic/blob.bin`, BLOB_SIZE, CLUSTER_ADMIN_AUTH)

    const [, ...others] = cluster.nodes
    const figures: Record<'1' | '3', { manifests: number[]; blobs: number[] }> = { '1': { manifests: [], blobs: [] }, '3': { manifests: [], blobs: [] } }
    for (let round = 0; round < ROUNDS; round++) {
      for (const count of ['1', '3'] as const) {
        for (const node of others) await cluster.nginx.setDown(node.port, count === '1')
        figures[count].manifests.push(await manifestRate(agent, `${base}/v2/${IMAGE}/manifests/v1`))
        figures[count].blobs.push(await measureDownloads(agent, `${base}/artifactory/bench-generic/blob.bin`, BLOB_SIZE, { streams: 16, times: 1 }))
      }
      process.stdout.write(`round ${round + 1}/${ROUNDS} done\n`)
    }
    report.table('Through nginx (medians of the rounds)', [
      ['measure', '1 node', '3 nodes', '3 / 1'],
      ['manifest GET, req/s (32 clients)', fmt(median(figures['1'].manifests)), fmt(median(figures['3'].manifests)), ratio(figures['1'].manifests, figures['3'].manifests)],
      [`blob GET, MiB/s (16 streams of ${BLOB_SIZE / MiB} MiB)`, fmt(median(figures['1'].blobs)), fmt(median(figures['3'].blobs)), ratio(figures['1'].blobs, figures['3'].blobs)],
    ])

    // The rolling restart under load.
    const known: StoredFile[] = []
    for (let i = 0; i < 8; i++) {
      const content = randomBytes(48 * 1024)
      const response = await request(`${base}/artifactory/bench-generic/known/k${i}.bin`, { dispatcher: agent, method: 'PUT', headers: { authorization: CLUSTER_ADMIN_AUTH }, body: content })
      await response.body.text()
      known.push({ path: `bench-generic/known/k${i}.bin`, sha256: createHash('sha256').update(content).digest('hex') })
    }
    const load = new MixedLoad(base, 'bench-generic', known)
    load.start(LOAD_CLIENTS)
    await sleep(1000)
    const started = performance.now()
    for (const node of cluster.nodes) {
      await cluster.nginx.setDown(node.port, true)
      const code = await node.stop()
      if (code !== 0) report.note(`${node.name} exited with ${String(code)} at SIGTERM`)
      await node.restart()
      await cluster.nginx.setDown(node.port, false)
    }
    const seconds = (performance.now() - started) / 1000
    await load.stop()
    const failed = load.failedReads.length + load.failedUploads.length + load.corrupt.length
    report.table(`Rolling restart of three nodes under a ${LOAD_CLIENTS}-client mixed load`, [
      ['measure', 'value', 'target'],
      ['time for the whole restart, s', seconds.toFixed(0), 'info'],
      ['requests during the run (reads + acknowledged uploads)', String(load.reads + load.acknowledged.length), 'info'],
      ['failed requests (reads failed twice, uploads, corrupt reads)', String(failed), failed === 0 ? '0: met' : '0: MISS'],
    ])
    report.note(
      'Each node is started from the sources with tsx (as the e2e suite does), which is most of the restart time on this machine; ' +
        'on a 2-core machine three nodes share the cores one node had, so the 3/1 ratios show the cost of spreading, not scaling.',
    )
  } finally {
    await cluster?.close()
    await moto.stop()
  }
}

async function manifestRate(agent: Agent, url: string): Promise<number> {
  return requestRate(agent, url, { accept: OCI_MANIFEST }, MANIFEST_CLIENTS, MANIFEST_SECONDS)
}

/** Requests/s of `clients` concurrent loops of GET `url` (each answer must be a 200) for `seconds`. */
export async function requestRate(agent: Agent, url: string, headers: Record<string, string>, clients: number, seconds: number): Promise<number> {
  let count = 0
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const response = await request(url, { dispatcher: agent, headers })
        await response.body.dump()
        if (response.statusCode !== 200) throw new Error(`GET ${url}: ${response.statusCode}`)
        count++
      }
    }),
  )
  return count / ((performance.now() - started) / 1000)
}

/** A monolithic OCI blob upload (POST, then PUT with the digest). */
export async function pushBlob(agent: Agent, base: string, image: string, digest: string, bytes: Buffer, authorization: string): Promise<void> {
  const started = await request(`${base}/v2/${image}/blobs/uploads/`, { dispatcher: agent, method: 'POST', headers: { authorization, 'content-length': '0' } })
  await started.body.text()
  const location = started.headers.location
  if (started.statusCode !== 202 || typeof location !== 'string') throw new Error(`POST blob upload: ${started.statusCode}`)
  const url = new URL(location, base)
  url.searchParams.set('digest', digest)
  await put(agent, url.toString(), 'application/octet-stream', bytes, authorization)
}

/** A PUT that must answer 201. */
export async function put(agent: Agent, url: string, contentType: string, body: Buffer, authorization: string): Promise<void> {
  const response = await request(url, { dispatcher: agent, method: 'PUT', headers: { authorization, 'content-type': contentType }, body })
  const text = await response.body.text()
  if (response.statusCode !== 201) throw new Error(`PUT ${url}: ${response.statusCode} ${text}`)
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1)
}

function ratio(one: readonly number[], three: readonly number[]): string {
  return `${(median(three) / median(one)).toFixed(2)}×`
}
