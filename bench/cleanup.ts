/**
 * The cleanup suite of `npm run bench` (issue 21's quality bar):
 *
 * 1. A PyPI local repository of 100,000 artifacts (1,000 projects × 100 releases of one wheel
 *    each, an hour apart) is filled in this process, its rows written in bulk into the metadata
 *    store as `ArtifactService` writes them (HTTP uploads, or one change per project, would take
 *    the suite's whole budget); then Trove runs as a child process on
 *    that data folder, SQLite and filesystem, and everything else goes over HTTP.
 * 2. A policy keeping the newest 90 releases of each project (10,000 releases to delete): the dry
 *    run (evaluate the 100,000 artifacts, list what would go) is timed, median of
 *    `BENCH_CLEANUP_ROUNDS` (default 3); then the real run (each release deleted through the
 *    normal delete path, one change transaction each), from its run log's start and end.
 * 3. Pull latency: `BENCH_CLEANUP_CLIENTS` (default 16) concurrent clients each pulling as pip
 *    does (a project's simple page, then one of its wheels) of kept releases: after a warm-up,
 *    for `BENCH_CLEANUP_SECONDS` (default 10) with no policy running, for the whole real run, and
 *    again for `BENCH_CLEANUP_SECONDS` after it: p50 and p99 of the request latency.
 *
 * No peer server does what is measured (a policy run inside a repository manager); the latency
 * compares Trove with itself, with and without a run.
 */
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pino } from 'pino'
import { Agent, request } from 'undici'
import { loadConfig } from '../src/config/config.js'
import { nameOf, parentOf, type BlobInfo } from '../src/core/index.js'
import { configSections } from '../src/formats/format.js'
import { FORMATS } from '../src/formats/index.js'
import { createTrove } from '../src/main.js'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, ADMIN_PASSWORD, startTroveProcess, troveCommand } from './processes.js'
import { median, positiveInteger } from './report.js'

const ROUNDS = positiveInteger('BENCH_CLEANUP_ROUNDS', 3)
const CLIENTS = positiveInteger('BENCH_CLEANUP_CLIENTS', 16)
const SECONDS = positiveInteger('BENCH_CLEANUP_SECONDS', 10)
const PROJECTS = 1000
const RELEASES = 100
const KEEP = 90
const REPO = 'bench-pypi'
const POLICY = `/artifactory/api/cleanup/packages/policies/keep-${KEEP}`

export async function cleanupSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log(`\n== cleanup: a policy over ${PROJECTS * RELEASES} artifacts; ${ROUNDS} dry-run rounds, ${CLIENTS} pulling clients`)
  const dataDir = join(workDir, 'data')
  await mkdir(dataDir, { recursive: true })
  process.stdout.write(`filling ${PROJECTS * RELEASES} artifacts through the services… `)
  const fillStarted = performance.now()
  await fill(dataDir)
  console.log(`${((performance.now() - fillStarted) / 1000).toFixed(1)} s`)

  const { args, label } = await troveCommand()
  const server = track(await startTroveProcess({ name: 'trove', args, dataDir }))
  const agent = track(new Agent({ connections: CLIENTS * 2, pipelining: 1 }))
  /** A reset (the server held past its headers timeout) is retried for reads, and reported. */
  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    try {
      return await callOnce(method, path, body)
    } catch (err) {
      if ((err as { code?: string }).code !== 'ECONNRESET' || method !== 'GET') throw err
      console.log(`GET ${path}: connection reset, again`)
      return callOnce(method, path, body)
    }
  }
  const callOnce = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${server.url}${path}`, {
      dispatcher: agent,
      method: method as 'GET',
      // A fresh connection each: a kept-alive one the server closes as it is reused would fail the call.
      reset: true,
      headers: { authorization: ADMIN_AUTH, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.body.text()
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`)
    return JSON.parse(text) as Record<string, unknown>
  }
  await call('PUT', POLICY, { searchCriteria: { repos: [REPO], keepLastNVersions: KEEP } })

  const dry: number[] = []
  let planned = 0
  let plannedBytes = 0
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now()
    const result = await call('POST', `${POLICY}/run?dryRun=true`)
    dry.push((performance.now() - started) / 1000)
    planned = (result.items as unknown[]).length
    plannedBytes = Number(result.bytes)
    console.log(`dry run ${round + 1}/${ROUNDS}: ${dry.at(-1)!.toFixed(2)} s, ${planned} releases, ${(plannedBytes / 1024 / 1024).toFixed(1)} MiB`)
  }
  if (planned !== PROJECTS * (RELEASES - KEEP)) throw new Error(`the dry run lists ${planned} releases, not ${PROJECTS * (RELEASES - KEEP)}`)

  const wait = async () => new Promise<void>((resolve) => setTimeout(resolve, SECONDS * 1000))
  // A warm-up (JIT, page caches) first, so that the idle figures are not those of a cold server.
  await pulls(server.url, agent, wait)
  const idle = await pulls(server.url, agent, wait)
  console.log(`pulls without a run: ${idle.count} requests, p99 ${idle.p99.toFixed(1)} ms`)
  let run: Record<string, unknown> = {}
  const busy = await pulls(server.url, agent, async () => {
    const started = await call('POST', `${POLICY}/run`)
    for (;;) {
      run = await call('GET', `/artifactory/api/cleanup/runs/${String(started.runId)}?limit=1`)
      if (run.status === 'succeeded' || run.status === 'failed') return
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  })
  if (run.status !== 'succeeded' || run.versions !== planned) throw new Error(`the run ended ${String(run.status)} with ${String(run.versions)} of ${planned} releases deleted`)
  const runSeconds = (Number(run.finishedAt) - Number(run.startedAt)) / 1000
  const after = await pulls(server.url, agent, wait)
  console.log(`real run: ${runSeconds.toFixed(1)} s; pulls meanwhile: ${busy.count} requests, p99 ${busy.p99.toFixed(1)} ms`)

  report.table(`Cleanup policy over ${PROJECTS * RELEASES} PyPI artifacts (Trove ${label}, SQLite, filesystem)`, [
    ['what', 'figure'],
    [`dry run: evaluate and list ${planned} releases (median of ${ROUNDS})`, `${median(dry).toFixed(2)} s`],
    [`real run: delete ${planned} releases (${(plannedBytes / 1024 / 1024).toFixed(1)} MiB), one change each`, `${runSeconds.toFixed(1)} s (${(planned / runSeconds).toFixed(0)} releases/s)`],
  ])
  report.table(`Pull latency, ${CLIENTS} concurrent clients (simple page, then a wheel), with and without the run`, [
    ['', 'requests', 'resets', 'p50 ms', 'p99 ms'],
    [`no run (${SECONDS} s)`, String(idle.count), String(idle.errors), idle.p50.toFixed(1), idle.p99.toFixed(1)],
    [`during the real run (${runSeconds.toFixed(0)} s)`, String(busy.count), String(busy.errors), busy.p50.toFixed(1), busy.p99.toFixed(1)],
    [`no run, after it (${SECONDS} s)`, String(after.count), String(after.errors), after.p50.toFixed(1), after.p99.toFixed(1)],
  ])
  report.note('No peer does what is measured; the latency compares Trove with itself. The 100,000 rows were written in bulk into the metadata store, not uploaded over HTTP.')
}

