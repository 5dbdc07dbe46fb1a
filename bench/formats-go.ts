/**
 * Go's part of the formats suite of `npm run bench` (issue 17's benchmark), two Trove processes on
 * 127.0.0.1:
 *
 * 1. Requests/s of `<module>/@v/list` (Go's hottest metadata document) for a module with 200
 *    versions in a local repository, against the static ceiling: a minimal Node server sending
 *    the same bytes from memory (bench/static-file-server.ts). 16 keep-alive clients for
 *    `BENCH_FORMATS_SECONDS` (default 5) per round, the two interleaved, medians of the rounds.
 * 2. `go mod download` (Debian's go, a fresh module cache each time, GOSUMDB off, GOFLAGS=-mod=mod)
 *    of a project needing 20 modules, straight from the upstream (the first Trove's local
 *    repository) and through a warm Go remote of it on the second Trove (one cold run first fills
 *    its cache), interleaved, medians, and the ratio remote/direct (target ≤ 1.0).
 *
 * The repositories allow anonymous reads: go sends no credentials over plain http. The go part is
 * skipped, saying why, when go is missing. Timing never fails the run.
 */
import { execFile } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { request, type Agent } from 'undici'
import { libraryFiles, moduleZip } from '../test/helpers/go.js'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, ServerProcess, childEnv, cpuSeconds, freePort, startTroveProcess, troveCommand } from './processes.js'
import { median, positiveInteger, range } from './report.js'
import { call, createAgent, hammer } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_FORMATS_ROUNDS', 3)
const SECONDS = positiveInteger('BENCH_FORMATS_SECONDS', 5)
const CONCURRENCY = 16
const VERSIONS = 200
const MODULES = 20
const API = '/artifactory/api/go'

const execFileAsync = promisify(execFile)

