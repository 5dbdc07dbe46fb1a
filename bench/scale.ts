/**
 * scale (issue 22, item 6): how cost grows with the amount stored. One generic repository is
 * filled order of magnitude by order of magnitude (10³ … `BENCH_SCALE_MAX`, default 10⁶ files),
 * on SQLite and on PostgreSQL (`BENCH_SCALE_ENGINES`), and at each size the bench measures over
 * HTTP, against a Trove child process:
 *
 * - small-file deploys per second: 16 clients PUT distinct 1 KiB files for `BENCH_SCALE_SECONDS`;
 * - search by exact name (`/artifactory/api/search/artifact?name=`): median of sequential GETs,
 *   each for a different stored file (exactly one hit);
 * - listing a folder of 10 files (`/artifactory/api/storage/<repo>/<folder>/`): median likewise.
 *
 * Deploying a million files over HTTP would take most of an hour here, so the bench fills between
 * sizes through the services, in this process (ArtifactService.applyChanges, 1,000 files per
 * transaction, all of them pointing at one 1 KiB blob deployed first): the same rows, folders and
 * indexes a deploy writes.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { request, type Agent } from 'undici'
import { createTestDatabase } from '../test/helpers/postgres.js'
import { ArtifactService } from '../src/core/artifacts/artifact-service.js'
import type { Repository } from '../src/core/repositories/repository-service.js'
import { openMetadataStore, type MetadataEngine } from '../src/metadata/database.js'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, startTroveProcess, troveCommand } from './processes.js'
import { median, positiveInteger } from './report.js'
import { call, createAgent } from './transfers.js'

const REPO = 'bench-scale'
const FILE_SIZE = 1024
const CLIENTS = 16
const LOOKUPS = positiveInteger('BENCH_SCALE_LOOKUPS', 50)
const DEPLOY_SECONDS = positiveInteger('BENCH_SCALE_SECONDS', 5)
const FILL_BATCH = 1000
const TARGETS = { deploysPerSecond: 1000, searchMs: 5, listingMs: 5 } as const

interface Row {
  readonly files: number
  readonly deploysPerSecond: number
  readonly searchMs: number
  readonly listingMs: number
  /** The same lookups through the services in this process: the database's share, without HTTP or the server's scheduling. */
  readonly serviceSearchMs: number
  readonly serviceListingMs: number
}

/** The `i`th filled file: folders of 10 files, 1,000 folders to a parent. */
function filledPath(i: number): string {
  return `data/${Math.floor(i / 10_000)}/${Math.floor(i / 10)}/file-${i}.bin`
}

