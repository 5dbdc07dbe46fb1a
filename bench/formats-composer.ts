/**
 * Composer's part of the formats suite of `npm run bench` (issue 17's benchmark), two Trove
 * processes on 127.0.0.1:
 *
 * 1. Requests/s of `p2/acme/big.json` (Composer 2's per-package metadata document, the one
 *    `composer install` asks for each package) of a package with 200 versions in a local
 *    repository, against the static ceiling (bench/formats-shared.ts).
 * 2. `composer install` (Debian's composer) of a project requiring 20 packages, without a lock
 *    file (so the client reads each package's p2 document and downloads each dist), each run on a
 *    fresh machine (its own HOME, COMPOSER_HOME and an empty cache; the default public repository
 *    disabled, Trove the only repository), straight from the upstream (the first Trove's local
 *    repository) and through a warm Composer remote of it on the second Trove, whose metadata
 *    points dists at itself (one cold run first fills its cache), interleaved, medians, and the
 *    ratio remote/direct (target ≤ 1.0).
 *
 * The repositories allow anonymous reads, so the project has no auth.json (as go and cargo send no
 * credentials here). The composer part is skipped, saying why, when composer is missing.
 * `BENCH_FORMATS_ROUNDS`, `BENCH_FORMATS_SECONDS` and `BENCH_FORMATS_INSTALL_ROUNDS` as for Go.
 */
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ComposerMachine, composerPackage, runProgram } from '../test/helpers/composer.js'
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
const PACKAGES = 20
const API = '/artifactory/api/composer'

export async function composerFormatBench({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== formats: Composer — p2 document of a ${VERSIONS}-version package (requests/s) against a static server; composer install of ${PACKAGES} packages, direct vs a warm remote`)
  await mkdir(workDir, { recursive: true })
  const trove = await troveCommand()
  const start = async (name: string, extra: Record<string, string> = {}) =>
    track(await startTroveProcess({ name, args: trove.args, dataDir: join(workDir, `${name}-data`), env: extra }))
  const upstream = await start('composer-upstream')
  const proxy = await start('composer-proxy', { TROVE_ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' })
  const agent = track(createAgent())
  await call(agent, 'PUT', `${upstream.url}/artifactory/api/repositories/up`, ADMIN_AUTH, { rclass: 'local', packageType: 'composer', anonymousRead: true })
  await call(agent, 'PUT', `${proxy.url}/artifactory/api/repositories/remote`, ADMIN_AUTH, { rclass: 'remote', packageType: 'composer', url: `${upstream.url}${API}/up`, anonymousRead: true })
  console.log(`Trove from ${trove.label}; ${ROUNDS} rounds`)

  // --- 1. p2 document of one package with 200 versions, against the same bytes from a static server.
  process.stdout.write(`deploying ${VERSIONS} versions of acme/big… `)
  const begun = performance.now()
  for (let i = 0; i < VERSIONS; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, VERSIONS - i) }, (_, j) => deploy(upstream.url, 'acme/big', `1.${i + j}.0`)))
  }
  console.log(`${((performance.now() - begun) / 1000).toFixed(1)} s`)
  await documentAgainstCeiling({ workDir, track, report }, agent, {
    name: 'composer-p2',
    url: `${upstream.url}${API}/up/p2/acme/big.json`,
    pid: upstream.pid,
    caption: `Composer p2/acme/big.json (${VERSIONS} versions)`,
    rounds: ROUNDS,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
  })

  // --- 2. composer install of a project requiring 20 packages.
  const composer = await clientVersion(async () => {
    const run = await runProgram('composer', ['--version', '--no-ansi'])
    if (run.code !== 0) throw new Error(run.output)
    return run.output
  }, 'composer')
  if (typeof composer !== 'string') {
    report.note(`\ncomposer install: SKIPPED: ${composer.missing}`)
  } else {
    const names = Array.from({ length: PACKAGES }, (_, i) => `acme/bench-lib-${String(i).padStart(2, '0')}`)
    process.stdout.write(`\ndeploying ${PACKAGES} packages… `)
    await Promise.all(names.map((name) => deploy(upstream.url, name, '1.0.0', 64 * 1024)))
    console.log('done')
    let runs = 0
    const install = async (url: string, pid: number) => {
      const machine = await ComposerMachine.create('trove-bench-composer-')
      try {
        const composerJson = {
          name: 'bench/project',
          repositories: [{ type: 'composer', url }, { packagist: false }],
          require: Object.fromEntries(names.map((name) => [name, '^1.0'])),
          config: { 'secure-http': false },
        }
        const project = await machine.project(`project-${runs++}`, { 'composer.json': JSON.stringify(composerJson) })
        return await timed(pid, async () => {
          const run = await machine.composer(['install', '--no-progress', '--no-scripts'], project)
          if (run.code !== 0) throw new Error(`composer install from ${url} failed:\n${run.output}`)
        })
      } finally {
        await machine.close()
      }
    }
    await installDirectVsRemote(report, {
      pids: [upstream.pid, proxy.pid],
      what: 'composer install',
      caption: `composer install of ${PACKAGES} packages (${composer}), no lock file, empty cache each run`,
      rounds: INSTALL_ROUNDS,
      direct: () => install(`${upstream.url}${API}/up`, upstream.pid),
      remote: () => install(`${proxy.url}${API}/remote`, proxy.pid),
    })
    report.note('Composer: the remote re-checks a p2 document after retrievalCachePeriodSecs (2 hours by default) and keeps dists for good: a warm run asks no upstream.')
  }
  await proxy.stop()
  await upstream.stop()
}

/** Deploys a package zip (the version from its composer.json) as `curl -T` does; `padding` adds incompressible bytes. */
async function deploy(baseUrl: string, name: string, version: string, padding = 0): Promise<void> {
  const extra = padding > 0 ? [{ name: 'data.bin', data: randomBytes(padding) }] : []
  await putAs(`${baseUrl}${API}/up/${name.replace('/', '-')}-${version}.zip`, composerPackage({ name, version, extra }), ADMIN_AUTH)
}