export async function goFormatBench({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== formats: Go — @v/list of a ${VERSIONS}-version module (requests/s) against a static server; go mod download of ${MODULES} modules, direct vs a warm remote`)
  await mkdir(workDir, { recursive: true })
  const trove = await troveCommand()
  const start = async (name: string, extra: Record<string, string> = {}) =>
    track(await startTroveProcess({ name, args: trove.args, dataDir: join(workDir, `${name}-data`), env: extra }))
  const upstream = await start('go-upstream')
  const proxy = await start('go-proxy', { TROVE_ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' })
  const agent = track(createAgent())
  await call(agent, 'PUT', `${upstream.url}/artifactory/api/repositories/up`, ADMIN_AUTH, { rclass: 'local', packageType: 'go', anonymousRead: true })
  await call(agent, 'PUT', `${proxy.url}/artifactory/api/repositories/remote`, ADMIN_AUTH, { rclass: 'remote', packageType: 'go', url: `${upstream.url}${API}/up`, anonymousRead: true })
  console.log(`Trove from ${trove.label}; ${ROUNDS} rounds`)

  // --- 1. @v/list of one module with 200 versions, against the same bytes from a static server.
  process.stdout.write(`publishing ${VERSIONS} versions of example.com/big… `)
  const begun = performance.now()
  for (let i = 0; i < VERSIONS; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, VERSIONS - i) }, (_, j) => publish(upstream.url, 'example.com/big', `v1.${i + j}.0`)))
  }
  console.log(`${((performance.now() - begun) / 1000).toFixed(1)} s`)
  const listUrl = `${upstream.url}${API}/up/example.com/big/@v/list`
  const list = await fetchBody(agent, listUrl)
  const listFile = join(workDir, 'list.txt')
  await writeFile(listFile, list)
  const staticPort = await freePort()
  const staticServer = track(await ServerProcess.start('static-list', ['--import', 'tsx', 'bench/static-file-server.ts', listFile, String(staticPort), 'memory'], childEnv({}), staticPort, '/ready'))
  const targets = { trove: { url: listUrl, pid: upstream.pid }, static: { url: `${staticServer.url}/list`, pid: staticServer.pid } }
  const results: Record<'trove' | 'static', { rps: number[]; p99: number[]; cpu: number[] }> = { trove: { rps: [], p99: [], cpu: [] }, static: { rps: [], p99: [], cpu: [] } }
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of round % 2 === 0 ? (['trove', 'static'] as const) : (['static', 'trove'] as const)) {
      const cpuBefore = await cpuSeconds(targets[target].pid)
      const result = await hammer(agent, targets[target].url, list.length, { seconds: SECONDS, concurrency: CONCURRENCY })
      results[target].rps.push(result.requests / result.seconds)
      results[target].p99.push(result.p99)
      results[target].cpu.push(((await cpuSeconds(targets[target].pid)) - cpuBefore) / result.requests)
    }
    console.log(`round ${round + 1}/${ROUNDS}: trove ${results.trove.rps.at(-1)!.toFixed(0)} req/s, static ${results.static.rps.at(-1)!.toFixed(0)} req/s`)
  }
  report.table(`Go @v/list (${VERSIONS} versions, ${list.length} bytes), ${CONCURRENCY} keep-alive clients, ${SECONDS} s per round: medians of ${ROUNDS} rounds`, [
    ['server', 'requests/s', 'range', 'p99 ms', 'server CPU µs/request'],
    ...(['trove', 'static'] as const).map((t) => [t, median(results[t].rps).toFixed(0), range(results[t].rps), median(results[t].p99).toFixed(1), (median(results[t].cpu) * 1e6).toFixed(0)]),
  ])
  report.note(`ratio trove / static ceiling: ${(median(results.trove.rps) / median(results.static.rps)).toFixed(2)}`)
  await staticServer.stop()

  // --- 2. go mod download of a project needing 20 modules.
  const go = await execFileAsync('go', ['version']).then(
    (r) => r.stdout.trim(),
    (err: unknown) => ({ missing: `go is not available: ${(err as Error).message.split('\n')[0]}` }),
  )
  if (typeof go !== 'string') {
    report.note(`\ngo mod download: SKIPPED: ${go.missing}`)
  } else {
    const modules = Array.from({ length: MODULES }, (_, i) => `example.com/dep${String(i).padStart(2, '0')}`)
    for (const module of modules) await publish(upstream.url, module, 'v1.0.0', 64 * 1024)
    const project = join(workDir, 'project')
    await mkdir(project, { recursive: true })
    await writeFile(join(project, 'go.mod'), `module example.com/app\n\ngo 1.19\n\nrequire (\n${modules.map((m) => `\t${m} v1.0.0\n`).join('')})\n`)
    let runs = 0
    const download = async (goproxy: string, pid: number) => {
      const home = join(workDir, `go-${runs++}`)
      const env = { PATH: process.env.PATH, HOME: home, GOPATH: join(home, 'gopath'), GOMODCACHE: join(home, 'modcache'), GOCACHE: join(home, 'cache'), GOPROXY: goproxy, GOSUMDB: 'off', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' }
      const cpuBefore = await cpuSeconds(pid)
      const started = performance.now()
      await execFileAsync('go', ['mod', 'download'], { cwd: project, env, timeout: 600_000 })
      const seconds = (performance.now() - started) / 1000
      await execFileAsync('go', ['clean', '-modcache'], { cwd: project, env }).catch(() => undefined)
      await rm(home, { recursive: true, force: true })
      return { seconds, cpu: (await cpuSeconds(pid)) - cpuBefore }
    }
    const direct = `${upstream.url}${API}/up`
    const remote = `${proxy.url}${API}/remote`
    const cold = await download(remote, proxy.pid)
    report.note(`\ncold go mod download through the remote (fills its cache, not counted): ${cold.seconds.toFixed(2)} s`)
    const timings = { direct: [] as { seconds: number; cpu: number }[], remote: [] as { seconds: number; cpu: number }[] }
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of round % 2 === 0 ? (['direct', 'remote'] as const) : (['remote', 'direct'] as const)) {
        timings[target].push(target === 'direct' ? await download(direct, upstream.pid) : await download(remote, proxy.pid))
      }
      console.log(`round ${round + 1}/${ROUNDS}: direct ${timings.direct.at(-1)!.seconds.toFixed(2)} s, warm remote ${timings.remote.at(-1)!.seconds.toFixed(2)} s`)
    }
    const ratios = timings.remote.map((r, i) => r.seconds / timings.direct[i]!.seconds)
    report.table(`go mod download of ${MODULES} modules (${go}), fresh module cache each run: medians of ${ROUNDS} rounds`, [
      ['from', 'seconds', 'range', 'server CPU s'],
      ['upstream directly', median(timings.direct.map((r) => r.seconds)).toFixed(2), range(timings.direct.map((r) => r.seconds), 2), median(timings.direct.map((r) => r.cpu)).toFixed(2)],
      ['warm remote', median(timings.remote.map((r) => r.seconds)).toFixed(2), range(timings.remote.map((r) => r.seconds), 2), median(timings.remote.map((r) => r.cpu)).toFixed(2)],
    ])
    report.note(`\nratio warm remote / direct (median of the rounds' ratios): ${median(ratios).toFixed(2)} (target ≤ 1.0)`)
    report.note('The remote re-checks each @v/list after retrievalCachePeriodSecs (2 hours by default): a warm run asks no upstream.')
  }
  await proxy.stop()
  await upstream.stop()
}

/** Publishes a module version (zip, mod, info) as jf go-publish does; `padding` bytes of data in the zip. */
async function publish(baseUrl: string, module: string, version: string, padding = 0): Promise<void> {
  const files: Record<string, string> = { ...libraryFiles(module, version), ...(padding > 0 ? { 'data.txt': 'x'.repeat(padding) } : {}) }
  const zip = await moduleZip(module, version, files)
  for (const [ext, body] of [['zip', zip], ['mod', files['go.mod']!], ['info', JSON.stringify({ Version: version, Time: '2026-12-07T00:00:00Z' })]] as const) {
    const response = await fetch(`${baseUrl}${API}/up/${module}/@v/${version}.${ext}`, { method: 'PUT', body, headers: { authorization: ADMIN_AUTH } })
    const text = await response.text()
    if (response.status !== 201) throw new Error(`publish ${module}@${version}.${ext}: ${response.status} ${text}`)
  }
}

async function fetchBody(agent: Agent, url: string): Promise<Buffer> {
  const response = await request(url, { dispatcher: agent })
  const body = Buffer.from(await response.body.arrayBuffer())
  if (response.statusCode !== 200) throw new Error(`GET ${url}: ${response.statusCode}`)
  return body
}