export async function scaleSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  const top = positiveInteger('BENCH_SCALE_MAX', 1_000_000)
  const sizes: number[] = []
  for (let size = 1000; size <= top; size *= 10) sizes.push(size)
  if (sizes[sizes.length - 1] !== top) sizes.push(top)
  const engines = (process.env.BENCH_SCALE_ENGINES ?? 'sqlite,postgres').split(',').map((e) => e.trim()) as MetadataEngine[]
  const trove = await troveCommand()
  console.log(`\n== scale: Trove from ${trove.label}; sizes ${sizes.join(', ')}; engines ${engines.join(', ')}`)

  const results = new Map<MetadataEngine, Row[]>()
  for (const engine of engines) {
    const database = engine === 'postgres' ? await createTestDatabase() : undefined
    const dataDir = join(workDir, engine)
    const server = track(await startTroveProcess({ args: trove.args, dataDir, env: database ? { TROVE_DATABASE_URL: database.url } : {} }))
    const store = openMetadataStore(database?.url ?? join(dataDir, 'trove.db'))
    const agent = track(createAgent())
    try {
      const base = `${server.url}/artifactory`
      await call(agent, 'PUT', `${base}/api/repositories/${REPO}`, ADMIN_AUTH, { key: REPO, rclass: 'local', packageType: 'generic' })
      const token = (await call(agent, 'POST', `${server.url}/access/api/v1/tokens`, ADMIN_AUTH, { description: 'bench' })) as { access_token: string }
      const auth = `Bearer ${token.access_token}`
      const seed = await deploy(agent, `${base}/${REPO}/seed.bin`, randomBytes(FILE_SIZE), auth)
      const artifacts = new ArtifactService(store.db, undefined as never)
      // applyChanges reads the repository's key alone when no quota is given; the server charges nothing for the filler's rows.
      const repository = { key: REPO } as Repository
      const rows: Row[] = []
      let filled = 0
      let deployed = 1
      for (const size of sizes) {
        const fillStarted = performance.now()
        const target = size - deployed
        // PostgreSQL takes batches side by side; SQLite has one writer.
        const fillers = engine === 'postgres' ? 4 : 1
        let next = filled
        await Promise.all(
          Array.from({ length: fillers }, async () => {
            while (next < target) {
              const from = next
              next = Math.min(target, from + FILL_BATCH)
              const put = Array.from({ length: next - from }, (_, k) => ({ path: filledPath(from + k), blob: { sha256: seed }, contentType: 'application/octet-stream' }))
              await withRetries(() => artifacts.applyChanges(repository, { put }, 'bench'))
            }
          }),
        )
        filled = Math.max(filled, target)
        const fillSeconds = (performance.now() - fillStarted) / 1000
        const searchMs = await medianMs(LOOKUPS, async () => {
          const i = Math.floor(Math.random() * filled)
          const found = (await getJson(agent, `${base}/api/search/artifact?name=file-${i}.bin&repos=${REPO}`, auth)) as { results: unknown[] }
          if (found.results.length !== 1) throw new Error(`search for file-${i}.bin found ${found.results.length} files`)
        })
        const listingMs = await medianMs(LOOKUPS, async () => {
          const folder = Math.floor(Math.random() * Math.floor(filled / 10))
          const listed = (await getJson(agent, `${base}/api/storage/${REPO}/data/${Math.floor(folder / 1000)}/${folder}/`, auth)) as { children: unknown[] }
          if (listed.children.length !== 10) throw new Error(`folder ${folder} lists ${listed.children.length} children`)
        })
        const serviceSearchMs = await medianMs(LOOKUPS, async () => {
          const i = Math.floor(Math.random() * filled)
          const found = await artifacts.search.byName(`file-${i}.bin`, [REPO], { limit: 1000 })
          if (found.length !== 1) throw new Error(`the service's search for file-${i}.bin found ${found.length} files`)
        })
        const serviceListingMs = await medianMs(LOOKUPS, async () => {
          const folder = Math.floor(Math.random() * Math.floor(filled / 10))
          const { files } = await artifacts.children(REPO, `data/${Math.floor(folder / 1000)}/${folder}`)
          if (files.length !== 10) throw new Error(`the service lists ${files.length} files in folder ${folder}`)
        })
        const deploys = await deployFor(agent, `${base}/${REPO}/deploys/${size}`, auth)
        deployed += deploys.count
        const row = { files: filled + deployed, deploysPerSecond: deploys.perSecond, searchMs, listingMs, serviceSearchMs, serviceListingMs }
        rows.push(row)
        console.log(
          `${engine} ${row.files} files (filled in ${fillSeconds.toFixed(0)} s): ${row.deploysPerSecond.toFixed(0)} deploys/s, search ${searchMs.toFixed(2)} ms (service ${serviceSearchMs.toFixed(2)}), listing ${listingMs.toFixed(2)} ms (service ${serviceListingMs.toFixed(2)})`,
        )
      }
      results.set(engine, rows)
    } finally {
      await agent.destroy()
      await server.stop()
      await store.close()
      await database?.drop()
    }
  }
  reportScale(report, sizes, engines, results)
}

