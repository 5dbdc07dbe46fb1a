/**
 * `npm run bench`: the figures the issues' quality bars ask for, in suites. `npm run bench` runs
 * them all; `npm run bench -- generic oci` runs the ones named.
 *
 * generic (issue 2):
 * 1. Download throughput of a 256 MiB generic artifact from Trove against a minimal Node static-file
 *    server sending the same bytes (Trove's own blob file), for 1 stream and for 16 concurrent
 *    streams: interleaved rounds, medians, and the ratio trove/static (target ≥ 0.9).
 * 2. Resident memory growth of the Trove process above its idle size while it receives a 1 GiB
 *    upload (target < 64 MiB).
 *
 * oci (issue 3): Trove's registry against the distribution registry, see `oci.ts`.
 *
 * npm (issue 4): packument GET from Trove against Verdaccio and a static server, see `npm.ts`.
 *
 * npm-install (issue 5): `npm install` of a ~150-package project through an npm remote, against
 * Verdaccio and the upstream directly, see `npm-install.ts`.
 *
 * oci-remote (issue 5): `skopeo copy` of a 20-layer image through a docker remote, see `oci-remote.ts`.
 *
 * pypi (issue 6): `simple/<project>/` requests/s for a 300-file project, and `pip download` of 30
 * packages through a warm PyPI remote against the upstream directly, see `pypi.ts`.
 *
 * scanning (issue 8): scan throughput of a ~200 MiB image and re-matching 100,000 stored
 * components after a database update, in this process, see `scanning.ts`.
 *
 * s3 (issue 14): Trove on an S3 store (moto) against the store itself and the filesystem driver:
 * downloads (streamed, read cache warm, redirect time to first byte) and a 1 GiB upload against a
 * plain SDK multipart upload, see `s3.ts`.
 *
 * formats (issue 17): per format, requests/s of its hottest metadata document against a static
 * server sending the same bytes, and a warm install through a remote against the upstream: Go's in
 * `formats-go.ts`, Cargo's (a sparse index file; `cargo fetch` through a warm remote) in `cargo.ts`,
 * Composer's (a p2 document; `composer install` through a warm remote) in `formats-composer.ts`,
 * RubyGems' (an info document; `bundle install` through a warm remote) in `formats-rubygems.ts`,
 * what they share in `formats-shared.ts`.
 * cluster (issue 15): three nodes behind nginx against one, and a rolling restart under load, see `cluster.ts`.
 * workers (issue 22): one node with 1 and with 2 workers against nginx serving the same bytes, see `workers.ts`.
 * scale (issue 22): deploys/s, search by name and a folder listing at 10³ … 10⁶ stored files on
 * SQLite and PostgreSQL, see `scale.ts`.
 * federation (issue 19): replication lag of 1,000 small artifacts and 1 GiB replication throughput
 * against a direct copy between the two blob stores, see `federation.ts`.
 * cleanup (issue 21): a cleanup policy's dry and real run over 100,000 artifacts, and pull latency
 * with and without it running, see `cleanup.ts`.
 * blobs (issue 22): a 256 MiB blob GET against nginx and the distribution registry, and 1 GiB pushes
 * (monolithic, streamed, chunked) against the registry, see `blobs.ts`.
 *
 * Both servers run as child processes, the client (undici) here, all on 127.0.0.1. Timing never
 * fails the run: it exits 0 unless something errors. `BENCH_ROUNDS` sets the number of rounds.
 * Each suite ends with the machine's load average, so that readers can judge the figures.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Dispatcher } from 'undici'
import { blobsSuite } from './blobs.js'
import { goFormatBench } from './formats-go.js'
import { cargoSuite } from './cargo.js'
import { clusterSuite } from './cluster.js'
import { federationSuite } from './federation.js'
import { cleanupSuite } from './cleanup.js'
import { workersSuite } from './workers.js'
import { composerFormatBench } from './formats-composer.js'
import { rubygemsFormatBench } from './formats-rubygems.js'
import { npmInstallSuite } from './npm-install.js'
import { npmSuite } from './npm.js'
import { ociRemoteSuite } from './oci-remote.js'
import { ociSuite, type SuiteContext } from './oci.js'
import { pypiSuite } from './pypi.js'
import { s3Suite } from './s3.js'
import { scaleSuite } from './scale.js'
import { scanningSuite } from './scanning.js'
import {
  ADMIN_AUTH,
  ServerProcess,
  childEnv,
  cpuSeconds,
  freePort,
  resetPeakResident,
  residentBytes,
  sampleResident,
  startTroveProcess,
  troveCommand,
} from './processes.js'
import { median, positiveInteger } from './report.js'
import { SuiteReport, describeBuild, writeResults, type SuiteRun } from './results.js'
import { MiB, call, createAgent, download, measureDownloads, upload } from './transfers.js'

const ARTIFACT_SIZE = 256 * MiB
const UPLOAD_SIZE = 1024 * MiB
const ROUNDS = positiveInteger('BENCH_ROUNDS', 5)
/** One measurement moves at least 1 GiB, so that a hiccup of the machine weighs less. */
const SCENARIOS = [
  { label: '1 stream (4 downloads in a row)', streams: 1, times: 4 },
  { label: '16 concurrent streams', streams: 16, times: 1 },
] as const
const RSS_INTERVAL_MS = 100
const TARGET_RATIO = 0.9
const TARGET_GROWTH_MIB = 64
const SUITES = ['generic', 'oci', 'npm', 'npm-install', 'oci-remote', 'pypi', 'scanning', 's3', 'formats', 'cluster', 'scale', 'federation', 'cleanup', 'workers', 'blobs'] as const
type Suite = (typeof SUITES)[number]

