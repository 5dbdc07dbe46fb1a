import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database } from '../../metadata/schema.js'
import { TroveError } from '../errors.js'
import type { JobQueue } from '../jobs/job-queue.js'
import { discard, type UpstreamClient } from '../upstream/upstream-client.js'
import type { Scanner } from './scanner.js'
import { emptySummary, summaryJson, type VulnerabilityDatabase } from './vulndb.js'

export interface SyncSettings {
  /** OSV zip archives (`all.zip` of an ecosystem) or JSON files (a record or an array), fetched in order. */
  readonly urls: readonly string[]
  /** Seconds between runs; 0: only when asked (`POST /api/v1/vulndb/sync/run`). */
  readonly intervalSecs: number
}

export interface SyncUrlResult {
  readonly url: string
  readonly ok: boolean
  /** The import summary, or `notModified` when the server answered 304 to the stored ETag. */
  readonly summary?: Record<string, unknown>
  readonly notModified?: boolean
  readonly error?: string
  /** Validators of the last download, sent back as `If-None-Match`/`If-Modified-Since`. */
  readonly etag?: string
  readonly lastModified?: string
}

export interface SyncStatus {
  readonly lastRunAt: string | null
  readonly lastSuccessAt: string | null
  readonly results: readonly SyncUrlResult[]
}

export const DEFAULT_SYNC_SETTINGS: SyncSettings = { urls: [], intervalSecs: 86_400 }
export const SYNC_JOB = 'vulndb-sync'
/** How often the scheduled job looks whether a sync is due (the interval's precision). */
export const SYNC_CHECK_MS = 15 * 60 * 1000
/** The shortest interval (OSV archives change hourly at most; larger ones are hundreds of MiB). */
const MIN_INTERVAL_SECS = 3600
const MAX_URLS = 50
/** One download at most (OSV's largest per-ecosystem archive is a few hundred MiB). */
const MAX_DOWNLOAD_BYTES = 2 * 1024 * 1024 * 1024
const SOCKET_TIMEOUT_MS = 120_000
const SETTINGS = 'vulndb.sync'
const STATUS = 'vulndb.sync.status'

/**
 * Scheduled vulnerability database sync (issue #8): an admin lists URLs of OSV zip archives or
 * JSON files (no URL is built in); a job fetches each through the core upstream client (so the
 * allowed-hosts guard applies, on every redirect too), streams it to a temporary file, imports it
 * and queues the re-match of the changed packages. Conditional requests skip unchanged archives.
 * Settings and status live in the settings table, so every node sees the same.
 */
export class VulnDbSync {
  constructor(
    private readonly deps: {
      readonly db: Kysely<Database>
      readonly vulndb: VulnerabilityDatabase
      readonly scanner: Scanner
      readonly upstream: UpstreamClient
      readonly jobs: JobQueue
      readonly logger: Logger
      /** Where downloads are kept while they are imported. */
      readonly scratchDir: string
      /** Refuses URLs the allowed-hosts guard would refuse (a clear 400 when saving, not a failure at night). */
      readonly checkUrl: (url: string) => void
    },
  ) {}

  registerJobs(): void {
    this.deps.jobs.register(SYNC_JOB, async (payload) => {
      const force = (payload as { force?: boolean } | null)?.force === true
      return this.runIfDue(force)
    })
    this.deps.jobs.schedule(SYNC_JOB, SYNC_CHECK_MS)
  }

  async settings(): Promise<SyncSettings> {
    return { ...DEFAULT_SYNC_SETTINGS, ...(await this.read<Partial<SyncSettings>>(SETTINGS)) }
  }

  async status(): Promise<SyncStatus> {
    return { lastRunAt: null, lastSuccessAt: null, results: [], ...(await this.read<Partial<SyncStatus>>(STATUS)) }
  }