/** 1,000 projects × 100 releases of one wheel each (16 distinct small blobs), rows written in bulk as `ArtifactService` writes them. */
async function fill(dataDir: string): Promise<void> {
  const config = loadConfig({
    sections: configSections(FORMATS),
    env: {},
    overrides: { host: '127.0.0.1', port: 0, dataDir, adminPassword: ADMIN_PASSWORD, log: { level: 'warn' } },
  })
  const trove = await createTrove(config, { logger: pino({ level: 'warn' }) })
  try {
    const { repositories, blobs, artifacts } = trove.services
    await repositories.create(REPO, { key: REPO, rclass: 'local', packageType: 'pypi' })
    const repository = await repositories.require(REPO)
    const stored: BlobInfo[] = []
    for (let i = 0; i < 16; i++) stored.push(await blobs.put(Readable.from([randomBytes(2048 + i * 512)])))
    // The blobs' rows through the normal path, then the rows of every release in bulk (an hour apart per release).
    await artifacts.applyChanges(repository, { put: stored.map((blob, i) => ({ path: `seed/${i}.bin`, blob, contentType: 'application/octet-stream' })) }, 'bench')
    await artifacts.delete(repository, 'seed')
    const db = trove.services.metadata.db
    const now = Date.now()
    for (let first = 0; first < PROJECTS; first += 10) {
      await db.transaction().execute(async (trx) => {
        for (let p = first; p < first + 10; p++) {
          const name = String(p).padStart(4, '0')
          const project = `project-${name}`
          const folders = [project, ...Array.from({ length: RELEASES }, (_, r) => `${project}/1.${r}.0`)]
          await trx.insertInto('folders').values(folders.map((path) => ({ repo_key: REPO, path, folder: parentOf(path), name: nameOf(path), created_at: now, created_by: 'bench' }))).execute()
          const assets = Array.from({ length: RELEASES }, (_, r) => {
            const blob = stored[(p + r) % stored.length]!
            const path = `${project}/1.${r}.0/project_${name}-1.${r}.0-py3-none-any.whl`
            const at = now - (RELEASES - r) * 3600_000
            return { repo_key: REPO, path, folder: parentOf(path), name: nameOf(path), sha256: blob.sha256, sha1: blob.sha1, md5: blob.md5, size: blob.size, content_type: 'application/zip', original_checksums: '{}', created_at: at, created_by: 'bench', modified_at: at, modified_by: 'bench', downloaded_at: null, downloaded_by: null, download_count: 0 }
          })
          await trx.insertInto('assets').values(assets).execute()
        }
      })
    }
  } finally {
    await trove.close()
  }
}

/** Runs `CLIENTS` pulling loops while `during` runs; the latencies of every request. */
async function pulls(url: string, agent: Agent, during: () => Promise<void>): Promise<{ count: number; errors: number; p50: number; p99: number }> {
  const latencies: number[] = []
  let stop = false
  let errors = 0
  const timed = async (path: string) => {
    const started = performance.now()
    try {
      const res = await request(`${url}${path}`, { dispatcher: agent, headers: { authorization: ADMIN_AUTH } })
      await res.body.dump()
      if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode}`)
      latencies.push(performance.now() - started)
    } catch (err) {
      // A keep-alive connection the server closed as it was reused: counted, not fatal.
      if ((err as { code?: string }).code !== 'ECONNRESET') throw err
      errors += 1
    }
  }
  const client = async (seed: number) => {
    for (let i = 0; !stop; i++) {
      const p = (seed * 7919 + i * 104729) % PROJECTS
      const r = RELEASES - 1 - ((seed + i) % KEEP)
      const name = String(p).padStart(4, '0')
      await timed(`/artifactory/api/pypi/${REPO}/simple/project-${name}/`)
      await timed(`/artifactory/api/pypi/${REPO}/packages/project-${name}/1.${r}.0/project_${name}-1.${r}.0-py3-none-any.whl`)
    }
  }
  const clients = Array.from({ length: CLIENTS }, (_, seed) => client(seed))
  try {
    await during()
  } finally {
    stop = true
    await Promise.all(clients)
  }
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  return { count: latencies.length, errors, p50: at(0.5), p99: at(0.99) }
}