const REPO = 'bench-generic'

type Target = 'static' | 'trove'
const TARGETS: readonly Target[] = ['static', 'trove']

interface Measurement {
  readonly mibPerSecond: number
  /** CPU seconds the server process spent per GiB sent. */
  readonly cpuPerGib: number
}

interface ScenarioResult {
  readonly label: string
  readonly results: Record<Target, Measurement[]>
}

interface MemoryResult {
  readonly idle: number
  readonly peak: number
  readonly kernelPeak: number | undefined
  readonly samples: number
  readonly uploadMibPerSecond: number
}

const servers = new Set<ServerProcess>()
const dispatchers = new Set<Dispatcher>()
let workDir: string | undefined

async function main(): Promise<void> {
  const suites = selectedSuites(process.argv.slice(2))
  workDir = await mkdtemp(join(tmpdir(), 'trove-bench-'))
  console.log(`Trove benchmark: Node ${process.version}, ${availableParallelism()} CPUs; suites ${suites.join(', ')}; temporary folder ${workDir}`)
  const build = await describeBuild((await troveCommand()).label)
  const runs: SuiteRun[] = []
  for (const suite of suites) {
    const report = await SuiteReport.begin(suite)
    await SUITE_RUNNERS[suite]({ workDir: join(workDir, suite), track, report })
    runs.push(await report.end(build))
  }
  console.log(`
results written to ${await writeResults(runs)}`)
}

const SUITE_RUNNERS: Record<Suite, (context: SuiteContext) => Promise<void>> = {
  generic: genericSuite,
  oci: ociSuite,
  npm: npmSuite,
  'npm-install': npmInstallSuite,
  'oci-remote': ociRemoteSuite,
  pypi: pypiSuite,
  scanning: scanningSuite,
  cleanup: cleanupSuite,
  s3: s3Suite,
  formats: formatsSuite,
  cluster: clusterSuite,
  scale: scaleSuite,
  federation: federationSuite,
  workers: workersSuite,
  blobs: blobsSuite,
}

/** The formats suite: each format's part in turn (Go, Cargo, Composer, RubyGems). */
async function formatsSuite(context: SuiteContext): Promise<void> {
  await goFormatBench({ ...context, workDir: join(context.workDir, 'go') })
  await cargoSuite({ ...context, workDir: join(context.workDir, 'cargo') })
  await composerFormatBench({ ...context, workDir: join(context.workDir, 'composer') })
  await rubygemsFormatBench({ ...context, workDir: join(context.workDir, 'rubygems') })
}

