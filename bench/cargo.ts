/**
 * The Cargo part of issue 17's formats benchmark (`npm run bench -- cargo`), two Trove processes on
 * 127.0.0.1:
 *
 * 1. Requests/s of one crate's sparse index file (`index/bi/g-/big-crate`, 200 versions) from a
 *    local repository, against a static server sending the same bytes from memory (the ceiling):
 *    16 keep-alive clients for `BENCH_CARGO_SECONDS` (default 5) per round, interleaved, medians.
 * 2. `cargo fetch` of a project depending on 20 crates, each time with an empty CARGO_HOME (so
 *    every index file and crate is fetched), straight from the upstream (the first Trove's local
 *    repository) and through a warm Cargo remote of it on the second Trove (one cold fetch first
 *    fills its cache and is not counted), interleaved, medians, and the ratio remote/direct
 *    (target ≤ 1.0). Cargo's default source is replaced by the registry measured, so nothing
 *    leaves the machine.
 *
 * `BENCH_CARGO_ROUNDS` sets the number of rounds (default 3). The cargo part is skipped, saying
 * why, when cargo is missing. Timing never fails the run.
 */
import { execFile } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { CargoSandbox, cargoIndexUrl } from '../test/helpers/cargo.js'
import { crateOf, publishBody, publishJson } from '../test/helpers/crates.js'
import type { SuiteContext } from './oci.js'
import { clientVersion, documentAgainstCeiling, installDirectVsRemote, timed } from './formats-shared.js'
import { ADMIN_AUTH, startTroveProcess, troveCommand } from './processes.js'
import { positiveInteger } from './report.js'
import { call, createAgent, putAs } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_CARGO_ROUNDS', 3)
const SECONDS = positiveInteger('BENCH_CARGO_SECONDS', 5)
const CONCURRENCY = 16
const VERSIONS = 200
const CRATES = 20

const execFileAsync = promisify(execFile)

export async function cargoSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== cargo: a sparse index file (requests/s) against a static server; cargo fetch of ${CRATES} crates, direct vs through a warm remote`)
  await mkdir(workDir, { recursive: true })
  const trove = await troveCommand()
  const start = async (name: string, extra: Record<string, string> = {}) =>
    track(await startTroveProcess({ name, args: trove.args, dataDir: join(workDir, `${name}-data`), env: extra }))
  const upstream = await start('upstream')
  const proxy = await start('proxy', { TROVE_ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' })
  const agent = track(createAgent())
  await call(agent, 'PUT', `${upstream.url}/artifactory/api/repositories/up`, ADMIN_AUTH, { rclass: 'local', packageType: 'cargo', anonymousRead: true })
  await call(agent, 'PUT', `${proxy.url}/artifactory/api/repositories/remote`, ADMIN_AUTH, {
    rclass: 'remote',
    packageType: 'cargo',
    url: cargoIndexUrl(upstream.url, 'up'),
    anonymousRead: true,
  })
  console.log(`Trove from ${trove.label}; ${ROUNDS} rounds`)

  // --- 1. one crate with 200 versions: its index file against the same bytes from a static server.
  process.stdout.write(`publishing ${VERSIONS} versions of big-crate… `)
  const begun = performance.now()
  for (let i = 0; i < VERSIONS; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, VERSIONS - i) }, (_, j) => publish(upstream.url, 'big-crate', `1.${i + j}.0`)))
  }
  console.log(`${((performance.now() - begun) / 1000).toFixed(1)} s`)
  await documentAgainstCeiling({ workDir, track, report }, agent, {
    name: 'cargo-index',
    url: `${upstream.url}/artifactory/api/cargo/up/index/bi/g-/big-crate`,
    pid: upstream.pid,
    caption: `index file of big-crate (${VERSIONS} versions)`,
    rounds: ROUNDS,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
  })

  // --- 2. cargo fetch of a project of 20 crates.
  const cargo = await clientVersion(async () => (await execFileAsync('cargo', ['--version'])).stdout, 'cargo')
  if (typeof cargo !== 'string') {
    report.note(`\ncargo fetch: SKIPPED: ${cargo.missing}`)
  } else {
    const names = Array.from({ length: CRATES }, (_, i) => `bench-crate-${String(i).padStart(2, '0')}`)
    process.stdout.write(`\npublishing ${CRATES} crates… `)
    await Promise.all(names.map((name) => publish(upstream.url, name, '1.0.0', 64 * 1024)))
    console.log('done')
    let runs = 0
    const fetchThrough = async (index: string, pid: number) => {
      const registry = { name: 'measured', indexUrl: index }
      const sandbox = await CargoSandbox.create([registry], registry)
      try {
        const app = await sandbox.writeApp(`app-${runs++}`, names.map((name) => ({ name, version: '1' })), 'fn main() {}\n')
        return await timed(pid, async () => {
          const run = await sandbox.run(['fetch'], app)
          if (run.code !== 0) throw new Error(`cargo fetch from ${index} failed:\n${run.stderr}`)
        })
      } finally {
        await sandbox.close()
      }
    }
    await installDirectVsRemote(report, {
      pids: [upstream.pid, proxy.pid],
      what: 'cargo fetch',
      caption: `cargo fetch of ${CRATES} crates (${cargo}), empty CARGO_HOME each time`,
      rounds: ROUNDS,
      direct: () => fetchThrough(cargoIndexUrl(upstream.url, 'up'), upstream.pid),
      remote: () => fetchThrough(cargoIndexUrl(proxy.url, 'remote'), proxy.pid),
    })
    report.note('Cargo: cargo runs on the same machine as both servers; the remote re-checks no index file within its cache period (2 hours by default).')
  }
  await proxy.stop()
  await upstream.stop()
}

/** Publishes a crate version through the registry API (as cargo publish sends it); `padding` adds incompressible bytes. */
async function publish(baseUrl: string, name: string, version: string, padding = 0): Promise<void> {
  const extra = padding > 0 ? [{ path: `${name}-${version}/data.bin`, body: Buffer.from(Array.from({ length: padding }, () => Math.floor(Math.random() * 256))) }] : []
  const body = publishBody(publishJson(name, version), crateOf(name, version, { extra }))
  await putAs(`${baseUrl}/artifactory/api/cargo/up/api/v1/crates/new`, body, ADMIN_AUTH, 200)
}

