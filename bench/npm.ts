/**
 * The npm suite of `npm run bench` (issue 4's quality bar): packument GET of a package with 200
 * versions from Trove's npm local repository against Verdaccio serving the same package, and
 * against a static server sending Trove's own packument bytes from memory (the ceiling).
 *
 * Verdaccio 6.8.0 (its `node-fetch` pinned to 2.7.0 by `overrides`) is installed from the npm
 * registry npm is configured with into `bench/.tools/verdaccio` (gitignored) when missing (the
 * suite is skipped, saying why, when that fails), and started here on 127.0.0.1 with fresh
 * storage, no uplinks and anonymous access; Trove runs as a child too, with a local npm
 * repository that allows anonymous read. The same 200 publish bodies (one small tarball each)
 * are PUT to both.
 *
 * Each measurement: 64 keep-alive connections (an undici Pool) GET the packument as fast as it
 * is answered, for a fixed time, the full JSON or the abbreviated
 * (`Accept: application/vnd.npm.install-v1+json`) form; every answer must be a 200 of the
 * expected size. No `Accept-Encoding`: every server sends identity bodies. Rounds are interleaved,
 * the order reversed every round; medians of requests/s, p99 latency over all rounds' requests.
 * Target: Trove ≥ 10× Verdaccio's requests/s. Timing never fails the run.
 *
 * `BENCH_ROUNDS` sets the number of rounds (default 3), `BENCH_NPM_SECS` the length of one
 * measurement (default 3). `BENCH_TROVE_CPU_PROF=<dir>` runs Trove with `node --cpu-prof` and
 * writes its profile to that folder when it stops.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { Pool } from 'undici'
import { npmPackage } from '../test/helpers/npm.js'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, ROOT, ServerProcess, childEnv, cpuSeconds, freePort, startTroveProcess, troveCommand } from './processes.js'
import { startNginx } from './nginx.js'
import { median, positiveInteger, range } from './report.js'

const VERDACCIO_VERSION = '6.8.0'
const VERDACCIO_DIR = join(ROOT, 'bench', '.tools', 'verdaccio')
const INSTALL_TIMEOUT_MS = 300_000

const ROUNDS = positiveInteger('BENCH_ROUNDS', 3)
const SECONDS = positiveInteger('BENCH_NPM_SECS', 3)
const CONNECTIONS = 64
const VERSIONS = 200
const TARGET_RATIO = 10
/** Issue 22: Trove at least this share of nginx sending the same bytes. */
const NGINX_TARGET_RATIO = 0.3

const REPO = 'bench-npm'
const PACKAGE = 'trove-bench-package'
const ABBREVIATED = 'application/vnd.npm.install-v1+json'

type Server = 'verdaccio' | 'trove' | 'static' | 'nginx'
type Form = 'full' | 'abbreviated'
/** What is measured: a server and a document form; `trove-token` is Trove with a bearer token. */
type Target = Server | 'trove-token'
const TARGETS: readonly Target[] = ['verdaccio', 'trove', 'trove-token', 'static', 'nginx']
const FORMS: readonly Form[] = ['full', 'abbreviated']

interface Endpoint {
  readonly pool: Pool
  readonly path: string
  readonly pid: number
  readonly headers: Record<string, string>
  /** Size of the answer, from a probe: every answer must have it. */
  readonly bytes: number
  readonly contentType: string
}

interface Round {
  readonly perSecond: number
  /** Server CPU time per request, µs. */
  readonly cpuMicros: number
  readonly latencies: Float64Array
}

const execFileAsync = promisify(execFile)