/** The suites named on the command line, all of them when none is. */
function selectedSuites(args: readonly string[]): Suite[] {
  const unknown = args.filter((a) => !(SUITES as readonly string[]).includes(a))
  if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(', ')}: choose among ${SUITES.join(', ')}`)
  return args.length === 0 ? [...SUITES] : SUITES.filter((s) => args.includes(s))
}

async function genericSuite({ workDir: dir, report }: SuiteContext): Promise<void> {
  const dataDir = join(dir, 'data')
  const trove = await troveCommand()
  console.log(`\n== generic: Trove from ${trove.label}; ${ROUNDS} rounds`)

  const startTrove = async () => track(await startTroveProcess({ args: trove.args, dataDir }))

  // 1. Download throughput.
  let server = await startTrove()
  const agent = track(createAgent())
  await call(agent, 'PUT', `${server.url}/artifactory/api/repositories/${REPO}`, ADMIN_AUTH, { key: REPO, rclass: 'local', packageType: 'generic' })
  // CI authenticates with access tokens, so the bench does too.
  const token = (await call(agent, 'POST', `${server.url}/access/api/v1/tokens`, ADMIN_AUTH, { description: 'bench' })) as { access_token: string }
  const bearer = `Bearer ${token.access_token}`
  process.stdout.write(`\ndeploying a ${ARTIFACT_SIZE / MiB} MiB artifact… `)
  const deployed = await upload(agent, `${server.url}/artifactory/${REPO}/bench/artifact.bin`, ARTIFACT_SIZE, bearer)
  console.log(`${deployed.mibPerSecond.toFixed(0)} MiB/s`)
  const sha256 = deployed.body.checksums.sha256
  const blobFile = join(dataDir, 'blobs', 'sha256', sha256.slice(0, 2), sha256)
  if ((await stat(blobFile)).size !== ARTIFACT_SIZE) throw new Error(`${blobFile} is not ${ARTIFACT_SIZE} bytes`)

  const staticPort = await freePort()
  const staticServer = track(
    await ServerProcess.start('static', ['--import', 'tsx', 'bench/static-file-server.ts', blobFile, String(staticPort)], childEnv({}), staticPort, '/ready'),
  )
  const targets: Record<Target, { url: string; authorization?: string; pid: number }> = {
    static: { url: `${staticServer.url}/artifact.bin`, pid: staticServer.pid },
    trove: { url: `${server.url}/artifactory/${REPO}/bench/artifact.bin`, authorization: bearer, pid: server.pid },
  }
  const measure = async (target: Target, streams: number, times: number): Promise<Measurement> => {
    const { url, authorization, pid } = targets[target]
    const cpuBefore = await cpuSeconds(pid)
    const mibPerSecond = await measureDownloads(agent, url, ARTIFACT_SIZE, { streams, times, authorization })
    const gib = (streams * times * ARTIFACT_SIZE) / (1024 * MiB)
    return { mibPerSecond, cpuPerGib: ((await cpuSeconds(pid)) - cpuBefore) / gib }
  }

  // Warm-up (page cache, JIT, connections), not counted.
  for (const target of TARGETS) await measure(target, 2, 1)

  const scenarios: ScenarioResult[] = SCENARIOS.map(({ label }) => ({ label, results: { static: [], trove: [] } }))
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved, the order swapped every round: neither server always goes first.
    const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse()
    const figures: string[] = []
    for (const [index, { streams, times }] of SCENARIOS.entries()) {
      for (const target of order) {
        const measurement = await measure(target, streams, times)
        scenarios[index]!.results[target].push(measurement)
        figures.push(`${target} ×${streams} ${measurement.mibPerSecond.toFixed(0)}`)
      }
    }
    console.log(`round ${round + 1}/${ROUNDS}: ${figures.join(', ')} MiB/s`)
  }
  await staticServer.stop()
  await server.stop()

  // 2. Memory while receiving 1 GiB, in a fresh process on the same data folder.
  server = await startTrove()
  const pid = server.pid
  // Warm the paths an upload takes (auth, routing, blob store, metadata) so that idle means idle, not cold.
  await upload(agent, `${server.url}/artifactory/${REPO}/bench/warm-up.bin`, MiB, bearer)
  await download(agent, `${server.url}/artifactory/${REPO}/bench/warm-up.bin`, MiB, bearer)
  await sleep(1000)
  const idleSamples: number[] = []
  for (let i = 0; i < 10; i++) {
    idleSamples.push(await residentBytes(pid))
    await sleep(RSS_INTERVAL_MS)
  }
  const idle = median(idleSamples)
  const canResetPeak = await resetPeakResident(pid)
  process.stdout.write(`\nuploading ${UPLOAD_SIZE / MiB} MiB while sampling Trove's RSS every ${RSS_INTERVAL_MS} ms… `)
  const sampler = sampleResident(pid, RSS_INTERVAL_MS)
  let uploaded, sampled
  try {
    uploaded = await upload(agent, `${server.url}/artifactory/${REPO}/bench/one-gib.bin`, UPLOAD_SIZE, bearer)
  } finally {
    sampled = await sampler.stop()
  }
  const kernelPeak = canResetPeak ? await residentBytes(pid, 'VmHWM') : undefined
  console.log(`${uploaded.mibPerSecond.toFixed(0)} MiB/s`)
  if (Number(uploaded.body.size) !== UPLOAD_SIZE) throw new Error(`the 1 GiB upload stored ${uploaded.body.size} bytes`)
  await server.stop()

  reportGeneric(report, scenarios, {
    idle,
    peak: Math.max(sampled.peak, idle),
    kernelPeak,
    samples: sampled.samples,
    uploadMibPerSecond: uploaded.mibPerSecond,
  })
}

