/**
 * The workers suite of `npm run bench -- workers` (issue 22, item 2): one Trove node with
 * `workers: 1` and one with `workers: 2` (each on its own SQLite database and data folder), and
 * Debian's nginx serving the same bytes as static files (`worker_processes auto`: the limit), all
 * on 127.0.0.1, in one run with interleaved rounds:
 *
 * 1. blob GET throughput of a 64 MiB generic artifact, 16 concurrent streams;
 * 2. OCI manifest GET requests/s, 64 concurrent keep-alive clients;
 * 3. npm packument GET (10 versions) requests/s, 64 clients.
 *
 * Anonymous reads (the repositories allow them), so that the figures are the serving path's. On
 * the bench machine (2 cores, shared) two workers can at most double a figure; nginx uses both
 * cores too. Timing never fails the run.
 */
import { startStaticNginx } from './nginx.js'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request, type Agent } from 'undici'
import { npmPackage } from '../test/helpers/npm.js'
import { blobsOfImage, buildImage, OCI_MANIFEST } from '../test/helpers/oci-images.js'
import { pushBlob, put, requestRate } from './cluster.js'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, startTroveProcess, troveCommand, type ServerProcess } from './processes.js'
import { median, positiveInteger } from './report.js'
import { MiB, call, createAgent, measureDownloads, upload } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_ROUNDS', 3)
const SECONDS = positiveInteger('BENCH_WORKERS_SECS', 3)
const CLIENTS = 64
const BLOB_SIZE = 64 * MiB
const VERSIONS = 10
const IMAGE = 'docker-local/bench/app'
const PACKAGE = 'trove-workers-bench'
type Target = 'nginx' | 'trove, 1 worker' | 'trove, 2 workers'
type Measure = 'blob' | 'manifest' | 'packument'

interface Paths {
  readonly base: string
  readonly blob: string
  readonly manifest: string
  readonly packument: string
}

export async function workersSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  const trove = await troveCommand()
  console.log(`\n== workers: Trove with 1 and 2 workers against nginx (static files); Trove from ${trove.label}; ${ROUNDS} rounds of ${SECONDS} s`)
  await mkdir(workDir, { recursive: true })
  const agent = track(createAgent())
  const targets = new Map<Target, Paths>()
  for (const workers of [1, 2]) {
    const server: ServerProcess = track(await startTroveProcess({ name: `trove-${workers}`, args: trove.args, dataDir: join(workDir, `trove-${workers}`), env: { TROVE_WORKERS: String(workers) } }))
    targets.set(workers === 1 ? 'trove, 1 worker' : 'trove, 2 workers', await fill(agent, server.url))
  }

  // nginx serves Trove's own answers, as files.
  const staticDir = join(workDir, 'static')
  await mkdir(staticDir, { recursive: true })
  const first = targets.get('trove, 1 worker')!
  for (const [name, url, headers] of [
    ['blob.bin', first.blob, {}],
    ['manifest.json', first.manifest, { accept: OCI_MANIFEST }],
    ['packument.json', first.packument, {}],
  ] as const) {
    const response = await request(first.base + url, { dispatcher: agent, headers })
    await writeFile(join(staticDir, name), Buffer.from(await response.body.arrayBuffer()))
  }
  const nginx = await startStaticNginx(join(workDir, 'nginx'), 'nginx', `    types { application/json json; }
    default_type application/octet-stream;
    root ${staticDir};`)
  try {
    targets.set('nginx', { base: nginx.url, blob: '/blob.bin', manifest: '/manifest.json', packument: '/packument.json' })
    await measure(agent, targets, report)
  } finally {
    await nginx.stop()
  }
}

