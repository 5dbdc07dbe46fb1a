/**
 * federation (issue 19): two Trove instances (child processes, each with its own data folder,
 * SQLite and filesystem blob store) share a federated generic repository.
 *
 * 1. Replication lag of 1,000 small artifacts (1 KiB) deployed on A, 8 at a time: for each, the
 *    time from the end of its deploy to the first listing of B that shows it (B is listed every
 *    50 ms, so the figures carry up to 50 ms of polling granularity); p50 and p99.
 * 2. Throughput of replicating 1 GiB of blobs (16 × 64 MiB): delivery to B is paused while they are
 *    deployed on A, then resumed; the time until B lists them all, against copying the same blob
 *    files from A's blob store folder into a folder beside B's (streamed, like the replication
 *    does), in interleaved rounds. Target: federation ≥ 0.8× the direct copy.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, startTroveProcess, troveCommand, type ServerProcess } from './processes.js'
import { median, positiveInteger } from './report.js'

const SMALL = 1000
const SMALL_BYTES = 1024
const BIG = 16
const BIG_BYTES = 64 * 1024 * 1024
const ROUNDS = positiveInteger('BENCH_ROUNDS', 3)
const KEY = 'bench-federated'
const TOKENS = ['bench-federation-token-a', 'bench-federation-token-b']

export async function federationSuite({ workDir, track, report }: SuiteContext): Promise<void> {
  console.log('\n== federation: replication between two Trove instances')
  const { args } = await troveCommand()
  const env = (index: number) => ({ TROVE_FEDERATION_TOKEN: TOKENS[index]!, TROVE_FEDERATION_PEER_TOKENS: TOKENS.join(','), TROVE_FEDERATION_INTERVAL_MS: '200', TROVE_FEDERATION_FULL_SYNC_INTERVAL_SECS: '0' })
  const dirs = [join(workDir, 'a'), join(workDir, 'b')]
  const a = track(await startTroveProcess({ name: 'trove-a', args, dataDir: dirs[0]!, env: env(0) }))
  const b = track(await startTroveProcess({ name: 'trove-b', args, dataDir: dirs[1]!, env: env(1) }))
  await api(a, 'PUT', `/artifactory/api/repositories/${KEY}`, { rclass: 'federated', packageType: 'generic', members: [{ url: `${b.url}/artifactory/${KEY}`, enabled: true }] })

  // 1. Lag of small artifacts.
  const deployedAt = new Map<string, number>()
  const seenAt = new Map<string, number>()
  let isDeploying = true
  const watcher = (async () => {
    while (isDeploying || seenAt.size < SMALL) {
      const now = performance.now()
      for (const path of await listing(b, 'small')) if (!seenAt.has(path)) seenAt.set(path, now)
      await sleep(50)
    }
  })()
  const queue = Array.from({ length: SMALL }, (_, i) => `small/${String(i).padStart(4, '0')}.bin`)
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
        await put(a, path, randomBytes(SMALL_BYTES))
        deployedAt.set(path, performance.now())
      }
    }),
  )
  isDeploying = false
  await Promise.race([watcher, sleep(300_000).then(() => { throw new Error('the small artifacts did not all reach B in 5 minutes') })])
  const lags = [...deployedAt].map(([path, at]) => Math.max(0, seenAt.get(path)! - at)).sort((x, y) => x - y)
  const percentile = (p: number) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))]!
  report.table(`Replication lag of ${SMALL} artifacts of ${SMALL_BYTES} bytes deployed on A (8 at a time), seen on B`, [
    ['p50 ms', 'p99 ms', 'max ms'],
    [percentile(50).toFixed(0), percentile(99).toFixed(0), lags[lags.length - 1]!.toFixed(0)],
  ])

  // 2. Throughput of 1 GiB against a direct copy between the blob stores.
  const member = encodeURIComponent(`${b.url}/artifactory/${KEY}`)
  const rows: string[][] = [['round', 'federation MiB/s', 'direct copy MiB/s', 'ratio']]
  const ratios: number[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    await api(a, 'POST', `/artifactory/api/federation/pause/${KEY}?member=${member}`)
    const folder = `big-${round}`
    for (let i = 0; i < BIG; i++) await put(a, `${folder}/${i}.bin`, randomBytes(BIG_BYTES))
    const started = performance.now()
    await api(a, 'POST', `/artifactory/api/federation/resume/${KEY}?member=${member}`)
    while ((await listing(b, folder)).length < BIG) await sleep(20)
    const federationSecs = (performance.now() - started) / 1000
    const copySecs = await directCopy(join(dirs[0]!, 'blobs', 'sha256'), join(dirs[1]!, `copy-${round}`), await blobsOf(a, folder))
    const total = (BIG * BIG_BYTES) / (1024 * 1024)
    const ratio = copySecs / federationSecs
    ratios.push(ratio)
    rows.push([String(round), (total / federationSecs).toFixed(0), (total / copySecs).toFixed(0), ratio.toFixed(2)])
  }
  report.table(`Replicating ${BIG} × ${BIG_BYTES / 1024 / 1024} MiB from A to B against copying the same blob files between their stores`, rows)
  const ratio = median(ratios)
  report.note(`federation/direct copy throughput, median of ${ROUNDS} rounds: ${ratio.toFixed(2)} (target >= 0.8: ${ratio >= 0.8 ? 'met' : 'MISS'})`)
}

async function api(server: ServerProcess, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await request(`${server.url}${path}`, {
    method: method as 'GET',
    headers: { authorization: ADMIN_AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.body.text()
  if (response.statusCode >= 300) throw new Error(`${method} ${path}: ${response.statusCode} ${text}`)
  return text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text
}

async function put(server: ServerProcess, path: string, bytes: Buffer): Promise<void> {
  const response = await request(`${server.url}/artifactory/${KEY}/${path}`, { method: 'PUT', headers: { authorization: ADMIN_AUTH }, body: bytes })
  await response.body.dump()
  if (response.statusCode !== 201) throw new Error(`PUT ${path}: ${response.statusCode}`)
}

async function listing(server: ServerProcess, folder: string): Promise<string[]> {
  const response = await request(`${server.url}/artifactory/api/storage/${KEY}/${folder}?list&deep=1`, { headers: { authorization: ADMIN_AUTH } })
  if (response.statusCode === 404) {
    await response.body.dump()
    return []
  }
  const body = (await response.body.json()) as { files: { uri: string }[] }
  return body.files.map((f) => `${folder}${f.uri}`)
}

async function blobsOf(server: ServerProcess, folder: string): Promise<string[]> {
  const response = await request(`${server.url}/artifactory/api/storage/${KEY}/${folder}?list&deep=1`, { headers: { authorization: ADMIN_AUTH } })
  const body = (await response.body.json()) as { files: { sha2: string }[] }
  return body.files.map((f) => f.sha2)
}

/** Streams each blob file from one store's folder into another folder, one after the other (as the replication sends them). */
async function directCopy(from: string, to: string, digests: readonly string[]): Promise<number> {
  await mkdir(to, { recursive: true })
  const started = performance.now()
  for (const digest of digests) await pipeline(createReadStream(join(from, digest.slice(0, 2), digest)), createWriteStream(join(to, digest)))
  const secs = (performance.now() - started) / 1000
  await rm(to, { recursive: true, force: true })
  if ((await readdir(from)).length === 0) throw new Error('no blobs found in the store folder')
  return secs
}
