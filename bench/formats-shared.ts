/**
 * What every format's part of the formats suite (issue 17's benchmark) measures the same way:
 *
 * - `documentAgainstCeiling`: requests/s of one metadata document from Trove against the static
 *   ceiling, a minimal Node server sending the same bytes from memory (bench/static-file-server.ts):
 *   `concurrency` keep-alive clients for `seconds` per round, the two interleaved, medians.
 * - `installDirectVsRemote`: a client's install of a small project straight from the upstream and
 *   through a warm remote of it (one cold run first fills the remote's cache and is not counted),
 *   interleaved rounds, medians, and the median of the rounds' ratios remote/direct against a target.
 *
 * Both first wait for the Trove processes to settle: what was just stored (the documents' versions,
 * the remote's cold run) is scanned in the background, and that work must not be measured.
 *
 * Timing never fails the run: a missed target is reported as `NOT met`.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request, type Agent } from 'undici'
import type { SuiteContext } from './oci.js'
import type { SuiteReport } from './results.js'
import { ServerProcess, childEnv, cpuSeconds, freePort } from './processes.js'
import { median, range } from './report.js'
import { startNginx } from './nginx.js'
import { hammer } from './transfers.js'

export const TARGET_RATIO = 1.0

/** Which of two targets goes first in a round: alternated, so that neither always runs on a warmer machine. */
function order<T extends string>(round: number, a: T, b: T): readonly [T, T] {
  return round % 2 === 0 ? [a, b] : [b, a]
}

/** The CPU a quiet Trove may spend per second (its job poller); above it, background work is running. */
const QUIET_CPU_SECONDS = 0.03
const SETTLE_LIMIT_MS = 120_000
/**
 * Untimed installs on each side before the rounds: the upstream's process has just served
 * thousands of requests (the document's rounds) with its code optimised by V8, the remote's only
 * the cold install; without these, the remote's first rounds run partly unoptimised.
 */
const WARM_UP_INSTALLS = 5

/**
 * Waits until none of the processes spends more than QUIET_CPU_SECONDS of CPU in a second (their
 * background jobs, such as the scans of what was just stored, are done), for SETTLE_LIMIT_MS at most.
 */
export async function settle(pids: readonly number[]): Promise<void> {
  const until = Date.now() + SETTLE_LIMIT_MS
  while (Date.now() < until) {
    const before = await Promise.all(pids.map((pid) => cpuSeconds(pid)))
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const after = await Promise.all(pids.map((pid) => cpuSeconds(pid)))
    if (after.every((cpu, i) => cpu - before[i]! <= QUIET_CPU_SECONDS)) return
  }
  console.log(`the Trove processes were still busy after ${SETTLE_LIMIT_MS / 1000} s: measuring anyway`)
}

/** GETs `url`, which must answer 200: its body. */
export async function fetchBody(agent: Agent, url: string): Promise<Buffer> {
  const response = await request(url, { dispatcher: agent })
  const body = Buffer.from(await response.body.arrayBuffer())
  if (response.statusCode !== 200) throw new Error(`GET ${url}: ${response.statusCode} ${body.toString('utf8').slice(0, 200)}`)
  return body
}

/**
 * Requests/s of the document at `url` (served by the Trove process `pid`) against a static server
 * sending the same bytes, `rounds` interleaved rounds; records a table under `caption` (the
 * document's size is added) and the ratio.
 */