function reportScale(report: SuiteReport, sizes: readonly number[], engines: readonly MetadataEngine[], results: ReadonlyMap<MetadataEngine, Row[]>): void {
  const cell = (index: number, figure: (row: Row) => string) => engines.map((e) => figure(results.get(e)![index]!)).join(' / ')
  const lastIndex = sizes.length - 1
  const verdict = (pass: (row: Row) => boolean) => (engines.every((e) => pass(results.get(e)![lastIndex]!)) ? 'PASS' : 'MISS')
  const header = ['files stored (about)', ...sizes.map((s) => s.toLocaleString('en-US')), 'target at the largest', 'result']
  report.table(`How cost grows with the files stored, one generic repository, ${engines.join(' / ')} (${CLIENTS} clients deploying 1 KiB files; medians of ${LOOKUPS} lookups)`, [
    header,
    ['small-file deploys per second', ...sizes.map((_, i) => cell(i, (r) => r.deploysPerSecond.toFixed(0))), `≥ ${TARGETS.deploysPerSecond}`, verdict((r) => r.deploysPerSecond >= TARGETS.deploysPerSecond)],
    ['search by exact name (ms)', ...sizes.map((_, i) => cell(i, (r) => r.searchMs.toFixed(2))), `< ${TARGETS.searchMs}`, verdict((r) => r.searchMs < TARGETS.searchMs)],
    ['listing a folder of 10 files (ms)', ...sizes.map((_, i) => cell(i, (r) => r.listingMs.toFixed(2))), `< ${TARGETS.listingMs}`, verdict((r) => r.listingMs < TARGETS.listingMs)],
    ['search, in the service (ms)', ...sizes.map((_, i) => cell(i, (r) => r.serviceSearchMs.toFixed(2))), '', ''],
    ['listing, in the service (ms)', ...sizes.map((_, i) => cell(i, (r) => r.serviceListingMs.toFixed(2))), '', ''],
  ])
  report.note(
    `Filled between sizes through ArtifactService.applyChanges (${FILL_BATCH} files a transaction, one shared 1 KiB blob); deploys, searches and listings over HTTP with a token; the "in the service" rows time the same lookups through ArtifactService in the bench's process (the database's share). ` +
      `Largest size run: ${sizes[lastIndex]!.toLocaleString('en-US')} (BENCH_SCALE_MAX).`,
  )
}

type SuiteReport = SuiteContext['report']

async function deploy(agent: Agent, url: string, body: Buffer, authorization: string): Promise<string> {
  const response = await request(url, { dispatcher: agent, method: 'PUT', headers: { authorization, 'content-type': 'application/octet-stream' }, body })
  const text = await response.body.text()
  if (response.statusCode !== 201) throw new Error(`PUT ${url}: ${response.statusCode} ${text}`)
  return (JSON.parse(text) as { checksums: { sha256: string } }).checksums.sha256
}

/** `CLIENTS` clients deploying distinct 1 KiB files below `folder` for `DEPLOY_SECONDS`. */
async function deployFor(agent: Agent, folder: string, authorization: string): Promise<{ count: number; perSecond: number }> {
  let count = 0
  const started = performance.now()
  const until = started + DEPLOY_SECONDS * 1000
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let n = 0; performance.now() < until; n++) {
        await deploy(agent, `${folder}/c${client}/d-${n}.bin`, randomBytes(FILE_SIZE), authorization)
        count++
      }
    }),
  )
  return { count, perSecond: count / ((performance.now() - started) / 1000) }
}

/**
 * SQLite: the server's own writes (the jobs its deploys queued) may take the write lock between
 * a filler transaction's first read and its first write, which SQLite refuses at once
 * (SQLITE_BUSY_SNAPSHOT) rather than wait; the batch is tried again.
 */
async function withRetries(change: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await change()
    } catch (err) {
      if (attempt >= 20 || !String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_BUSY')) throw err
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt))
    }
  }
}

async function getJson(agent: Agent, url: string, authorization: string): Promise<unknown> {
  const response = await request(url, { dispatcher: agent, headers: { authorization } })
  const text = await response.body.text()
  if (response.statusCode !== 200) throw new Error(`GET ${url}: ${response.statusCode} ${text}`)
  return JSON.parse(text)
}

/** The median time of `times` sequential calls, after 3 not counted. */
async function medianMs(times: number, once: () => Promise<void>): Promise<number> {
  for (let i = 0; i < 3; i++) await once()
  const durations: number[] = []
  for (let i = 0; i < times; i++) {
    const t0 = performance.now()
    await once()
    durations.push(performance.now() - t0)
  }
  return median(durations)
}
