/**
 * The npm-install suite of `npm run bench` (issue 5's quality bar): `npm install` of a realistic
 * project (bench/fixtures/npm-project: 13 direct dependencies, about 150 packages) with an empty
 * npm cache, through
 *
 * - `direct`: the npm registry this machine is configured for (`npm config get registry`, read at
 *   run time: no host name is written anywhere),
 * - `trove`: a Trove npm remote repository whose upstream is that registry, cold (empty cache)
 *   then warm (everything cached),
 * - `verdaccio`: Verdaccio proxying the same registry (an uplink), cold then warm,
 *
 * all in the same run. Every round starts Trove and Verdaccio afresh with empty storage, so that
 * each round has a real cold install; the order of Trove and Verdaccio is swapped every round and
 * the direct install runs between them. One direct install before the rounds warms the client and
 * the upstream's own caches and is not counted.
 *
 * Every install runs in a new folder with a new `--cache` folder, `--no-audit --no-fund
 * --ignore-scripts --no-package-lock`, and `--registry` pointing at the one measured, and must add
 * the same number of packages as the others. Both proxies keep packuments for 2 hours (Trove's
 * default `retrievalCachePeriodSecs`; Verdaccio's uplink `maxage` set to match), so a warm install
 * asks no upstream. Targets: Trove warm ≤ 0.9× Verdaccio warm and ≤ 1.0× direct; Trove cold ≤
 * 1.1× direct. Timing never fails the run.
 *
 * `BENCH_NPM_INSTALL_ROUNDS` sets the number of rounds (default 3). The suite is skipped, saying
 * why, when the registry does not answer or Verdaccio cannot be installed.
 */
import { execFile } from 'node:child_process'
import { cp, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ensureVerdaccio } from './npm.js'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, ROOT, ServerProcess, childEnv, cpuSeconds, freePort, startTroveProcess, troveCommand } from './processes.js'
import { median, positiveInteger, range } from './report.js'
import { call, createAgent } from './transfers.js'

const PROJECT = join(ROOT, 'bench', 'fixtures', 'npm-project')
const ROUNDS = positiveInteger('BENCH_NPM_INSTALL_ROUNDS', 3)
const INSTALL_TIMEOUT_MS = 600_000
/** Trove's default retrievalCachePeriodSecs, given to Verdaccio's uplink as its maxage too. */
const CACHE_PERIOD = '2h'

const TARGET_WARM_VS_VERDACCIO = 0.9
const TARGET_WARM_VS_DIRECT = 1.0
const TARGET_COLD_VS_DIRECT = 1.1

const REPO = 'bench-npm-remote'

type Target = 'direct' | 'trove-cold' | 'trove-warm' | 'verdaccio-cold' | 'verdaccio-warm'
const TARGETS: readonly Target[] = ['direct', 'trove-cold', 'trove-warm', 'verdaccio-cold', 'verdaccio-warm']

interface Install {
  readonly seconds: number
  readonly packages: number
  /** CPU seconds the proxy's process spent during the install (undefined for direct). */
  readonly serverCpu: number | undefined
}

const execFileAsync = promisify(execFile)

