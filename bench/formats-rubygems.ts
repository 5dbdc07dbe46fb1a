/**
 * RubyGems' part of the formats suite of `npm run bench` (issue 17's benchmark), two Trove
 * processes on 127.0.0.1:
 *
 * 1. Requests/s of `info/big` (the compact index document bundler asks for each gem) of a gem
 *    with 200 versions in a local repository, against the static ceiling (bench/formats-shared.ts).
 * 2. `bundle install` (Debian's bundler) of a Gemfile of 20 gems, each run on a fresh machine (its
 *    own HOME, GEM_HOME and bundle path, no default source: Trove the only one), straight from
 *    the upstream (the first Trove's local repository) and through a warm RubyGems remote of it
 *    on the second Trove (one cold run first fills its cache), interleaved, medians, and the ratio
 *    remote/direct (target ≤ 1.0).
 *
 * The repositories allow anonymous reads, so bundler sends no credentials (as go, cargo and
 * composer send none here). The bundler part is skipped, saying why, when bundle is missing.
 * `BENCH_FORMATS_ROUNDS`, `BENCH_FORMATS_SECONDS` and `BENCH_FORMATS_INSTALL_ROUNDS` as for Go.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gemOf } from '../test/helpers/gem-archives.js'
import { GemHome } from '../test/helpers/rubygems.js'
import { clientVersion, documentAgainstCeiling, installDirectVsRemote, timed } from './formats-shared.js'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, startTroveProcess, troveCommand } from './processes.js'
import { positiveInteger } from './report.js'
import { call, createAgent } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_FORMATS_ROUNDS', 3)
const INSTALL_ROUNDS = positiveInteger('BENCH_FORMATS_INSTALL_ROUNDS', 5)
const SECONDS = positiveInteger('BENCH_FORMATS_SECONDS', 5)
const CONCURRENCY = 16
const VERSIONS = 200
const GEMS = 20
const API = '/artifactory/api/gems'

export async function rubygemsFormatBench({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== formats: RubyGems — info document of a ${VERSIONS}-version gem (requests/s) against a static server; bundle install of ${GEMS} gems, direct vs a warm remote`)
  await mkdir(workDir, { recursive: true })
  const trove = await troveCommand()
  const start = async (name: string, extra: Record<string, string> = {}) =>
    track(await startTroveProcess({ name, args: trove.args, dataDir: join(workDir, `${name}-data`), env: extra }))
  const upstream = await start('gems-upstream')
  const proxy = await start('gems-proxy', { TROVE_ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' })
  const agent = track(createAgent())
  await call(agent, 'PUT', `${upstream.url}/artifactory/api/repositories/up`, ADMIN_AUTH, { rclass: 'local', packageType: 'gems', anonymousRead: true })
  await call(agent, 'PUT', `${proxy.url}/artifactory/api/repositories/remote`, ADMIN_AUTH, { rclass: 'remote', packageType: 'gems', url: `${upstream.url}${API}/up`, anonymousRead: true })
  console.log(`Trove from ${trove.label}; ${ROUNDS} rounds`)

  // --- 1. info/big of one gem with 200 versions, against the same bytes from a static server.
  process.stdout.write(`pushing ${VERSIONS} versions of big… `)
  const begun = performance.now()
  for (let i = 0; i < VERSIONS; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, VERSIONS - i) }, (_, j) => push(upstream.url, 'big', `1.${i + j}.0`)))
  }
  console.log(`${((performance.now() - begun) / 1000).toFixed(1)} s`)
  await documentAgainstCeiling({ workDir, track, report }, agent, {
    name: 'gems-info',
    url: `${upstream.url}${API}/up/info/big`,
    pid: upstream.pid,
    caption: `RubyGems info/big (${VERSIONS} versions)`,
    rounds: ROUNDS,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
  })

  // --- 2. bundle install of a Gemfile of 20 gems.
  const bundler = await clientVersion(async () => {
    const home = await GemHome.create()
    try {
      const run = await home.run('bundle', ['--version'])
      if (run.code !== 0) throw new Error(run.output)
      return run.stdout.trim()
    } finally {
      await home.remove()
    }
  }, 'bundle')
  if (typeof bundler !== 'string') {
    report.note(`\nbundle install: SKIPPED: ${bundler.missing}`)
  } else {
    const names = Array.from({ length: GEMS }, (_, i) => `bench_lib_${String(i).padStart(2, '0')}`)
    process.stdout.write(`\nbuilding (gem build) and pushing ${GEMS} gems… `)
    const builder = await GemHome.create()
    try {
      for (const name of names) {
        const built = await builder.build(name, '1.0.0', name, [], 64 * 1024)
        await pushBytes(upstream.url, name, built.version, built.bytes)
      }
    } finally {
      await builder.remove()
    }
    console.log('done')
    const install = async (url: string, pid: number) => {
      const home = await GemHome.create()
      try {
        const project = home.path('project')
        await mkdir(project, { recursive: true })
        await writeFile(join(project, 'Gemfile'), `source "${url}/"\n\n${names.map((name) => `gem "${name}", "1.0.0"`).join('\n')}\n`)
        return await timed(pid, async () => {
          const run = await home.run('bundle', ['install'], { cwd: project })
          if (run.code !== 0) throw new Error(`bundle install from ${url} failed:\n${run.output}`)
        })
      } finally {
        await home.remove()
      }
    }
    await installDirectVsRemote(report, {
      pids: [upstream.pid, proxy.pid],
      what: 'bundle install',
      caption: `bundle install of ${GEMS} gems (${bundler}), fresh GEM_HOME and bundle path each run`,
      rounds: INSTALL_ROUNDS,
      direct: () => install(`${upstream.url}${API}/up`, upstream.pid),
      remote: () => install(`${proxy.url}${API}/remote`, proxy.pid),
    })
    report.note('RubyGems: the remote re-checks an index document after retrievalCachePeriodSecs (2 hours by default) and keeps .gem files for good: a warm run asks no upstream.')
  }
  await proxy.stop()
  await upstream.stop()
}

/**
 * Pushes a minimal `name`-`version` (enough for the indexes, not for installing: the install part
 * pushes gems that `gem build` made).
 */
async function push(baseUrl: string, name: string, version: string): Promise<void> {
  await pushBytes(baseUrl, name, version, await gemOf(name, version, [{ name: `lib/${name}.rb`, body: Buffer.from('module Bench\nend\n') }]))
}

/** `POST api/v1/gems` with the .gem as the body, as `gem push` sends it. */
async function pushBytes(baseUrl: string, name: string, version: string, gem: Buffer): Promise<void> {
  const response = await fetch(`${baseUrl}${API}/up/api/v1/gems`, { method: 'POST', body: gem, headers: { authorization: ADMIN_AUTH, 'content-type': 'application/octet-stream' } })
  const text = await response.text()
  if (response.status >= 300) throw new Error(`gem push of ${name} ${version}: ${response.status} ${text}`)
}