export async function npmSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== npm: Trove against Verdaccio ${VERDACCIO_VERSION}, packument of a package with ${VERSIONS} versions`)
  await mkdir(workDir, { recursive: true })
  const verdaccioBin = await ensureVerdaccio()
  if ('missing' in verdaccioBin) {
    report.note(`SKIPPED: ${verdaccioBin.missing}`)
    return
  }
  const trove = await troveCommand()
  const profileDir = process.env.BENCH_TROVE_CPU_PROF ? resolve(process.env.BENCH_TROVE_CPU_PROF) : undefined
  console.log(`Trove from ${trove.label}; ${ROUNDS} rounds of ${SECONDS} s per measurement; ${CONNECTIONS} keep-alive connections`)

  // ---- the servers ----
  const verdaccioPort = await freePort()
  const verdaccioConfig = join(workDir, 'verdaccio.yaml')
  await writeFile(verdaccioConfig, verdaccioConfigYaml(workDir))
  const verdaccio = track(
    await ServerProcess.start('verdaccio', [verdaccioBin.path, '--config', verdaccioConfig, '--listen', `127.0.0.1:${verdaccioPort}`], childEnv({}), verdaccioPort, '/-/ping', {
      echoStderr: false,
    }),
  )

  const troveArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...trove.args] : trove.args
  const troveServer = track(await startTroveProcess({ args: troveArgs, dataDir: join(workDir, 'trove-data') }))
  const pools = new Map<string, Pool>()
  const poolFor = (url: string) => {
    let pool = pools.get(url)
    if (!pool) pools.set(url, (pool = track(new Pool(url, { connections: CONNECTIONS, pipelining: 1 }))))
    return pool
  }
  const trovePool = poolFor(troveServer.url)
  const verdaccioPool = poolFor(verdaccio.url)
  await call(trovePool, 'PUT', `/artifactory/api/repositories/${REPO}`, ADMIN_AUTH, { rclass: 'local', packageType: 'npm', anonymousRead: true })
  // What `npm install` with `_authToken` in .npmrc sends, for the token row.
  const token = (await call(trovePool, 'POST', '/access/api/v1/tokens', ADMIN_AUTH, { description: 'bench' })) as { access_token: string }

  // ---- the same package in both ----
  process.stdout.write(`publishing ${VERSIONS} versions of ${PACKAGE} to both… `)
  const troveRegistry = `/artifactory/api/npm/${REPO}`
  const published: Record<'verdaccio' | 'trove', number> = { verdaccio: 0, trove: 0 }
  for (let i = 0; i < VERSIONS; i++) {
    const body = JSON.stringify((await npmPackage(packageJson(i), { 'index.js': `module.exports = ${i}\n` })).body)
    let started = performance.now()
    await call(trovePool, 'PUT', `${troveRegistry}/${PACKAGE}`, ADMIN_AUTH, body)
    published.trove += performance.now() - started
    started = performance.now()
    await call(verdaccioPool, 'PUT', `/${PACKAGE}`, undefined, body)
    published.verdaccio += performance.now() - started
  }
  console.log(`Verdaccio ${(published.verdaccio / 1000).toFixed(1)} s, Trove ${(published.trove / 1000).toFixed(1)} s`)

  // ---- the static ceiling: Trove's own bytes ----
  const endpoints = new Map<string, Endpoint>()
  const key = (target: Target, form: Form) => `${target}/${form}`
  const accept = (form: Form) => (form === 'abbreviated' ? { accept: ABBREVIATED } : { accept: 'application/json' })
  const staticServers: Partial<Record<Form, ServerProcess>> = {}
  const nginxServers: Partial<Record<Form, ServerProcess>> = {}
  for (const form of FORMS) {
    const troveBody = await probe(trovePool, `${troveRegistry}/${PACKAGE}`, accept(form))
    const file = join(workDir, `packument-${form}.json`)
    await writeFile(file, troveBody.body)
    const port = await freePort()
    staticServers[form] = track(await ServerProcess.start(`static-${form}`, ['--import', 'tsx', 'bench/static-file-server.ts', file, String(port), 'memory'], childEnv({}), port, '/ready'))
    nginxServers[form] = track(await startNginx(workDir, `packument-${form}`, file, troveBody.contentType))
  }

  for (const form of FORMS) {
    const sources: Record<Target, { pool: Pool; path: string; pid: number; headers: Record<string, string> }> = {
      verdaccio: { pool: verdaccioPool, path: `/${PACKAGE}`, pid: verdaccio.pid, headers: accept(form) },
      trove: { pool: trovePool, path: `${troveRegistry}/${PACKAGE}`, pid: troveServer.pid, headers: accept(form) },
      'trove-token': { pool: trovePool, path: `${troveRegistry}/${PACKAGE}`, pid: troveServer.pid, headers: { ...accept(form), authorization: `Bearer ${token.access_token}` } },
      static: { pool: poolFor(staticServers[form]!.url), path: `/${PACKAGE}`, pid: staticServers[form]!.pid, headers: accept(form) },
      nginx: { pool: poolFor(nginxServers[form]!.url), path: '/document', pid: nginxServers[form]!.pid, headers: accept(form) },
    }
    for (const target of TARGETS) {
      const source = sources[target]
      const answer = await probe(source.pool, source.path, source.headers)
      const document = JSON.parse(answer.body.toString('utf8')) as { versions?: Record<string, unknown> }
      const versions = Object.keys(document.versions ?? {}).length
      if (versions !== VERSIONS) throw new Error(`${target} (${form}) lists ${versions} versions, not ${VERSIONS}`)
      endpoints.set(key(target, form), { ...source, bytes: answer.body.length, contentType: answer.contentType })
    }
  }
  console.log(
    'documents: ' +
      FORMS.map((form) => {
        const sizes = (['verdaccio', 'trove'] as const).map((t) => {
          const e = endpoints.get(key(t, form))!
          return `${t} ${(e.bytes / 1024).toFixed(1)} KiB (${e.contentType})`
        })
        return `${form}: ${sizes.join(', ')}`
      }).join('; '),
  )

  // ---- packument GET ----
  const measure = async (target: Target, form: Form, seconds: number): Promise<Round> => {
    const endpoint = endpoints.get(key(target, form))!
    const cpuBefore = await cpuSeconds(endpoint.pid)
    const { requests, elapsed, latencies } = await hammer(endpoint, seconds)
    return { perSecond: requests / elapsed, cpuMicros: (((await cpuSeconds(endpoint.pid)) - cpuBefore) / requests) * 1e6, latencies }
  }
  for (const form of FORMS) for (const target of TARGETS) await measure(target, form, 1) // warm-up: connections, JIT, caches
  const rounds = new Map<string, Round[]>(FORMS.flatMap((form) => TARGETS.map((target) => [key(target, form), []])))
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse()
    const figures: string[] = []
    for (const form of FORMS) {
      for (const target of order) rounds.get(key(target, form))!.push(await measure(target, form, SECONDS))
      figures.push(`${form}: ${TARGETS.map((t) => `${t} ${rounds.get(key(t, form))!.at(-1)!.perSecond.toFixed(0)}`).join(', ')}`)
    }
    console.log(`round ${round + 1}/${ROUNDS}: ${figures.join('; ')} req/s`)
  }

  await Promise.all([...pools.values()].map((p) => p.close()))
  await troveServer.stop()
  await verdaccio.stop()
  for (const server of [...Object.values(staticServers), ...Object.values(nginxServers)]) await server.stop()

  // ---- report ----
  const rate = (target: Target, form: Form) => median(rounds.get(key(target, form))!.map((r) => r.perSecond))
  const p99 = (target: Target, form: Form) => percentile(rounds.get(key(target, form))!.map((r) => r.latencies), 0.99)
  const cpu = (target: Target, form: Form) => median(rounds.get(key(target, form))!.map((r) => r.cpuMicros))
  const verdict = (ratio: number) => (ratio >= TARGET_RATIO ? 'PASS' : 'MISS')
  report.table(`Packument GET of ${PACKAGE} (${VERSIONS} versions), requests/s: median of ${ROUNDS} rounds`, [
    ['document', 'verdaccio', 'trove', 'trove (token)', 'static', 'nginx', 'trove/verdaccio', 'target', 'result', 'trove/static', 'trove/nginx', 'target', 'result', 'verdaccio range', 'trove range'],
    ...FORMS.map((form) => {
      const ratio = rate('trove', form) / rate('verdaccio', form)
      return [
        form,
        rate('verdaccio', form).toFixed(0),
        rate('trove', form).toFixed(0),
        rate('trove-token', form).toFixed(0),
        rate('static', form).toFixed(0),
        rate('nginx', form).toFixed(0),
        ratio.toFixed(1),
        `≥ ${TARGET_RATIO}`,
        verdict(ratio),
        (rate('trove', form) / rate('static', form)).toFixed(2),
        (rate('trove', form) / rate('nginx', form)).toFixed(2),
        `≥ ${NGINX_TARGET_RATIO}`,
        rate('trove', form) / rate('nginx', form) >= NGINX_TARGET_RATIO ? 'PASS' : 'MISS',
        range(rounds.get(key('verdaccio', form))!.map((r) => r.perSecond)),
        range(rounds.get(key('trove', form))!.map((r) => r.perSecond)),
      ]
    }),
  ])
  report.table(`p99 latency (ms) over all rounds' requests, ${CONNECTIONS} in flight; the server process's CPU time per request (µs)`, [
    ['document', 'p99 verdaccio', 'p99 trove', 'p99 trove (token)', 'p99 static', 'p99 nginx', 'CPU verdaccio', 'CPU trove', 'CPU trove (token)', 'CPU static', 'CPU nginx (master only)'],
    ...FORMS.map((form) => [
      form,
      ...TARGETS.map((t) => p99(t, form).toFixed(1)),
      ...TARGETS.map((t) => cpu(t, form).toFixed(0)),
    ]),
  ])
  report.note(
    `\nServer CPU per request, verdaccio/trove (less sensitive to a busy machine than requests/s): ` +
      FORMS.map((form) => `${form} ${(cpu('verdaccio', form) / cpu('trove', form)).toFixed(0)}×`).join(', '),
  )
  report.note(
    `Verdaccio and Trove's 'trove' rows are anonymous reads (Verdaccio: access $all; Trove: a repository with anonymous read);` +
      ` 'trove (token)' sends an access token on every request, as npm does with _authToken in .npmrc. The static server sends` +
      ` Trove's bytes, read from a file once, from memory (node:http, response.end(buffer)); nginx sends them from the file (sendfile, one worker per CPU). No compression anywhere.`,
  )
  if (profileDir) console.log(`Trove's CPU profile is in ${profileDir}`)
}

