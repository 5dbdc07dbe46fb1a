/**
 * The blobs suite of `npm run bench` (issue 22, items 1 and 4): blob bytes in and out of Trove's
 * OCI registry against nginx sending the same file (the limit) and the distribution registry
 * (Debian's `docker-registry`), all started here on 127.0.0.1 with fresh storage.
 *
 * 1. Blob GET of a 256 MiB layer, 1 stream (4 downloads in a row) and 16 concurrent streams:
 *    nginx (sendfile) serving Trove's own blob file, the registry, Trove (target ≥ 0.8× nginx).
 * 2. A 1 GiB blob push, three ways (target ≥ 1.0× the registry, Trove's resident memory growth
 *    < 64 MiB): monolithic (`POST`, then `PUT ?digest=` with the bytes), streamed (`POST`, one
 *    `PATCH` of the whole body without a range, `PUT ?digest=`) and chunked (`PATCH`es of 32 MiB
 *    with `Content-Range`, then `PUT ?digest=`).
 *
 * Rounds are interleaved, the order rotated every round, so that the servers of one round ran under
 * the same load from other work; figures are medians, ratios the median of each round's ratio.
 * `BENCH_ROUNDS` sets the number of rounds (default 3).
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { request, type Agent } from 'undici'
import type { SuiteContext } from './oci.js'
import { startStaticNginx } from './nginx.js'
import { ADMIN_AUTH, cpuSeconds, residentBytes, sampleResident, startTroveProcess, troveCommand } from './processes.js'
import { REGISTRY_BINARY, hasCommand, startRegistry } from './registry.js'
import { median, positiveInteger, range } from './report.js'
import { GeneratedBody, MiB, call, createAgent, measureDownloads } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_ROUNDS', 3)
const BLOB_SIZE = 256 * MiB
/** `BENCH_BLOBS_UPLOAD_MIB` shrinks the pushes for a quick try of the suite. */
const UPLOAD_SIZE = positiveInteger('BENCH_BLOBS_UPLOAD_MIB', 1024) * MiB
const CHUNK_SIZE = 32 * MiB
const TARGET_GET_RATIO = 0.8
const TARGET_UPLOAD_RATIO = 1
const TARGET_GROWTH_MIB = 64
const REPO = 'bench-blobs'
const IMAGE = `${REPO}/big`
const SCENARIOS = [
  { label: '1 stream (4 downloads in a row)', streams: 1, times: 4 },
  { label: '16 concurrent streams', streams: 16, times: 1 },
] as const
const MODES = ['monolithic', 'streamed PATCH', '32 MiB chunks'] as const
type Mode = (typeof MODES)[number]
type Peer = 'nginx' | 'registry' | 'trove'

