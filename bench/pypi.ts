/**
 * The pypi suite of `npm run bench` (issue 6's quality bar), two Trove processes on 127.0.0.1:
 *
 * 1. Requests/s of `simple/<project>/` for a project with 300 files, in a local repository, as
 *    PEP 691 JSON and as PEP 503 HTML: 16 keep-alive clients for `BENCH_PYPI_SECONDS` (default 5)
 *    per round, the two representations interleaved, medians of the rounds.
 * 2. `pip download` (Debian's `/usr/bin/python3 -m pip`, `--no-cache-dir --no-deps
 *    --only-binary :all:`) of 30 packages (one wheel each), straight from the upstream (the first
 *    Trove's local repository) and through a warm PyPI remote of it on the second Trove (one cold
 *    download first fills its cache and is not counted), interleaved, medians, and the ratio
 *    remote/direct. The remote keeps pages for 2 hours (the default), so a warm download asks no
 *    upstream.
 *
 * `BENCH_PYPI_ROUNDS` sets the number of rounds (default 3). The pip part is skipped, saying why,
 * when pip is missing. Timing never fails the run.
 */
import { execFile } from 'node:child_process'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { request, type Agent } from 'undici'
import { buildWheel, PYTHON, type PythonDist } from '../test/helpers/python.js'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, cpuSeconds, startTroveProcess, troveCommand } from './processes.js'
import { median, positiveInteger, range } from './report.js'
import { call, createAgent } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_PYPI_ROUNDS', 3)
const SECONDS = positiveInteger('BENCH_PYPI_SECONDS', 5)
const CONCURRENCY = 16
const FILES = 300
const PACKAGES = 30
const API = '/artifactory/api/pypi'
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json'

const execFileAsync = promisify(execFile)

export async function pypiSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== pypi: simple/ page of a ${FILES}-file project (requests/s); pip download of ${PACKAGES} packages, direct vs through a warm remote`)
  await mkdir(workDir, { recursive: true })
  const trove = await troveCommand()
  const start = async (name: string, extra: Record<string, string> = {}) =>
    track(await startTroveProcess({ name, args: trove.args, dataDir: join(workDir, `${name}-data`), env: extra }))
  const upstream = await start('upstream')
  const proxy = await start('proxy', { TROVE_ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' })
  const agent = track(createAgent())
  await call(agent, 'PUT', `${upstream.url}/artifactory/api/repositories/up`, ADMIN_AUTH, { rclass: 'local', packageType: 'pypi', anonymousRead: true })
  await call(agent, 'PUT', `${proxy.url}/artifactory/api/repositories/remote`, ADMIN_AUTH, {
    rclass: 'remote',
    packageType: 'pypi',
    url: `${upstream.url}${API}/up`,
    anonymousRead: true,
  })
  console.log(`Trove from ${trove.label}; ${ROUNDS} rounds`)

  // --- 1. one project with 300 files: 300 versions of one wheel each.
  process.stdout.write(`uploading ${FILES} wheels of big-project… `)
  const uploadStarted = performance.now()
  for (let i = 0; i < FILES; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, FILES - i) }, async (_, j) => {
        const version = `1.${i + j}.0`
        await uploadWheel(upstream.url, 'up', await buildWheel({ name: 'big-project', version, requiresPython: '>=3.8' }), 'big-project', version)
      }),
    )
  }
  console.log(`${((performance.now() - uploadStarted) / 1000).toFixed(1)} s`)
  const pageUrl = `${upstream.url}${API}/up/simple/big-project/`
  const sizes = { json: await pageSize(agent, pageUrl, JSON_TYPE), html: await pageSize(agent, pageUrl, 'text/html') }
  const pages: Record<'json' | 'html', { rps: number[]; p99: number[]; cpu: number[] }> = {
    json: { rps: [], p99: [], cpu: [] },
    html: { rps: [], p99: [], cpu: [] },
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of round % 2 === 0 ? (['json', 'html'] as const) : (['html', 'json'] as const)) {
      const cpuBefore = await cpuSeconds(upstream.pid)
      const result = await hammer(agent, pageUrl, kind === 'json' ? JSON_TYPE : 'text/html', sizes[kind])
      pages[kind].rps.push(result.requests / result.seconds)
      pages[kind].p99.push(result.p99)
      pages[kind].cpu.push(((await cpuSeconds(upstream.pid)) - cpuBefore) / result.requests)
    }
    console.log(`round ${round + 1}/${ROUNDS}: json ${pages.json.rps.at(-1)!.toFixed(0)} req/s, html ${pages.html.rps.at(-1)!.toFixed(0)} req/s`)
  }
  report.table(`simple/big-project/ (${FILES} files), ${CONCURRENCY} keep-alive clients, ${SECONDS} s per round: medians of ${ROUNDS} rounds`, [
    ['page', 'bytes', 'requests/s', 'range', 'p99 ms', 'server CPU µs/request'],
    ...(['json', 'html'] as const).map((k) => [
      k,
      String(sizes[k]),
      median(pages[k].rps).toFixed(0),
      range(pages[k].rps),
      median(pages[k].p99).toFixed(1),
      (median(pages[k].cpu) * 1e6).toFixed(0),
    ]),
  ])

  // --- 2. pip download of 30 packages.
  const pip = await execFileAsync(PYTHON, ['-m', 'pip', '--version']).then(
    (r) => r.stdout.split(' ').slice(0, 2).join(' '),
    (err: unknown) => ({ missing: `${PYTHON} -m pip is not available: ${(err as Error).message.split('\n')[0]}` }),
  )
  if (typeof pip !== 'string') {
    report.note(`\npip download: SKIPPED: ${pip.missing}`)
  } else {
    process.stdout.write(`\nuploading ${PACKAGES} packages… `)
    const dists: PythonDist[] = []
    for (let i = 0; i < PACKAGES; i++) {
      const name = `bench-pkg-${String(i).padStart(2, '0')}`
      const dist = await buildWheel({ name, version: '1.0.0', padding: 64 * 1024 })
      dists.push(dist)
      await uploadWheel(upstream.url, 'up', dist, name, '1.0.0')
    }
    console.log('done')
    const names = dists.map((_, i) => `bench-pkg-${String(i).padStart(2, '0')}`)
    let runs = 0
    const download = async (indexUrl: string, pid: number) => {
      const dir = join(workDir, `pip-${runs++}`)
      const cpuBefore = await cpuSeconds(pid)
      const begun = performance.now()
      const { stdout } = await execFileAsync(
        PYTHON,
        ['-m', 'pip', 'download', '--no-cache-dir', '--no-deps', '--only-binary', ':all:', '--disable-pip-version-check', '-d', dir, '--index-url', indexUrl, ...names],
        { env: { ...process.env, PIP_CONFIG_FILE: '/dev/null', PIP_NO_INPUT: '1' }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
      )
      const seconds = (performance.now() - begun) / 1000
      const saved = (stdout.match(/^Saved /gm) ?? []).length
      if (saved !== PACKAGES) throw new Error(`pip download from ${indexUrl} saved ${saved} of ${PACKAGES} files:\n${stdout}`)
      await rm(dir, { recursive: true, force: true })
      return { seconds, cpu: (await cpuSeconds(pid)) - cpuBefore }
    }
    const directUrl = `${upstream.url}${API}/up/simple/`
    const remoteUrl = `${proxy.url}${API}/remote/simple/`
    const cold = await download(remoteUrl, proxy.pid)
    report.note(`cold download through the remote (fills its cache, not counted): ${cold.seconds.toFixed(2)} s`)
    const results = { direct: [] as { seconds: number; cpu: number }[], remote: [] as { seconds: number; cpu: number }[] }
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of round % 2 === 0 ? (['direct', 'remote'] as const) : (['remote', 'direct'] as const)) {
        results[target].push(target === 'direct' ? await download(directUrl, upstream.pid) : await download(remoteUrl, proxy.pid))
      }
      console.log(`round ${round + 1}/${ROUNDS}: direct ${results.direct.at(-1)!.seconds.toFixed(2)} s, warm remote ${results.remote.at(-1)!.seconds.toFixed(2)} s`)
    }
    const ratios = results.remote.map((r, i) => r.seconds / results.direct[i]!.seconds)
    report.table(`pip download of ${PACKAGES} packages (${pip}), --no-cache-dir: medians of ${ROUNDS} rounds`, [
      ['from', 'seconds', 'range', 'server CPU s'],
      ['upstream directly', median(results.direct.map((r) => r.seconds)).toFixed(2), range(results.direct.map((r) => r.seconds), 2), median(results.direct.map((r) => r.cpu)).toFixed(2)],
      ['warm remote', median(results.remote.map((r) => r.seconds)).toFixed(2), range(results.remote.map((r) => r.seconds), 2), median(results.remote.map((r) => r.cpu)).toFixed(2)],
    ])
    report.note(`\nratio warm remote / direct (median of the rounds' ratios): ${median(ratios).toFixed(2)}`)
    report.note('pip runs on the same machine as both servers; most of each download is pip itself (start-up, resolution).')
  }
  await proxy.stop()
  await upstream.stop()
}