function reportGeneric(report: SuiteReport, scenarios: readonly ScenarioResult[], memory: MemoryResult): void {
  const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`
  const spread = (values: readonly Measurement[]) => {
    const rates = values.map((m) => m.mibPerSecond)
    return `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}`
  }
  const cpu = (values: readonly Measurement[]) => median(values.map((m) => m.cpuPerGib)).toFixed(2)

  report.table(`Download of a ${ARTIFACT_SIZE / MiB} MiB artifact, median of ${ROUNDS} rounds (MiB/s)`, [
    ['streams', 'static', 'trove', 'trove/static', 'target', 'result', 'static range', 'trove range', 'CPU s/GiB static', 'CPU s/GiB trove'],
    ...scenarios.map(({ label, results }) => {
      const ratio = median(results.trove.map((m) => m.mibPerSecond)) / median(results.static.map((m) => m.mibPerSecond))
      return [
        label,
        median(results.static.map((m) => m.mibPerSecond)).toFixed(0),
        median(results.trove.map((m) => m.mibPerSecond)).toFixed(0),
        ratio.toFixed(2),
        `≥ ${TARGET_RATIO}`,
        ratio >= TARGET_RATIO ? 'PASS' : 'MISS',
        spread(results.static),
        spread(results.trove),
        cpu(results.static),
        cpu(results.trove),
      ]
    }),
  ])

  const growth = memory.peak - memory.idle
  report.table(`Trove's resident memory while it receives a ${UPLOAD_SIZE / MiB} MiB upload (${memory.samples} samples)`, [
    ['idle RSS', 'peak RSS', 'growth', 'target', 'result'],
    [mib(memory.idle), mib(memory.peak), mib(growth), `< ${TARGET_GROWTH_MIB} MiB`, growth < TARGET_GROWTH_MIB * MiB ? 'PASS' : 'MISS'],
  ])
  if (memory.kernelPeak !== undefined) {
    report.note(`\nkernel peak (VmHWM, reset before the upload): ${mib(memory.kernelPeak)}, growth ${mib(memory.kernelPeak - memory.idle)}`)
  }
  report.note(`upload throughput: ${memory.uploadMibPerSecond.toFixed(0)} MiB/s (for information, no target)`)
}


function track<T extends ServerProcess | Dispatcher>(resource: T): T {
  if (resource instanceof ServerProcess) servers.add(resource)
  else dispatchers.add(resource)
  return resource
}

async function cleanUp(): Promise<void> {
  await Promise.all([...servers].map((s) => s.stop()))
  await Promise.all([...dispatchers].map((d) => d.destroy()))
  if (workDir) await rm(workDir, { recursive: true, force: true })
}

process.once('SIGINT', () => {
  cleanUp().finally(() => process.exit(130))
})

try {
  await main()
  await cleanUp()
} catch (err) {
  console.error(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  await cleanUp().catch(() => {})
  process.exitCode = 1
}