/** Installs Verdaccio into the bench tool folder unless the pinned version is there; returns its bin script or why not. */
export async function ensureVerdaccio(): Promise<{ path: string } | { missing: string }> {
  const bin = join(VERDACCIO_DIR, 'node_modules', 'verdaccio', 'bin', 'verdaccio')
  const installed = async () => {
    try {
      const pkg = JSON.parse(await readFile(join(VERDACCIO_DIR, 'node_modules', 'verdaccio', 'package.json'), 'utf8')) as { version: string }
      return existsSync(bin) && pkg.version === VERDACCIO_VERSION
    } catch {
      return false
    }
  }
  if (await installed()) return { path: bin }
  process.stdout.write(`installing verdaccio@${VERDACCIO_VERSION} into ${VERDACCIO_DIR}… `)
  await mkdir(VERDACCIO_DIR, { recursive: true })
  const manifest = {
    name: 'trove-bench-verdaccio',
    private: true,
    description: 'Verdaccio for npm run bench (generated)',
    dependencies: { verdaccio: VERDACCIO_VERSION },
    overrides: { 'node-fetch': '2.7.0' },
  }
  await writeFile(join(VERDACCIO_DIR, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  try {
    // The registry npm is configured with; none of the npm_* variables of an `npm run` above us.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'INIT_CWD'))
    await execFileAsync('npm', ['install', '--prefix', VERDACCIO_DIR, '--no-package-lock', '--no-audit', '--no-fund', '--omit=dev'], {
      env,
      timeout: INSTALL_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    })
  } catch (err) {
    console.log('failed')
    const reason = ((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n').slice(-5).join('\n')
    return { missing: `verdaccio@${VERDACCIO_VERSION} could not be installed into ${VERDACCIO_DIR}:\n${reason}` }
  }
  if (!(await installed())) return { missing: `verdaccio@${VERDACCIO_VERSION} did not install into ${VERDACCIO_DIR}` }
  console.log('done')
  return { path: bin }
}

/** Verdaccio with storage under `dir`, no uplinks, anyone may read and publish, errors only in its log. */
function verdaccioConfigYaml(dir: string): string {
  return [
    `storage: ${JSON.stringify(join(dir, 'verdaccio-storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(join(dir, 'verdaccio-htpasswd'))}`,
    '    max_users: -1',
    'uplinks: {}',
    'packages:',
    "  '**':",
    '    access: $all',
    '    publish: $all',
    '    unpublish: $all',
    'web:',
    '  enable: false',
    'max_body_size: 64mb',
    'log:',
    '  type: stdout',
    '  format: json',
    '  level: error',
    '',
  ].join('\n')
}

/** A version's package.json: small, with what real ones have (dependencies, scripts, repository). */
function packageJson(index: number): Record<string, unknown> {
  return {
    name: PACKAGE,
    version: `1.${Math.floor(index / 20)}.${index % 20}`,
    description: 'A package the Trove benchmark publishes 200 versions of',
    main: 'index.js',
    license: 'MIT',
    author: 'Trove bench <bench@example.invalid>',
    keywords: ['trove', 'bench'],
    repository: { type: 'git', url: 'git+https://example.invalid/trove/bench-package.git' },
    scripts: { test: 'node index.js' },
    dependencies: { 'left-pad': '^1.3.0', semver: '^7.6.0' },
    engines: { node: '>=18' },
  }
}

/** A request whose answer must be a success; JSON answers parsed. */
async function call(pool: Pool, method: 'PUT' | 'POST', path: string, authorization: string | undefined, body: unknown): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (authorization) headers.authorization = authorization
  const response = await pool.request({ path, method, headers, body: typeof body === 'string' ? body : JSON.stringify(body) })
  const text = await response.body.text()
  if (response.statusCode >= 300) throw new Error(`${method} ${path}: ${response.statusCode} ${text.slice(0, 500)}`)
  return response.headers['content-type']?.includes('json') ? JSON.parse(text) : text
}

async function probe(pool: Pool, path: string, headers: Record<string, string>): Promise<{ body: Buffer; contentType: string }> {
  const response = await pool.request({ path, method: 'GET', headers })
  const body = Buffer.from(await response.body.arrayBuffer())
  if (response.statusCode !== 200) throw new Error(`GET ${path}: ${response.statusCode} ${body.toString().slice(0, 500)}`)
  return { body, contentType: String(response.headers['content-type']).split(';')[0]! }
}

/**
 * {@link CONNECTIONS} clients GET the endpoint in a loop on its pool's keep-alive connections
 * until `seconds` have passed, each answer counted and dropped; latency is from the request to the
 * last byte.
 */
async function hammer(endpoint: Endpoint, seconds: number): Promise<{ requests: number; elapsed: number; latencies: Float64Array }> {
  const { pool, path, headers, bytes } = endpoint
  let latencies = new Float64Array(65536)
  let requests = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const sent = performance.now()
        const response = await pool.request({ path, method: 'GET', headers })
        let received = 0
        for await (const chunk of response.body) received += (chunk as Buffer).length
        if (response.statusCode !== 200 || received !== bytes) throw new Error(`GET ${path}: ${response.statusCode}, ${received} bytes (expected ${bytes})`)
        if (requests === latencies.length) {
          const grown = new Float64Array(latencies.length * 2)
          grown.set(latencies)
          latencies = grown
        }
        latencies[requests++] = performance.now() - sent
      }
    }),
  )
  return { requests, elapsed: (performance.now() - started) / 1000, latencies: latencies.subarray(0, requests) }
}

/** The `p` quantile (0–1) of all samples together. */
function percentile(samples: readonly Float64Array[], p: number): number {
  const all = new Float64Array(samples.reduce((n, s) => n + s.length, 0))
  let offset = 0
  for (const s of samples) {
    all.set(s, offset)
    offset += s.length
  }
  all.sort()
  return all[Math.min(all.length - 1, Math.floor(p * all.length))] ?? Number.NaN
}