async function measure(agent: Agent, targets: ReadonlyMap<Target, Paths>, report: SuiteContext['report']): Promise<void> {
  const figures = new Map<string, number[]>()
  const record = (target: Target, measure: Measure, value: number) => {
    const key = `${target}/${measure}`
    figures.set(key, [...(figures.get(key) ?? []), value])
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [target, paths] of targets) {
      record(target, 'blob', await measureDownloads(agent, paths.base + paths.blob, BLOB_SIZE, { streams: 16, times: 1 }))
      record(target, 'manifest', await requestRate(agent, paths.base + paths.manifest, { accept: OCI_MANIFEST }, CLIENTS, SECONDS))
      record(target, 'packument', await requestRate(agent, paths.base + paths.packument, { accept: 'application/json' }, CLIENTS, SECONDS))
    }
    process.stdout.write(`round ${round + 1}/${ROUNDS} done\n`)
  }
  const of = (target: Target, measure: Measure) => median(figures.get(`${target}/${measure}`) ?? [])
  const rows: string[][] = [['measure', 'nginx', 'trove, 1 worker', 'trove, 2 workers', '2 / 1 workers', '2 workers / nginx']]
  for (const [measure, label] of [
    ['blob', `blob GET, MiB/s (16 streams of ${BLOB_SIZE / MiB} MiB)`],
    ['manifest', `OCI manifest GET, req/s (${CLIENTS} connections)`],
    ['packument', `npm packument GET (${VERSIONS} versions), req/s (${CLIENTS} connections)`],
  ] as const) {
    const [nginxValue, one, two] = [of('nginx', measure), of('trove, 1 worker', measure), of('trove, 2 workers', measure)]
    rows.push([label, fmt(nginxValue), fmt(one), fmt(two), `${(two / one).toFixed(2)}×`, `${(two / nginxValue).toFixed(2)}×`])
  }
  report.table(`Medians of ${ROUNDS} interleaved rounds, anonymous GETs on 127.0.0.1`, rows)
  report.note('The client (undici, in the bench process) shares the 2 cores with the servers; nginx runs one worker per core. On a machine loaded by other work, the ratio between targets measured in the same round says more than the absolute figures.')
}

/** A repository of each kind with what is measured: a 64 MiB blob, an image's manifest, a packument of 10 versions. */
async function fill(agent: Agent, base: string): Promise<Paths> {
  await call(agent, 'PUT', `${base}/artifactory/api/repositories/bench-generic`, ADMIN_AUTH, { rclass: 'local', packageType: 'generic', anonymousRead: true })
  await call(agent, 'PUT', `${base}/artifactory/api/repositories/docker-local`, ADMIN_AUTH, { rclass: 'local', packageType: 'docker', anonymousRead: true })
  await call(agent, 'PUT', `${base}/artifactory/api/repositories/bench-npm`, ADMIN_AUTH, { rclass: 'local', packageType: 'npm', anonymousRead: true })
  await upload(agent, `${base}/artifactory/bench-generic/blob.bin`, BLOB_SIZE, ADMIN_AUTH)
  const image = buildImage('bench-workers', 2)
  for (const blob of blobsOfImage(image).filter((b) => b.descriptor.digest !== image.manifest.descriptor.digest)) {
    await pushBlob(agent, base, IMAGE, blob.descriptor.digest, blob.bytes, ADMIN_AUTH)
  }
  await put(agent, `${base}/v2/${IMAGE}/manifests/v1`, OCI_MANIFEST, image.manifest.bytes, ADMIN_AUTH)
  for (let i = 0; i < VERSIONS; i++) {
    const { body } = await npmPackage({ name: PACKAGE, version: `1.0.${i}`, description: `version ${i}` }, { 'index.js': `module.exports = ${i}\n` })
    const response = await request(`${base}/artifactory/api/npm/bench-npm/${PACKAGE}`, {
      dispatcher: agent,
      method: 'PUT',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const text = await response.body.text()
    if (response.statusCode >= 300) throw new Error(`npm publish ${PACKAGE}@1.0.${i}: ${response.statusCode} ${text}`)
  }
  return { base, blob: '/artifactory/bench-generic/blob.bin', manifest: `/v2/${IMAGE}/manifests/v1`, packument: `/artifactory/api/npm/bench-npm/${PACKAGE}` }
}


function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1)
}