export async function blobsSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== blobs: blob GET and push, Trove against nginx and the distribution registry`)
  const missing = [
    existsSync(REGISTRY_BINARY) ? undefined : `${REGISTRY_BINARY} (apt-get install -y docker-registry)`,
    (await hasCommand('nginx')) ? undefined : 'nginx (apt-get install -y nginx)',
  ].filter((m) => m !== undefined)
  if (missing.length > 0) {
    report.note(`SKIPPED: missing ${missing.join(' and ')}`)
    return
  }
  await mkdir(workDir, { recursive: true })
  const trove = await troveCommand()
  console.log(`Trove from ${trove.label}; ${ROUNDS} rounds`)
  const registry = track((await startRegistry(workDir)).server)
  const troveData = join(workDir, 'trove-data')
  const troveServer = track(await startTroveProcess({ args: trove.args, dataDir: troveData }))
  const agent = track(createAgent())
  await call(agent, 'PUT', `${troveServer.url}/artifactory/api/repositories/${REPO}`, ADMIN_AUTH, { rclass: 'local', packageType: 'docker', anonymousRead: true })
  const bases: Record<'registry' | 'trove', { url: string; auth?: string }> = {
    registry: { url: registry.url },
    trove: { url: troveServer.url, auth: ADMIN_AUTH },
  }

  // ---- 1. blob GET ----
  const body = new GeneratedBody(BLOB_SIZE)
  for (const server of ['registry', 'trove'] as const) await push(agent, bases[server], 'monolithic', body)
  const blobFile = await findFile(troveData, body.hex)
  const nginx = track(await startStaticNginx(join(workDir, 'nginx'), 'nginx', `    location = /blob { alias ${blobFile}; default_type application/octet-stream; }`))
  const urls: Record<Peer, string> = {
    nginx: `${nginx.url}/blob`,
    registry: `${registry.url}/v2/${IMAGE}/blobs/sha256:${body.hex}`,
    trove: `${troveServer.url}/v2/${IMAGE}/blobs/sha256:${body.hex}`,
  }
  const pids: Record<Peer, number> = { nginx: nginx.pid, registry: registry.pid, trove: troveServer.pid }
  const peers: readonly Peer[] = ['nginx', 'registry', 'trove']
  const gets = SCENARIOS.map((scenario) => ({ scenario, figures: Object.fromEntries(peers.map((p) => [p, [] as { mib: number; cpu: number }[]])) as Record<Peer, { mib: number; cpu: number }[]> }))
  for (const peer of peers) await measureDownloads(agent, urls[peer], BLOB_SIZE, { streams: 1, times: 1 }) // warm the page cache
  for (let round = 0; round < ROUNDS; round++) {
    for (const { scenario, figures } of gets) {
      for (const peer of rotated(peers, round)) {
        const cpu = await treeCpuSeconds(pids[peer])
        const mib = await measureDownloads(agent, urls[peer], BLOB_SIZE, scenario)
        const gib = (scenario.streams * scenario.times * BLOB_SIZE) / (1024 * MiB)
        figures[peer].push({ mib, cpu: ((await treeCpuSeconds(pids[peer])) - cpu) / gib })
      }
    }
    console.log(`GET round ${round + 1}/${ROUNDS} done`)
  }
  const getRows = gets.map(({ scenario, figures }) => {
    const ratios = figures.trove.map((t, i) => t.mib / figures.nginx[i]!.mib)
    const ratio = median(ratios)
    return [
      scenario.label,
      ...peers.map((p) => `${median(figures[p].map((f) => f.mib)).toFixed(0)} (${median(figures[p].map((f) => f.cpu)).toFixed(2)} s/GiB)`),
      `${ratio.toFixed(2)}× nginx, ${median(figures.trove.map((t, i) => t.mib / figures.registry[i]!.mib)).toFixed(2)}× registry`,
      `≥ ${TARGET_GET_RATIO}× nginx`,
      ratio >= TARGET_GET_RATIO ? 'PASS' : 'MISS',
    ]
  })
  report.table(`A ${BLOB_SIZE / MiB} MiB blob GET: MiB/s (server CPU per GiB sent), medians of ${ROUNDS} rounds`, [
    ['', 'nginx (sendfile, same file)', 'registry', 'Trove', 'Trove', 'target', ''],
    ...getRows,
  ])
  await nginx.stop()

  // ---- 2. 1 GiB pushes ----
  const uploads = Object.fromEntries(MODES.map((m) => [m, { registry: [] as number[], trove: [] as number[] }])) as Record<Mode, Record<'registry' | 'trove', number[]>>
  const idle = await residentBytes(troveServer.pid)
  const sampler = sampleResident(troveServer.pid, 100)
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      for (const server of rotated(['registry', 'trove'] as const, round)) {
        const generated = new GeneratedBody(UPLOAD_SIZE)
        if (generated.hex === '') throw new Error('no digest') // hashed before the clock starts
        const started = performance.now()
        await push(agent, bases[server], mode, generated).catch((err: unknown) => {
          throw new Error(`${mode} push to ${server}: ${String(err)}`, { cause: err })
        })
        uploads[mode][server].push(UPLOAD_SIZE / MiB / ((performance.now() - started) / 1000))
      }
    }
    console.log(`push round ${round + 1}/${ROUNDS}: ${MODES.map((m) => `${m} registry ${uploads[m].registry.at(-1)!.toFixed(0)} / trove ${uploads[m].trove.at(-1)!.toFixed(0)} MiB/s`).join('; ')}`)
  }
  const { peak } = await sampler.stop()
  report.table(`A ${UPLOAD_SIZE / MiB} MiB blob push: MiB/s, medians of ${ROUNDS} rounds (range)`, [
    ['', 'registry', 'Trove', 'Trove/registry', 'target', ''],
    ...MODES.map((mode) => {
      const ratio = median(uploads[mode].trove.map((t, i) => t / uploads[mode].registry[i]!))
      return [
        mode,
        `${median(uploads[mode].registry).toFixed(0)} (${range(uploads[mode].registry)})`,
        `${median(uploads[mode].trove).toFixed(0)} (${range(uploads[mode].trove)})`,
        `${ratio.toFixed(2)}×`,
        `≥ ${TARGET_UPLOAD_RATIO}×`,
        ratio >= TARGET_UPLOAD_RATIO ? 'PASS' : 'MISS',
      ]
    }),
  ])
  const growth = peak - idle
  report.table(`Trove's resident memory during the pushes (MiB)`, [
    ['idle', 'peak', 'growth', 'target', ''],
    [(idle / MiB).toFixed(0), (peak / MiB).toFixed(0), (growth / MiB).toFixed(0), `< ${TARGET_GROWTH_MIB}`, growth < TARGET_GROWTH_MIB * MiB ? 'PASS' : 'MISS'],
  ])
}