async function uploadWheel(baseUrl: string, repo: string, dist: PythonDist, name: string, version: string): Promise<void> {
  const form = new FormData()
  for (const [key, value] of Object.entries({ ':action': 'file_upload', protocol_version: '1', name, version, filetype: 'bdist_wheel', sha256_digest: dist.sha256 })) {
    form.append(key, value)
  }
  form.append('content', new Blob([dist.bytes]), dist.filename)
  const response = await fetch(`${baseUrl}${API}/${repo}/`, { method: 'POST', body: form, headers: { authorization: ADMIN_AUTH } })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`upload of ${dist.filename}: ${response.status} ${text}`)
}

async function pageSize(agent: Agent, url: string, accept: string): Promise<number> {
  const response = await request(url, { dispatcher: agent, headers: { accept } })
  const body = Buffer.from(await response.body.arrayBuffer())
  if (response.statusCode !== 200) throw new Error(`GET ${url}: ${response.statusCode}`)
  return body.length
}

/** `CONCURRENCY` clients GETting `url` for `SECONDS`; every answer must be a 200 of `size` bytes. */
async function hammer(agent: Agent, url: string, accept: string, size: number): Promise<{ requests: number; seconds: number; p99: number }> {
  const latencies: number[] = []
  const begun = performance.now()
  const until = begun + SECONDS * 1000
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now()
        const response = await request(url, { dispatcher: agent, headers: { accept } })
        const body = await response.body.arrayBuffer()
        if (response.statusCode !== 200 || body.byteLength !== size) throw new Error(`GET ${url}: ${response.statusCode}, ${body.byteLength} bytes`)
        latencies.push(performance.now() - t0)
      }
    }),
  )
  latencies.sort((a, b) => a - b)
  return { requests: latencies.length, seconds: (performance.now() - begun) / 1000, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 }
}
