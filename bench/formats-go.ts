/**
 * Go's part of the formats suite of `npm run bench` (issue 17's benchmark), two Trove processes on
 * 127.0.0.1:
 *
 * 1. Requests/s of `<module>/@v/list` (Go's hottest metadata document) for a module with 200
 *    versions in a local repository, against the static ceiling: a minimal Node server sending
 *    the same bytes from memory (bench/formats-shared.ts). 16 keep-alive clients for
 *    `BENCH_FORMATS_SECONDS` (default 5) per round, `BENCH_FORMATS_ROUNDS` (default 3) rounds,
 *    the two interleaved, medians of the rounds.
 * 2. `go mod download` (Debian's go, a fresh module cache each time, GOSUMDB off, GOFLAGS=-mod=mod)
 *    of a project needing 20 modules (each zip with 64 KiB of hardly compressible text), straight
 *    from the upstream (the first Trove's local repository) and through a warm Go remote of it on
 *    the second Trove (one cold run first fills its cache), `BENCH_FORMATS_INSTALL_ROUNDS`
 *    (default 5) interleaved rounds, medians, and the ratio remote/direct (target ≤ 1.0). A run
 *    takes about a second, so the ratio of one round swings widely on a busy machine.
 *
 * The repositories allow anonymous reads: go sends no credentials over plain http. The go part is
 * skipped, saying why, when go is missing. Timing never fails the run.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { libraryFiles, moduleZip } from '../test/helpers/go.js'
import type { SuiteContext } from './oci.js'
import { clientVersion, documentAgainstCeiling, installDirectVsRemote, timed } from './formats-shared.js'
import { ADMIN_AUTH, startTroveProcess, troveCommand } from './processes.js'
import { positiveInteger } from './report.js'
import { call, createAgent, putAs } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_FORMATS_ROUNDS', 3)
const INSTALL_ROUNDS = positiveInteger('BENCH_FORMATS_INSTALL_ROUNDS', 5)
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
  await documentAgainstCeiling({ workDir, track, report }, agent, {
    name: 'go-list',
    url: `${upstream.url}${API}/up/example.com/big/@v/list`,
    pid: upstream.pid,
    caption: `Go @v/list (${VERSIONS} versions)`,
    rounds: ROUNDS,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
  })

  // --- 2. go mod download of a project needing 20 modules.
  const go = await clientVersion(async () => (await execFileAsync('go', ['version'])).stdout, 'go')
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
      try {
        return await timed(pid, async () => {
          await execFileAsync('go', ['mod', 'download'], { cwd: project, env, timeout: 600_000 })
        })
      } finally {
        await execFileAsync('go', ['clean', '-modcache'], { cwd: project, env }).catch(() => undefined)
        await rm(home, { recursive: true, force: true })
      }
    }
    await installDirectVsRemote(report, {
      pids: [upstream.pid, proxy.pid],
      what: 'go mod download',
      caption: `go mod download of ${MODULES} modules (${go}), fresh module cache each run`,
      rounds: INSTALL_ROUNDS,
      direct: () => download(`${upstream.url}${API}/up`, upstream.pid),
      remote: () => download(`${proxy.url}${API}/remote`, proxy.pid),
    })
    report.note('Go: the remote re-checks each @v/list after retrievalCachePeriodSecs (2 hours by default): a warm run asks no upstream.')
  }
  await proxy.stop()
  await upstream.stop()
}

/** Publishes a module version (zip, mod, info) as jf go-publish does; `padding` bytes of hardly compressible text in the zip. */
async function publish(baseUrl: string, module: string, version: string, padding = 0): Promise<void> {
  const files: Record<string, string> = { ...libraryFiles(module, version), ...(padding > 0 ? { 'data.txt': randomBytes(padding).toString('base64').slice(0, padding) } : {}) }
  const zip = await moduleZip(module, version, files)
  for (const [ext, body] of [['zip', zip], ['mod', files['go.mod']!], ['info', JSON.stringify({ Version: version, Time: '2026-12-07T00:00:00Z' })]] as const) {
    await putAs(`${baseUrl}${API}/up/${module}/@v/${version}.${ext}`, body, ADMIN_AUTH)
  }
}