export async function npmInstallSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== npm-install: npm install of bench/fixtures/npm-project, empty npm cache: direct, through Trove and through Verdaccio`)
  await mkdir(workDir, { recursive: true })
  const env = npmEnv()
  const upstream = await configuredRegistry(env)
  if ('missing' in upstream) {
    report.note(`SKIPPED: ${upstream.missing}`)
    return
  }
  const verdaccioBin = await ensureVerdaccio()
  if ('missing' in verdaccioBin) {
    report.note(`SKIPPED: ${verdaccioBin.missing}`)
    return
  }
  const { stdout: npmVersion } = await execFileAsync('npm', ['--version'], { env })
  const trove = await troveCommand()
  console.log(`upstream: the registry npm is configured for; npm ${npmVersion.trim()}; Trove from ${trove.label}; ${ROUNDS} rounds`)

  let installs = 0
  const install = async (registry: string, pid?: number): Promise<Install> => {
    const dir = join(workDir, `install-${installs++}`)
    await cp(PROJECT, join(dir, 'project'), { recursive: true })
    const cpuBefore = pid === undefined ? undefined : await cpuSeconds(pid)
    const started = performance.now()
    let stdout: string
    try {
      ;({ stdout } = await execFileAsync(
        'npm',
        ['install', '--registry', registry, '--cache', join(dir, 'cache'), '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--no-update-notifier'],
        { cwd: join(dir, 'project'), env, timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      ))
    } catch (err) {
      const stderr = ((err as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-15).join('\n')
      throw new Error(`npm install --registry ${redact(registry, upstream.url)} failed: ${(err as Error).message.split('\n')[0]}\n${redact(stderr, upstream.url)}`)
    }
    const seconds = (performance.now() - started) / 1000
    const serverCpu = pid === undefined || cpuBefore === undefined ? undefined : (await cpuSeconds(pid)) - cpuBefore
    const added = /added (\d+) packages?/.exec(stdout)
    if (!added) throw new Error(`npm install --registry ${redact(registry, upstream.url)} did not say how many packages it added:\n${stdout}`)
    await rm(dir, { recursive: true, force: true })
    return { seconds, packages: Number(added[1]), serverCpu }
  }

  const startTrove = async (round: number) => {
    const server = track(await startTroveProcess({ args: trove.args, dataDir: join(workDir, `trove-data-${round}`) }))
    const agent = createAgent()
    try {
      await call(agent, 'PUT', `${server.url}/artifactory/api/repositories/${REPO}`, ADMIN_AUTH, {
        rclass: 'remote',
        packageType: 'npm',
        url: upstream.url,
        anonymousRead: true,
      })
    } finally {
      await agent.close()
    }
    return { server, registry: `${server.url}/artifactory/api/npm/${REPO}/` }
  }
  const startVerdaccio = async (round: number) => {
    const port = await freePort()
    const dir = join(workDir, `verdaccio-${round}`)
    await mkdir(dir, { recursive: true })
    const config = join(dir, 'verdaccio.yaml')
    await writeFile(config, verdaccioProxyYaml(dir, upstream.url))
    const server = track(
      await ServerProcess.start('verdaccio', [verdaccioBin.path, '--config', config, '--listen', `127.0.0.1:${port}`], childEnv({}), port, '/-/ping', {
        echoStderr: false,
      }),
    )
    return { server, registry: `${server.url}/` }
  }

  process.stdout.write('warm-up: one direct install, not counted… ')
  const warmUp = await install(upstream.url)
  console.log(`${warmUp.seconds.toFixed(1)} s, ${warmUp.packages} packages`)

  const results = Object.fromEntries(TARGETS.map((t) => [t, [] as Install[]])) as Record<Target, Install[]>
  for (let round = 0; round < ROUNDS; round++) {
    const proxies = round % 2 === 0 ? (['trove', 'verdaccio'] as const) : (['verdaccio', 'trove'] as const)
    for (const [index, proxy] of proxies.entries()) {
      const { server, registry } = proxy === 'trove' ? await startTrove(round) : await startVerdaccio(round)
      results[`${proxy}-cold`].push(await install(registry, server.pid))
      results[`${proxy}-warm`].push(await install(registry, server.pid))
      await server.stop()
      if (index === 0) results.direct.push(await install(upstream.url))
    }
    console.log(`round ${round + 1}/${ROUNDS}: ${TARGETS.map((t) => `${t} ${results[t].at(-1)!.seconds.toFixed(1)}`).join(', ')} s`)
  }

  const counts = new Set(TARGETS.flatMap((t) => results[t].map((i) => i.packages)))
  if (counts.size !== 1) throw new Error(`the installs added different numbers of packages: ${[...counts].join(', ')}`)

  // ---- report ----
  const seconds = (t: Target) => median(results[t].map((i) => i.seconds))
  /** The median of each round's ratio: the two installs of a round ran under the same load. */
  const ratio = (a: Target, b: Target) => median(results[a].map((install, i) => install.seconds / results[b][i]!.seconds))
  const cpu = (t: Target) => (t === 'direct' ? '' : `${median(results[t].map((i) => i.serverCpu ?? 0)).toFixed(1)} s`)
  report.table(`npm install of ${[...counts][0]} packages, empty npm cache: medians of ${ROUNDS} rounds (s)`, [
    ['install', 'seconds', 'range', 'server CPU'],
    ...TARGETS.map((t) => [t, seconds(t).toFixed(2), range(results[t].map((i) => i.seconds), 2), cpu(t)]),
  ])
  const verdict = (value: number, target: number) => (value <= target ? 'PASS' : 'MISS')
  const rows: [string, Target, Target, number | undefined][] = [
    ['trove warm / verdaccio warm', 'trove-warm', 'verdaccio-warm', TARGET_WARM_VS_VERDACCIO],
    ['trove warm / direct', 'trove-warm', 'direct', TARGET_WARM_VS_DIRECT],
    ['trove cold / direct', 'trove-cold', 'direct', TARGET_COLD_VS_DIRECT],
    ['verdaccio warm / direct', 'verdaccio-warm', 'direct', undefined],
    ['verdaccio cold / direct', 'verdaccio-cold', 'direct', undefined],
    ['trove cold / verdaccio cold', 'trove-cold', 'verdaccio-cold', undefined],
  ]
  report.table(`ratios: the median of the rounds' ratios`, [
    ['ratio', 'value', 'target', 'result'],
    ...rows.map(([label, a, b, target]) => {
      const value = ratio(a, b)
      return [label, value.toFixed(3), target === undefined ? 'info' : `≤ ${target.toFixed(1)}`, target === undefined ? '' : verdict(value, target)]
    }),
  ])
  report.note(
    `\nEach install: a new folder and a new npm cache, --no-audit --no-fund --ignore-scripts --no-package-lock. Cold: the proxy` +
      `\nstarted with empty storage; warm: the same proxy right after. Server CPU: the proxy process's user + system time during the install.` +
      `\nThe npm client runs on the same machine as the proxies, so their CPU time competes with it.`,
  )
}