  /** Replaces the settings with the fields given (others keep their value); refuses bad ones, changing nothing. */
  async update(body: unknown): Promise<SyncSettings> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object: {"urls": [...], "intervalSecs": 86400}')
    const input = body as Record<string, unknown>
    for (const field of Object.keys(input)) {
      if (!(field in DEFAULT_SYNC_SETTINGS)) throw new TroveError('BAD_REQUEST', `unknown setting '${field}' (known: urls, intervalSecs)`)
    }
    const next = { ...(await this.settings()) }
    if (input.urls !== undefined) {
      if (!Array.isArray(input.urls) || input.urls.some((u) => typeof u !== 'string')) throw new TroveError('BAD_REQUEST', 'urls must be a list of http or https URLs')
      if (input.urls.length > MAX_URLS) throw new TroveError('BAD_REQUEST', `at most ${MAX_URLS} urls`)
      for (const url of input.urls as string[]) {
        let parsed: URL
        try {
          parsed = new URL(url)
        } catch {
          throw new TroveError('BAD_REQUEST', `'${url}' is not a URL`)
        }
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TroveError('BAD_REQUEST', `'${url}' is not an http or https URL`)
        if (parsed.username || parsed.password) throw new TroveError('BAD_REQUEST', `'${parsed.origin}': credentials in sync URLs are not supported`)
        this.deps.checkUrl(url)
      }
      next.urls = [...new Set(input.urls as string[])]
    }
    if (input.intervalSecs !== undefined) {
      const secs = input.intervalSecs
      if (typeof secs !== 'number' || !Number.isSafeInteger(secs) || (secs !== 0 && secs < MIN_INTERVAL_SECS)) {
        throw new TroveError('BAD_REQUEST', `intervalSecs must be 0 (only on demand) or a whole number of seconds of at least ${MIN_INTERVAL_SECS}`)
      }
      next.intervalSecs = secs
    }
    await this.write(SETTINGS, next)
    return next
  }

  /** Queues a sync now (whatever the interval); answers the job. */
  async requestRun(): Promise<{ id: string; status: string }> {
    const job = await this.deps.jobs.enqueue(SYNC_JOB, { force: true }, { dedupeKey: `${SYNC_JOB}:now` })
    return { id: job.id, status: job.status }
  }

  /** Runs a sync when one is due (or `force`); a failing URL is recorded and does not stop the others. */
  async runIfDue(force = false): Promise<{ ran: boolean; results?: readonly SyncUrlResult[] }> {
    const settings = await this.settings()
    if (settings.urls.length === 0) return { ran: false }
    const status = await this.status()
    const last = status.lastRunAt === null ? 0 : Date.parse(status.lastRunAt)
    if (!force && (settings.intervalSecs === 0 || Date.now() - last < settings.intervalSecs * 1000)) return { ran: false }
    const results: SyncUrlResult[] = []
    const summary = emptySummary()
    for (const url of settings.urls) {
      const previous = status.results.find((r) => r.url === url && r.ok)
      try {
        results.push(await this.syncOne(url, previous, summary))
      } catch (err) {
        const message = (err as Error).message
        this.deps.logger.warn({ err, url }, 'vulnerability database sync failed for one URL')
        results.push({ url, ok: false, error: message })
      }
    }
    await this.deps.scanner.onDatabaseChanged(summary)
    const now = new Date().toISOString()
    const isOk = results.every((r) => r.ok)
    await this.write(STATUS, { lastRunAt: now, lastSuccessAt: isOk ? now : status.lastSuccessAt, results } satisfies SyncStatus)
    this.deps.logger.info({ ...summaryJson(summary), failed: results.filter((r) => !r.ok).length }, 'vulnerability database synced')
    return { ran: true, results }
  }

  private async syncOne(url: string, previous: SyncUrlResult | undefined, total: ReturnType<typeof emptySummary>): Promise<SyncUrlResult> {
    const headers: Record<string, string> = {}
    if (previous?.etag) headers['if-none-match'] = previous.etag
    if (previous?.lastModified) headers['if-modified-since'] = previous.lastModified
    const response = await this.deps.upstream.request({ key: 'vulndb-sync', url, socketTimeoutMs: SOCKET_TIMEOUT_MS }, { url, headers })
    if (response.status === 304 && previous) {
      discard(response.body)
      return { url, ok: true, notModified: true, ...validators(previous) }
    }
    if (response.status !== 200) {
      discard(response.body)
      throw new TroveError('UPSTREAM_UNAVAILABLE', `${url} answered ${response.status}`)
    }
    await mkdir(this.deps.scratchDir, { recursive: true })
    const scratch = await mkdtemp(join(this.deps.scratchDir, 'vulndb-sync-'))
    try {
      const file = join(scratch, 'download')
      await pipeline(response.body, limitBytes(MAX_DOWNLOAD_BYTES, url), createWriteStream(file))
      // The archive or JSON is told by its bytes, not by a name or a type a server may get wrong.
      const isZip = (await firstBytes(file, 4)).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))
      const summary = emptySummary()
      if (isZip) {
        await this.deps.vulndb.importZip(file, summary)
      } else {
        await rename(file, `${file}.json`)
        await this.deps.vulndb.importPath(`${file}.json`, summary)
      }
      for (const key of ['imported', 'updated', 'unchanged', 'withdrawn', 'invalid'] as const) total[key] += summary[key]
      for (const p of summary.changedPackages) total.changedPackages.add(p)
      return { url, ok: true, summary: summaryJson(summary), ...validators({ etag: response.headers.etag, lastModified: response.headers['last-modified'] }) }
    } finally {
      await rm(scratch, { recursive: true, force: true })
    }
  }

  private async read<T>(name: string): Promise<T | undefined> {
    const row = await this.deps.db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst()
    return row ? (JSON.parse(row.value) as T) : undefined
  }

  private async write(name: string, value: unknown): Promise<void> {
    const text = JSON.stringify(value)
    const now = Date.now()
    await this.deps.db
      .insertInto('settings')
      .values({ name, value: text, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value: text, updated_at: now }))
      .execute()
  }
}

function validators(from: { etag?: string | undefined; lastModified?: string | undefined }): { etag?: string; lastModified?: string } {
  return { ...(from.etag ? { etag: from.etag } : {}), ...(from.lastModified ? { lastModified: from.lastModified } : {}) }
}

async function firstBytes(file: string, count: number): Promise<Buffer> {
  const handle = await open(file, 'r')
  try {
    const buffer = Buffer.alloc(count)
    const { bytesRead } = await handle.read(buffer, 0, count, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

function limitBytes(max: number, url: string): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > max) callback(new TroveError('PAYLOAD_TOO_LARGE', `${url} is larger than ${max} bytes`))
      else callback(null, chunk)
    },
  })
}