export async function documentAgainstCeiling(
  { workDir, track, report }: SuiteContext,
  agent: Agent,
  options: { readonly name: string; readonly url: string; readonly pid: number; readonly caption: string; readonly rounds: number; readonly seconds: number; readonly concurrency: number },
): Promise<void> {
  await settle([options.pid])
  const document = await fetchBody(agent, options.url)
  const file = join(workDir, `${options.name}.document`)
  await writeFile(file, document)
  const port = await freePort()
  const ceiling = track(await ServerProcess.start(`static-${options.name}`, ['--import', 'tsx', 'bench/static-file-server.ts', file, String(port), 'memory'], childEnv({}), port, '/ready'))
  // nginx serving the same bytes from a file: the figure issue 22 compares with.
  const nginx = track(await startNginx(workDir, options.name, file))
  type Target = 'trove' | 'static' | 'nginx'
  const names: readonly Target[] = ['trove', 'static', 'nginx']
  const targets: Record<Target, { url: string; pid: number }> = {
    trove: { url: options.url, pid: options.pid },
    static: { url: `${ceiling.url}/document`, pid: ceiling.pid },
    nginx: { url: `${nginx.url}/document`, pid: nginx.pid },
  }
  const rates: Record<Target, { rps: number[]; p99: number[]; cpu: number[] }> = { trove: { rps: [], p99: [], cpu: [] }, static: { rps: [], p99: [], cpu: [] }, nginx: { rps: [], p99: [], cpu: [] } }
  for (let round = 0; round < options.rounds; round++) {
    // Rotated, so that no server always runs on the warmest or the busiest machine.
    for (const target of names.map((_, i) => names[(i + round) % names.length]!)) {
      const cpuBefore = await cpuSeconds(targets[target].pid)
      const result = await hammer(agent, targets[target].url, document.length, { seconds: options.seconds, concurrency: options.concurrency })
      rates[target].rps.push(result.requests / result.seconds)
      rates[target].p99.push(result.p99)
      // nginx's workers are its master's children: its CPU is not the master's, so it is left out.
      rates[target].cpu.push(((await cpuSeconds(targets[target].pid)) - cpuBefore) / result.requests)
    }
    console.log(`round ${round + 1}/${options.rounds}: ${names.map((t) => `${t} ${rates[t].rps.at(-1)!.toFixed(0)}`).join(', ')} req/s`)
  }
  report.table(`${options.caption} (${document.length} bytes), ${options.concurrency} keep-alive clients, ${options.seconds} s per round: medians of ${options.rounds} rounds`, [
    ['server', 'requests/s', 'range', 'p99 ms', 'server CPU µs/request'],
    ...names.map((t) => [t === 'static' ? 'static (node)' : t, median(rates[t].rps).toFixed(0), range(rates[t].rps), median(rates[t].p99).toFixed(1), t === 'nginx' ? 'n/a' : (median(rates[t].cpu) * 1e6).toFixed(0)]),
  ])
  const ratio = (t: Target) => (median(rates.trove.rps) / median(rates[t].rps)).toFixed(2)
  report.note(`\n${options.caption}: ratio trove / static ceiling (median requests/s): ${ratio('static')}; trove / nginx: ${ratio('nginx')}`)
  await ceiling.stop()
  await nginx.stop()
}

/** One install by a client: how long it took and the CPU seconds the serving Trove spent meanwhile. */
export interface InstallTiming {
  readonly seconds: number
  readonly cpu: number
}

/** Times `install` (the client's run, which throws when it fails) and the CPU the Trove process `pid` spent meanwhile. */
export async function timed(pid: number, install: () => Promise<void>): Promise<InstallTiming> {
  const cpuBefore = await cpuSeconds(pid)
  const started = performance.now()
  await install()
  const seconds = (performance.now() - started) / 1000
  return { seconds, cpu: (await cpuSeconds(pid)) - cpuBefore }
}

/**
 * A cold install through the remote (fills its cache, noted, not counted), WARM_UP_INSTALLS
 * untimed installs on each side, the servers left to settle, then `rounds` interleaved rounds of direct and warm-remote installs; records a table under `caption` and the
 * ratio warm remote / direct against TARGET_RATIO.
 */
export async function installDirectVsRemote(
  report: SuiteReport,
  options: {
    readonly what: string
    readonly caption: string
    readonly rounds: number
    /** The upstream's and the remote's Trove processes. */
    readonly pids: readonly number[]
    readonly direct: () => Promise<InstallTiming>
    readonly remote: () => Promise<InstallTiming>
  },
): Promise<void> {
  await settle(options.pids)
  const cold = await options.remote()
  await settle(options.pids)
  report.note(`\ncold ${options.what} through the remote (fills its cache, not counted): ${cold.seconds.toFixed(2)} s`)
  for (let i = 0; i < WARM_UP_INSTALLS; i++) for (const target of order(i, 'direct', 'remote')) await options[target]()
  await settle(options.pids)
  const timings: Record<'direct' | 'remote', InstallTiming[]> = { direct: [], remote: [] }
  for (let round = 0; round < options.rounds; round++) {
    for (const target of order(round, 'direct', 'remote')) timings[target].push(await options[target]())
    console.log(`round ${round + 1}/${options.rounds}: direct ${timings.direct.at(-1)!.seconds.toFixed(2)} s, warm remote ${timings.remote.at(-1)!.seconds.toFixed(2)} s`)
  }
  const ratio = median(timings.remote.map((r, i) => r.seconds / timings.direct[i]!.seconds))
  const row = (label: string, runs: readonly InstallTiming[]) => [label, median(runs.map((r) => r.seconds)).toFixed(2), range(runs.map((r) => r.seconds), 2), median(runs.map((r) => r.cpu)).toFixed(2)]
  report.table(`${options.caption}: medians of ${options.rounds} rounds`, [['from', 'seconds', 'range', 'server CPU s'], row('upstream directly', timings.direct), row('warm remote', timings.remote)])
  report.note(`\n${options.what}: ratio warm remote / direct (median of the rounds' ratios): ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO.toFixed(1)}: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'})`)
}

/** The client's version line, or why it cannot run (the part is then skipped, saying so). */
export async function clientVersion(run: () => Promise<string>, name: string): Promise<string | { missing: string }> {
  return run().then(
    (out) => out.trim().split('\n')[0]!,
    (err: unknown) => ({ missing: `${name} is not available: ${(err as Error).message.split('\n')[0]}` }),
  )
}