/** Our environment without the npm_* variables an `npm run` above us sets (they would override the flags' intent). */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'INIT_CWD' && !name.startsWith('TROVE_')))
}

/** The registry npm is configured for, with a trailing slash, once it answered a ping. */
async function configuredRegistry(env: NodeJS.ProcessEnv): Promise<{ url: string } | { missing: string }> {
  let url: string
  try {
    url = (await execFileAsync('npm', ['config', 'get', 'registry'], { env })).stdout.trim()
    new URL(url)
  } catch (err) {
    return { missing: `npm config get registry failed: ${(err as Error).message}` }
  }
  url = url.endsWith('/') ? url : `${url}/`
  try {
    const response = await fetch(new URL('-/ping', url), { signal: AbortSignal.timeout(15_000) })
    await response.arrayBuffer()
    if (response.status >= 500) return { missing: `the configured npm registry answered ${response.status} to a ping` }
  } catch (err) {
    return { missing: `the configured npm registry does not answer: ${(err as Error).message}` }
  }
  return { url }
}

/** Verdaccio proxying `upstream`: storage under `dir`, anyone may read, packuments kept as long as Trove keeps them. */
function verdaccioProxyYaml(dir: string, upstream: string): string {
  return [
    `storage: ${JSON.stringify(join(dir, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(join(dir, 'htpasswd'))}`,
    '    max_users: -1',
    'uplinks:',
    '  upstream:',
    `    url: ${JSON.stringify(upstream)}`,
    `    maxage: ${CACHE_PERIOD}`,
    '    timeout: 30s',
    'packages:',
    "  '**':",
    '    access: $all',
    '    publish: $all',
    '    proxy: upstream',
    'web:',
    '  enable: false',
    'log:',
    '  type: stdout',
    '  format: json',
    '  level: error',
    '',
  ].join('\n')
}

/** Error text with the upstream's address replaced: figures and logs name no registry host. */
function redact(text: string, upstream: string): string {
  return text.split(upstream).join('<configured registry>/').split(new URL(upstream).host).join('<configured registry>')
}