/** Pushes `body` into IMAGE as `mode` says; throws unless every step answers as the specification says. */
async function push(agent: Agent, base: { url: string; auth?: string }, mode: Mode, body: GeneratedBody): Promise<void> {
  const auth: Record<string, string> = base.auth ? { authorization: base.auth } : {}
  const expect = async (response: Awaited<ReturnType<typeof request>>, status: number, what: string) => {
    const text = await response.body.text()
    if (response.statusCode !== status) throw new Error(`${what}: ${response.statusCode} ${text}`)
    const location = response.headers.location
    return typeof location === 'string' ? new URL(location, base.url) : undefined
  }
  let url = await expect(
    await request(`${base.url}/v2/${IMAGE}/blobs/uploads/`, { dispatcher: agent, method: 'POST', headers: { ...auth, 'content-length': '0' } }),
    202,
    'POST upload',
  )
  if (!url) throw new Error('POST upload: no Location')
  if (mode === 'streamed PATCH') {
    url = await expect(await request(url, { dispatcher: agent, method: 'PATCH', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: body.stream() }), 202, 'PATCH')
  } else if (mode === '32 MiB chunks') {
    for (let start = 0; start < body.size; start += CHUNK_SIZE) {
      const end = Math.min(body.size, start + CHUNK_SIZE)
      const headers = { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(end - start), 'content-range': `${start}-${end - 1}` }
      url = await expect(await request(url!, { dispatcher: agent, method: 'PATCH', headers, body: body.stream(start, end) }), 202, `PATCH ${start}`)
    }
  }
  url!.searchParams.set('digest', `sha256:${body.hex}`)
  const whole = mode === 'monolithic'
  const headers = { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(whole ? body.size : 0) }
  await expect(await request(url!, { dispatcher: agent, method: 'PUT', headers, ...(whole ? { body: body.stream() } : {}) }), 201, 'PUT ?digest')
}

/** Where a file named `name` is under `dir` (Trove's blob file, found by its digest). */
async function findFile(dir: string, name: string): Promise<string> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name === name) return join(entry.parentPath, entry.name)
  }
  throw new Error(`no file ${name} under ${dir}`)
}

/** CPU seconds of a process and its children (nginx's workers). */
async function treeCpuSeconds(pid: number): Promise<number> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')
  const pids = [pid, ...children.split(' ').filter((p) => p !== '').map(Number)]
  let total = 0
  for (const p of pids) total += await cpuSeconds(p).catch(() => 0)
  return total
}

function rotated<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length
  return [...items.slice(shift), ...items.slice(0, shift)]
}
