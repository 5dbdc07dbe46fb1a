import { PassThrough, type Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { ArtifactService, Asset } from '../artifacts/artifact-service.js'
import type { BlobStore } from '../blobs/blob-store.js'
import type { Lease } from '../cluster/leases.js'
import type { ExpectedChecksums } from '../digest.js'
import { TroveError, notFound } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { Repository } from '../repositories/repository-service.js'
import type { SystemSettings } from '../system/system-settings.js'
import {
  UpstreamFailure,
  UpstreamRefusedError,
  describeFailure,
  discard,
  type UpstreamClient,
  type UpstreamResponse,
  type UpstreamSettings,
} from '../upstream/upstream-client.js'
import type { ClusterFlights } from './cluster-flights.js'
import { DigestCheck, HoldLastChunk } from './verified-streams.js'
import { reFetchable } from '../../metadata/database.js'

/** Artifactory's defaults for remote repositories. */
export const REMOTE_DEFAULTS = {
  socketTimeoutMillis: 15_000,
  retrievalCachePeriodSecs: 7200,
  missedRetrievalCachePeriodSecs: 1800,
  assumedOfflinePeriodSecs: 300,
  storeArtifactsLocally: true,
} as const

export interface RemoteFetchOptions {
  /**
   * Mutable metadata (tags, package documents, indexes): served from the cache for
   * `retrievalCachePeriodSecs`, then re-checked; served stale when the upstream fails. Anything
   * else is immutable once cached.
   */
  readonly isMetadata?: boolean
  /** The upstream URL when it is not `<url>/<path>` (e.g. a tarball URL from a package document). */
  readonly upstreamUrl?: string
  /** Checksums the format knows in advance (an OCI digest, an npm integrity). */
  readonly expected?: ExpectedChecksums
  /**
   * Digests beyond the blob store's own (sha256, sha1, md5), verified while the bytes stream and
   * before anything is committed: a `node:crypto` algorithm name → the expected digest in hex (an
   * npm `dist.integrity` of sha512 is one). A mismatch caches nothing and cuts the client's stream.
   */
  readonly extraDigests?: Readonly<Record<string, string>>
  /** Checksums the upstream declares in its response headers, verified while streaming. */
  readonly expectedFromHeaders?: (headers: Readonly<Record<string, string>>) => ExpectedChecksums
  readonly headers?: Readonly<Record<string, string>>
  /** Content type to record when the upstream sends none. */
  readonly contentType?: string
  readonly signal?: AbortSignal | undefined
}

export type RemoteResult =
  /** In the cache (fresh, or stale because the upstream failed). */
  | { readonly kind: 'cached'; readonly asset: Asset; readonly isStale: boolean }
  /**
   * Streaming from the upstream while being cached. The last bytes are released only once the
   * download is verified and committed; a failure destroys the stream, so the client sees an
   * error instead of a complete, wrong file.
   */
  | {
      readonly kind: 'streaming'
      readonly stream: Readable
      readonly size: number | undefined
      readonly contentType: string
      readonly upstreamUrl: string
    }

interface InFlight {
  readonly done: Promise<void>
  /** Settles once the upstream answered and {@link join} is set, or the download ended without a stream. */
  readonly ready: Promise<void>
  /**
   * A follower's own branch of the live download, while no byte has passed yet (so that it misses
   * none); `undefined` once bytes flowed, for metadata, or when the download is over.
   */
  join?: () => Extract<RemoteResult, { kind: 'streaming' }> | undefined
}

/** Retries a follower makes when the download it waited for failed (the next pull works). */
const MAX_FOLLOW_ROUNDS = 2

/** Upstream 404s remembered at most (a client probing random paths must not grow memory without bound). */
const MAX_REMEMBERED_MISSES = 100_000

/**
 * The one remote-repository engine every format uses (formats own meaning, the core owns bytes):
 * pull-through, caching with time-to-live for metadata, a negative cache for upstream 404s,
 * "assumed offline" after failures, stale-if-error, single flight for concurrent misses, and
 * verification of what the upstream declared while the bytes stream through.
 */
export class RemoteEngine {
  private readonly inFlight = new Map<string, InFlight>()
  /** `repo\0path` → time until which an upstream 404 is remembered. */
  private readonly misses = new Map<string, number>()
  /** Repository key → until when its upstream is assumed offline, and the failure that caused it. */
  private readonly offlineUntil = new Map<string, { readonly until: number; readonly reason: string }>()

  constructor(
    private readonly deps: {
      readonly artifacts: ArtifactService
      readonly blobs: BlobStore
      readonly upstream: UpstreamClient
      readonly settings: SystemSettings
      readonly metrics: Metrics
      readonly logger: Logger
      /** Single flight across nodes; without it, only within this process. */
      readonly flights?: ClusterFlights | undefined
    },
  ) {}

  /** Upstream settings of a remote repository, defaults applied. */
  static upstreamOf(repository: Repository): UpstreamSettings {
    const config = repository.config
    if (repository.rclass !== 'remote' || !config.url) throw new TroveError('BAD_REQUEST', `'${repository.key}' is not a remote repository`)
    return {
      key: repository.key,
      url: config.url,
      username: config.username,
      password: config.password,
      socketTimeoutMs: numberSetting(config.socketTimeoutMillis, REMOTE_DEFAULTS.socketTimeoutMillis),
    }
  }

  /** `<url>/<path>`, with exactly one slash between them. */
  static urlOf(repository: Repository, path: string): string {
    const base = repository.config.url ?? ''
    return `${base.replace(/\/+$/, '')}/${path.split('/').map(encodeURIComponent).join('/')}`
  }

  /**
   * Whether requests should go upstream now: not when the repository or the whole system is
   * offline, or the upstream failed within `assumedOfflinePeriodSecs`.
   */
  async isOnline(repository: Repository): Promise<boolean> {
    return (await this.offlineReason(repository)) === undefined
  }

  /**
   * Why requests must not go upstream now, if they must not: `offline` when an admin said so (the
   * repository's flag or the global switch), `assumed` after a recent failure.
   */
  private async offlineReason(repository: Repository): Promise<{ kind: 'offline' } | { kind: 'assumed'; until: number; reason: string } | undefined> {
    if (repository.config.offline === true) return { kind: 'offline' }
    if ((await this.deps.settings.offline()).isOffline) return { kind: 'offline' }
    const assumed = this.offlineUntil.get(repository.key)
    if (assumed && assumed.until > Date.now()) return { kind: 'assumed', ...assumed }
    return undefined
  }

  /**
   * Resolves `path` in a remote repository: from the cache when it is there and fresh, else from
   * the upstream (cached as it streams through). Throws NOT_FOUND when neither has it, and
   * UPSTREAM_UNAVAILABLE (502, or 504 on a timeout) when the upstream fails and nothing is cached.
   */
  async fetch(repository: Repository, path: string, options: RemoteFetchOptions = {}): Promise<RemoteResult> {
    DigestCheck.validate(options.extraDigests)
    if (!repository.isPathAllowed(path)) throw notFound(`'${path}' is excluded from '${repository.key}' by its include/exclude patterns`)
    const key = `${repository.key}\0${path}`
    // What was fetched after this request arrived is as fresh as a fetch of its own would be: with
    // it, concurrent requests share one re-check even when the cache period is zero.
    const askedAt = Date.now()
    for (let round = 0; ; round++) {
      const cached = await this.deps.artifacts.getAsset(repository.key, path)
      if (cached && (!options.isMetadata || this.isFresh(repository, cached, askedAt))) {
        this.deps.metrics.remoteCache.inc({ repo: repository.key, result: 'hit' })
        return { kind: 'cached', asset: cached, isStale: false }
      }
      const offline = await this.offlineReason(repository)
      if (offline) {
        if (cached) return this.serveStale(repository, cached, offline.kind === 'offline' ? 'the repository is offline' : offline.reason)
        if (offline.kind === 'offline') throw notFound(`'${path}' is not cached in '${repository.key}' and its upstream is offline`)
        // Not a 404: the upstream may well have it, it failed moments ago.
        throw new TroveError(
          'UPSTREAM_UNAVAILABLE',
          `'${path}' is not cached in '${repository.key}', whose upstream is assumed offline until ${new Date(offline.until).toISOString()} ` +
            `(assumedOfflinePeriodSecs) after it failed: ${offline.reason}`,
        )
      }
      const missUntil = this.misses.get(key)
      if (missUntil !== undefined && missUntil > Date.now()) {
        this.deps.metrics.remoteCache.inc({ repo: repository.key, result: 'negative' })
        throw notFound(`'${path}' was not found upstream of '${repository.key}' (remembered for missedRetrievalCachePeriodSecs)`)
      }
      const pending = this.inFlight.get(key)
      if (pending) {
        // Single flight: share the live stream when it has not started yet (the concurrent herd) ...
        if (!options.isMetadata) await pending.ready
        const shared = options.isMetadata ? undefined : pending.join?.()
        if (shared) {
          this.deps.metrics.remoteCache.inc({ repo: repository.key, result: 'shared' })
          return shared
        }
        // ... else wait for the one download in progress, then answer from the cache.
        await pending.done.catch(() => {})
        if (round < MAX_FOLLOW_ROUNDS) continue
      }
      return this.download(repository, path, key, cached, askedAt, options)
    }
  }

  /** Forgets remembered failures and misses of one repository (after an admin changes it), or of all. */
  reset(repoKey?: string): void {
    if (repoKey === undefined) {
      this.offlineUntil.clear()
      this.misses.clear()
      return
    }
    this.offlineUntil.delete(repoKey)
    for (const key of this.misses.keys()) if (key.startsWith(`${repoKey}\0`)) this.misses.delete(key)
  }

  /** Whether cached metadata may be served without asking upstream: within its period, or fetched after `askedAt`. */
  private isFresh(repository: Repository, asset: Asset, askedAt: number): boolean {
    const period = numberSetting(repository.config.retrievalCachePeriodSecs, REMOTE_DEFAULTS.retrievalCachePeriodSecs) * 1000
    const fetchedAt = asset.fetchedAt ?? asset.modifiedAt
    return fetchedAt + period > Date.now() || fetchedAt > askedAt
  }

  private serveStale(repository: Repository, asset: Asset, why: string): RemoteResult {
    this.deps.metrics.staleServed.inc({ repo: repository.key })
    this.deps.logger.warn({ repo: repository.key, path: asset.path, why }, 'serving cached content past its cache period')
    return { kind: 'cached', asset, isStale: true }
  }

  private async download(
    repository: Repository,
    path: string,
    key: string,
    cachedBefore: Asset | undefined,
    askedAt: number,
    options: RemoteFetchOptions,
  ): Promise<RemoteResult> {
    let cached = cachedBefore
    let settle!: () => void
    let fail!: (err: unknown) => void
    const done = new Promise<void>((resolve, reject) => {
      settle = resolve
      fail = reject
    })
    done.catch(() => {}) // observed by followers; an unobserved rejection is not a crash
    let markReady!: () => void
    const flight: InFlight = { done, ready: new Promise<void>((resolve) => (markReady = resolve)) }
    this.inFlight.set(key, flight)
    let lease: Lease | undefined
    const release = () => {
      markReady()
      if (this.inFlight.get(key) === flight) this.inFlight.delete(key)
      void lease?.release()
    }

    // A download that ended between the caller's cache lookup and the registration above is no
    // longer in flight: look once more, now that any later request will wait for this one.
    let current: Asset | undefined
    try {
      current = await this.deps.artifacts.getAsset(repository.key, path)
    } catch (err) {
      release()
      fail(err)
      throw err
    }
    const isUsable = (asset: Asset | undefined): asset is Asset => asset !== undefined && (!options.isMetadata || this.isFresh(repository, asset, askedAt))
    if (!isUsable(current) && this.deps.flights) {
      // Another node may be downloading it: wait for that one instead of asking upstream too.
      try {
        lease = await this.deps.flights.lead(key, async () => isUsable((current = await this.deps.artifacts.getAsset(repository.key, path))), options.signal)
      } catch (err) {
        release()
        fail(err)
        throw err
      }
    }
    if (isUsable(current)) {
      release()
      settle()
      this.deps.metrics.remoteCache.inc({ repo: repository.key, result: 'hit' })
      return { kind: 'cached', asset: current, isStale: false }
    }
    cached = current
    this.deps.metrics.remoteCache.inc({ repo: repository.key, result: 'miss' })

    const upstream = RemoteEngine.upstreamOf(repository)
    const url = options.upstreamUrl ?? RemoteEngine.urlOf(repository, path)
    let response: UpstreamResponse
    try {
      response = await this.deps.upstream.request(upstream, { url, headers: options.headers, signal: options.signal })
    } catch (err) {
      release()
      fail(err)
      return this.onUpstreamFailure(repository, cached, err)
    }

    if (response.status === 404 || response.status === 410) {
      discard(response.body)
      release()
      settle()
      this.deps.metrics.upstreamRequests.inc({ repo: repository.key, outcome: 'not_found' })
      const period = numberSetting(repository.config.missedRetrievalCachePeriodSecs, REMOTE_DEFAULTS.missedRetrievalCachePeriodSecs)
      if (period > 0) this.rememberMiss(key, Date.now() + period * 1000)
      throw notFound(`'${path}' was not found upstream of '${repository.key}' (${url})`)
    }
    if (response.status < 200 || response.status >= 300) {
      discard(response.body)
      release()
      const err = new UpstreamFailure(false, `upstream ${new URL(url).origin} of '${repository.key}' answered ${response.status} for ${url}`)
      fail(err)
      return this.onUpstreamFailure(repository, cached, err)
    }
    this.deps.metrics.upstreamRequests.inc({ repo: repository.key, outcome: 'ok' })
    this.offlineUntil.delete(repository.key)
    this.misses.delete(key)

    const size = response.headers['content-length'] !== undefined ? Number(response.headers['content-length']) : undefined
    const contentType = response.headers['content-type'] ?? options.contentType ?? 'application/octet-stream'
    const expected: ExpectedChecksums = {
      ...options.expectedFromHeaders?.(response.headers),
      ...options.expected,
      ...(size !== undefined && Number.isSafeInteger(size) ? { size } : {}),
    }

    const extraDigests = options.extraDigests && Object.keys(options.extraDigests).length > 0 ? options.extraDigests : undefined
    if (repository.config.storeArtifactsLocally === false) {
      release()
      settle()
      // Errors reach a reader through the stream; one nobody reads (a HEAD) must not crash the process.
      response.body.on('error', () => {})
      if (!extraDigests) return { kind: 'streaming', stream: response.body, size, contentType, upstreamUrl: url }
      // Not stored, still verified: the last chunk is held until the digests are known to match.
      const checked = new DigestCheck(extraDigests)
      checked.on('error', () => {})
      response.body.on('error', (err) => checked.destroy(describeFailure(upstream, url, err)))
      response.body.pipe(checked)
      const named = new PassThrough()
      named.on('error', () => {})
      checked.on('error', (err) => named.destroy(failureOfBody(upstream, url, err)))
      checked.pipe(named)
      // Nothing is cached here: a client that goes away ends the upstream download too.
      named.on('close', () => response.body.destroy())
      return { kind: 'streaming', stream: named, size, contentType, upstreamUrl: url }
    }

    // Tee: one branch to the blob store, one to the client; the client's last chunk waits for the commit.
    // With extra digests, the branch to the store verifies them at its end: a mismatch errors the
    // stream before it ends, so the blob store never commits (it discards its temporary data).
    const toStore = extraDigests ? new DigestCheck(extraDigests) : new PassThrough()
    // The blob store attaches its handlers only after it has opened a writer: an upstream that
    // fails before then must not leave an unhandled 'error' (it would crash the process).
    toStore.on('error', () => {})
    const gate = new HoldLastChunk()
    // Errors reach a reader through the stream; one nobody reads (a HEAD, metadata) must not crash the process.
    gate.on('error', () => {})
    const source = response.body
    /** The client's branch, and those of followers that joined before the first byte. */
    const gates = [gate]
    source.on('error', (err) => {
      toStore.destroy(err)
      for (const g of gates) g.destroy(describeFailure(upstream, url, err))
    })
    source.pipe(toStore)
    source.pipe(gate)
    // A client that goes away must not stop the cache write (it has its own upstream timeouts).
    gate.on('close', () => source.unpipe(gate))
    if (!options.isMetadata) {
      let hasFlowed = false
      source.once('data', () => {
        hasFlowed = true
      })
      // Concurrent requests that arrive before the first byte get a branch of the same stream
      // (held back and verified as the first one is) instead of waiting for the whole download.
      flight.join = () => {
        if (hasFlowed || source.destroyed || source.readableEnded) return undefined
        const follower = new HoldLastChunk()
        follower.on('error', () => {})
        source.pipe(follower)
        follower.on('close', () => source.unpipe(follower))
        gates.push(follower)
        return { kind: 'streaming', stream: follower, size, contentType, upstreamUrl: url }
      }
    }
    markReady()

    const committed = (async () => {
      const blob = await this.deps.blobs.put(toStore, { expected })
      const fetchedAt = Date.now()
      // A cache entry can be fetched again: its commit need not wait for a sync of its own.
      return reFetchable(() =>
        this.deps.artifacts.deployBlob(repository, path, blob, {
          user: `remote:${repository.key}`,
          contentType,
          expected: { sha256: expected.sha256, sha1: expected.sha1, md5: expected.md5 },
          source: { url, fetchedAt },
        }),
      )
    })()
    committed.then(
      (asset) => {
        release()
        settle()
        for (const g of gates) g.open()
        this.deps.logger.info({ repo: repository.key, path, size: asset.size, url }, 'cached from upstream')
      },
      (err: unknown) => {
        release()
        fail(err)
        source.destroy()
        // Named for the client: the upstream failed, not the client's request (a 400 would blame it).
        for (const g of gates) g.destroy(failureOfBody(upstream, url, err))
        this.deps.logger.warn({ err, repo: repository.key, path, url }, 'upstream download refused or failed; nothing cached')
      },
    )

    if (options.isMetadata) {
      // Metadata is small and formats parse it: answer from the cache once it is committed.
      gate.resume()
      try {
        const asset = await committed
        return { kind: 'cached', asset, isStale: false }
      } catch (err) {
        // The upstream failed mid-body or served what it did not declare: stale if error.
        return this.onUpstreamFailure(repository, cached, failureOfBody(upstream, url, err), { isBodyFailure: true })
      }
    }
    return { kind: 'streaming', stream: gate, size, contentType, upstreamUrl: url }
  }

  private rememberMiss(key: string, until: number): void {
    this.misses.delete(key) // re-inserted last: the map is in the order misses were remembered
    this.misses.set(key, until)
    if (this.misses.size <= MAX_REMEMBERED_MISSES) return
    const now = Date.now()
    for (const [k, expiry] of this.misses) if (expiry <= now) this.misses.delete(k)
    // Still too many: forget the oldest (they are asked upstream again, which is merely slower).
    for (const k of this.misses.keys()) {
      if (this.misses.size <= MAX_REMEMBERED_MISSES) break
      this.misses.delete(k)
    }
  }

  private onUpstreamFailure(
    repository: Repository,
    cached: Asset | undefined,
    err: unknown,
    options: { readonly isBodyFailure?: boolean } = {},
  ): RemoteResult {
    const isTimeout = err instanceof UpstreamFailure && err.isTimeout
    const message = err instanceof Error ? err.message : String(err)
    if (err instanceof UpstreamRefusedError) {
      // Nothing was sent: the URL (often one an index named, for one file) reaches an address the
      // host policy refuses. That fails this request only; the upstream's other paths still work.
      this.deps.metrics.upstreamRequests.inc({ repo: repository.key, outcome: 'refused' })
    } else if (!options.isBodyFailure) {
      // A failed body was already counted as a request; it does not make the upstream "offline" either.
      this.deps.metrics.upstreamRequests.inc({ repo: repository.key, outcome: isTimeout ? 'timeout' : 'error' })
      const period = numberSetting(repository.config.assumedOfflinePeriodSecs, REMOTE_DEFAULTS.assumedOfflinePeriodSecs)
      if (period > 0) this.offlineUntil.set(repository.key, { until: Date.now() + period * 1000, reason: message })
    }
    this.deps.logger.warn({ repo: repository.key, err: message }, 'upstream failed')
    if (cached) return this.serveStale(repository, cached, message)
    if (err instanceof TroveError) {
      if (isTimeout) throw new TroveError('UPSTREAM_TIMEOUT', message)
      throw err.code === 'UPSTREAM_UNAVAILABLE' ? err : new TroveError('UPSTREAM_UNAVAILABLE', message, undefined, { cause: err })
    }
    throw new TroveError('UPSTREAM_UNAVAILABLE', `upstream of '${repository.key}' failed: ${message}`, undefined, { cause: err })
  }
}

/** What a failed download body means for the client: bad content or a broken upstream, named. */
function failureOfBody(upstream: UpstreamSettings, url: string, err: unknown): Error {
  if (err instanceof TroveError && (err.code === 'DIGEST_INVALID' || err.code === 'SIZE_INVALID')) {
    return new UpstreamFailure(false, `upstream ${new URL(url).origin} of '${upstream.key}' sent content that does not match what it declared: ${err.message}`, {
      cause: err,
    })
  }
  return describeFailure(upstream, url, err)
}

function numberSetting(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback
}
