import { writeFile, mkdir } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { pino, type Logger } from 'pino'
import type { TroveConfig } from './config/config.js'
import { ArtifactService } from './core/artifacts/artifact-service.js'
import { AccessSettings } from './core/auth/access-settings.js'
import { Authenticator, CREDENTIALS_TOPIC } from './core/auth/authenticator.js'
import { GrantAuthorizer, GrantService } from './core/auth/authorizer.js'
import { GroupService } from './core/auth/groups.js'
import { LoginLimiter } from './core/auth/login-limiter.js'
import { PermissionTargetService } from './core/auth/permission-targets.js'
import { ProjectService } from './core/auth/projects.js'
import { StorageQuota, type QuotaListener } from './core/auth/quota.js'
import { RegistryTokenService } from './core/auth/registry-tokens.js'
import { SsoService } from './core/auth/sso/sso-service.js'
import { TokenService } from './core/auth/token-service.js'
import { UserService } from './core/auth/user-service.js'
import { BlobReadCache } from './core/blobs/blob-cache.js'
import { BlobRecords } from './core/blobs/blob-records.js'
import { BlobStore } from './core/blobs/blob-store.js'
import { CacheEviction } from './core/lifecycle/eviction.js'
import { TrashCan } from './core/lifecycle/trash.js'
import { UsageReports } from './core/lifecycle/usage.js'
import { GarbageCollector } from './core/blobs/garbage-collector.js'
import { TemporarySweeper } from './core/blobs/temporary-sweeper.js'
import { UploadService } from './core/uploads/upload-service.js'
import { FederationService } from './core/federation/federation-service.js'
import { JobQueue } from './core/jobs/job-queue.js'
import { AuditLog } from './core/operations/audit-log.js'
import { MaintenanceClock } from './core/operations/maintenance-clock.js'
import { MaintenanceWindows } from './core/operations/maintenance.js'
import { Notifications } from './core/operations/notifications.js'
import { WebhookService } from './core/operations/webhooks.js'
import { announceScanFindings } from './core/operations/scan-events.js'
import { ServiceRequests } from './core/operations/requests.js'
import { SecurityReviewers } from './core/operations/reviewers.js'
import { Metrics } from './core/metrics.js'
import { Downloads } from './core/remote/downloads.js'
import { RemoteEngine } from './core/remote/remote-engine.js'
import { ResolutionEngine } from './core/remote/resolution.js'
import { RepositoryService } from './core/repositories/repository-service.js'
import { DownloadPolicies } from './core/scanning/policies.js'
import { TroveError } from './core/errors.js'
import { ScanReports } from './core/scanning/reports.js'
import { Scanner } from './core/scanning/scanner.js'
import { ScanningRegistry } from './core/scanning/scanning-registry.js'
import { VulnDbSync } from './core/scanning/sync.js'
import { VulnerabilityDatabase } from './core/scanning/vulndb.js'
import type { CoreServices } from './core/services.js'
import { InstanceRegistry } from './core/system/instances.js'
import { lifecycleRules, scheduleUpkeep } from './upkeep.js'
import { ChangeFeed } from './core/cluster/change-feed.js'
import { DocumentCache } from './core/metadata-cache/document-cache.js'
import { ClusterLeases } from './core/cluster/leases.js'
import { ClusterFlights } from './core/remote/cluster-flights.js'
import { VERSION } from './version.js'
import { StorageSummaries } from './core/system/storage-summary.js'
import { SystemSettings } from './core/system/system-settings.js'
import { UpstreamClient } from './core/upstream/upstream-client.js'
import { UpstreamHostPolicy } from './core/upstream/upstream-hosts.js'
import { assertDistinctFormats, type Format } from './formats/format.js'
import { FORMATS } from './formats/index.js'
import { buildHttpApp } from './http/app.js'
import { openMetadataStore } from './metadata/database.js'
import { describeLocation, openStorageDriver } from './storage/open-storage-driver.js'
import type { StorageDriver } from './storage/storage-driver.js'

/** How often abandoned uploads' temporary data is looked for (garbage collection looks too). */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000
/** While the blob store cannot be reached, it is tried again this often (readiness checks it on every probe). */
const STORAGE_RETRY_MS = 10_000
const JOB_POLL_MS = 10_000
/** The message a serving worker sends (through the primary) to wake the jobs process. */
export const WAKE_JOBS = 'jobs.poke'

/**
 * What this process does: everything (`all`, one process per node), or, for `trove serve` with
 * several workers, serve requests (`serve`, one of `count` workers) or run the background work
 * (`jobs`: jobs, garbage collection, sweeps, the maintenance clock) without serving.
 */
export type ProcessRole = { readonly role: 'all' } | { readonly role: 'serve'; readonly index: number; readonly count: number } | { readonly role: 'jobs' }

export interface Trove {
  readonly app: FastifyInstance
  readonly services: CoreServices
  readonly logger: Logger
  /** Starts listening (the jobs process: only its background work); resolves to the URL to show (localhost for a wildcard host). */
  listen(): Promise<string>
  close(): Promise<void>
}

/** Wiring: config → drivers → core → formats → app. Runs migrations and the admin bootstrap. */
export async function createTrove(config: TroveConfig, options: { logger?: Logger; formats?: readonly Format[]; process?: ProcessRole } = {}): Promise<Trove> {
  const logger = options.logger ?? pino({ level: config.log.level })
  for (const warning of config.warnings) logger.warn(warning)
  // The formats served: every registered one (tests add their own); two claiming one name are refused.
  const formats = options.formats ?? FORMATS
  assertDistinctFormats(formats)
  const role = options.process ?? { role: 'all' }
  // The workers of one node share its database and must hear of each other's changes.
  const isWorker = role.role !== 'all'
  const runsBackground = role.role !== 'serve'

  const metadata = openMetadataStore(config.databaseUrl)
  await metadata.migrate(formats)
  const db = metadata.db
  const { cluster } = config
  const instances = new InstanceRegistry(db, logger, { heartbeatMs: cluster.heartbeatSecs * 1000, staleMs: cluster.nodeTimeoutSecs * 1000 }, VERSION)
  if (metadata.engine === 'sqlite') await refuseSecondSqliteNode(instances, config.databaseUrl, metadata.close, isWorker)
  await instances.start()
  const storage = openStorageDriver(config.blobstoreLocation, config.blobstore.s3)
  const changes = new ChangeFeed(metadata, logger, undefined, { isShared: isWorker })
  await changes.start()
  const leases = new ClusterLeases(db, instances.id, logger, { ttlMs: cluster.leaseTtlSecs * 1000, renewMs: Math.max(500, (cluster.leaseTtlSecs * 1000) / 4) })

  const notifications = new Notifications((err, event) => logger.warn({ err, event: event.type }, 'an operations event listener failed'))
  const hostPolicy = new UpstreamHostPolicy(config.remote.allowedUpstreamHosts)
  const repositories = new RepositoryService(db, new Map(formats.map((f) => [f.id, f.kinds])), {
    checkUpstreamUrl: (url) => hostPolicy.assertUrl(url),
    settings: new Map(formats.map((f) => [f.id, f.settings ?? []])),
  })
  // Credentials the authenticator remembers are forgotten at once on every node when one may have ended.
  const credentialsChanged = () => changes.publish(CREDENTIALS_TOPIC)
  const users = new UserService(db, credentialsChanged)
  const accessSettings = new AccessSettings(db)
  const tokens = new TokenService(db, accessSettings, credentialsChanged)
  const registryTokens = new RegistryTokenService(db)
  const records = new BlobRecords(db)
  const { cache: cacheSettings } = config.blobstore
  // Each serving worker keeps its own part of the read cache (a cache is indexed by one process);
  // the jobs process keeps none.
  const cache =
    cacheSettings.dir === undefined || role.role === 'jobs'
      ? undefined
      : role.role === 'serve'
        ? new BlobReadCache(join(resolve(cacheSettings.dir), `worker-${role.index}`), Math.floor(cacheSettings.maxBytes / role.count), logger)
        : new BlobReadCache(resolve(cacheSettings.dir), cacheSettings.maxBytes, logger)
  // Indexed in the background: until then every read misses and is written through.
  cache?.load().catch((err: unknown) => logger.warn({ err }, 'could not read the blob cache folder; it fills anew'))
  const blobs = new BlobStore(storage, {
    owner: instances.id,
    records,
    redirectExpirySecs: config.blobstore.redirectDownloads ? config.blobstore.redirectExpirySecs : undefined,
    offload: config.blobstore.offload === 'off' ? undefined : { header: config.blobstore.offload, location: config.blobstore.offloadLocation },
    cache,
  })
  // A serving worker queues jobs; the jobs process runs them, woken through the primary at once.
  const wake = role.role === 'serve' ? () => process.send?.({ trove: WAKE_JOBS }) : undefined
  const jobs = new JobQueue(db, logger, { owner: instances.id, liveness: () => instances.liveness(), wake })
  const metrics = new Metrics()
  const upstream = new UpstreamClient(hostPolicy, logger)
  const settings = new SystemSettings(db, changes)
  // Quota levels reach the project's webhooks once the change is over (the listener defers).
  let onQuotaLevel: QuotaListener = () => {}
  const quota = new StorageQuota(db, logger, metrics.registry, (event) => setImmediate(() => onQuotaLevel(event)))
  // Storage lifecycle (docs/lifecycle.md): what cleanups free is recorded; deletes in local repositories go to the trash.
  const usage = new UsageReports(db, repositories)
  usage.registerMetrics(metrics.registry)
  const trash = new TrashCan(db, config.trashcan, quota, usage)
  const artifacts = new ArtifactService(db, blobs, quota, trash)
  // Rendered metadata documents of local repositories: forgotten at every change of their repository, on every node.
  const documents = new DocumentCache(config.caches.documentBytes, changes, logger)
  artifacts.onChanged(async (repository) => {
    if (repository.rclass === 'local') await documents.changed(repository.key)
  })
  changes.subscribe('repositories', () => documents.clear())
  const uploads = new UploadService({
    db,
    blobs,
    quota,
    instanceId: instances.id,
    liveness: () => instances.liveness(),
    repository: (key) => repositories.get(key),
  })
  // Temporary data of upload sessions stays while the session is open, whichever node wrote it.
  const sweeper = new TemporarySweeper(storage, instances, (id) => blobs.isWriting(id), logger, uploads)
  const gc = new GarbageCollector(records, blobs, sweeper, logger)
  // Files past the trash can's retention period go first, so their blobs go in the same run.
  gc.beforeCollect(() => trash.purgeExpired())
  gc.afterCollect(async (result) => usage.recordFreed({ repoKey: null, bytes: result.freedBytes, files: result.deleted, source: 'gc' }))
  const cacheEviction = new CacheEviction({ db, repositories, artifacts, freed: usage, logger })
  const groups = new GroupService(db)
  const projects = new ProjectService(db, users, repositories, credentialsChanged)
  const permissionTargets = new PermissionTargetService(db)
  // What the formats give the scanner (extractors, ecosystems): the core asks this, never a package type.
  const scanning = new ScanningRegistry(formats)
  const vulndb = new VulnerabilityDatabase(db, scanning)
  const scanner = new Scanner({ db, blobs, repositories, vulndb, jobs, logger, registry: scanning, limits: config.scanning })
  scanner.registerJobs()
  // Scan on upload and on first caching: every committed file an extractor reads queues a job.
  artifacts.onStored((repository, files) => {
    scanner.onStored(repository, files).catch((err: unknown) => logger.warn({ err, repo: repository.key }, 'could not queue a scan'))
  })
  const policies = new DownloadPolicies({ db, scanner, repositories, projectExists: async (key) => (await projects.get(key)) !== undefined })
  const vulndbSync = new VulnDbSync({ db, vulndb, scanner, upstream, jobs, logger, scratchDir: config.dataDir, checkUrl: (url) => hostPolicy.assertUrl(url) })
  vulndbSync.registerJobs()
  const loginLimiter = new LoginLimiter(db, users, config.loginLimits)
  // A download a policy refuses is announced (download.blocked) to the repository's project's webhooks.
  const announcedPolicies: Pick<DownloadPolicies, 'assertDownloadAllowed'> = {
    assertDownloadAllowed: async (target) => {
      try {
        await policies.assertDownloadAllowed(target)
      } catch (err) {
        if (err instanceof TroveError && err.code === 'DENIED') {
          const repository = typeof target.repository === 'string' ? await repositories.get(target.repository) : target.repository
          const project = typeof repository?.config.projectKey === 'string' && repository.config.projectKey !== '' ? repository.config.projectKey : undefined
          const key = repository?.key ?? String(target.repository)
          void notifications.emit({ type: 'download.blocked', project, text: `Download of ${key}/${target.path} blocked: ${err.message}`, data: { repository: key, path: target.path, reason: err.message } })
        }
        throw err
      }
    },
  }
  const downloads = new Downloads({ db, policies: announcedPolicies, artifacts, logger })
  const audit = new AuditLog(db)
  const { immutability, cleanupPolicies } = lifecycleRules({ db, artifacts, repositories, jobs, audit, logger })
  const maintenance = new MaintenanceWindows(db, { noticeMs: config.operations.maintenanceNoticeSecs * 1000 })
  const maintenanceClock = new MaintenanceClock({ windows: maintenance, audit, notifications, logger })
  const webhooks = new WebhookService({ db, jobs, hostPolicy, logger })
  webhooks.registerJobs()
  notifications.on((event) => webhooks.onEvent(event))
  announceScanFindings({ db, scanner, repositories, notifications, logger })
  onQuotaLevel = ({ project, level, usedBytes, quotaBytes }) => {
    const text = level === 'warning' ? `Project ${project} uses ${Math.round((usedBytes / quotaBytes) * 100)}% of its storage quota` : `Project ${project} is at its storage quota: an upload was refused`
    void notifications.emit({ type: level === 'warning' ? 'quota.warning' : 'quota.exceeded', project, text, data: { project, usedBytes, quotaBytes } })
  }
  // Deploys (not what a remote repository caches) reach the webhooks of the repository's project.
  artifacts.onStored((repository, files) => {
    if (repository.rclass === 'remote') return
    const project = typeof repository.config.projectKey === 'string' && repository.config.projectKey !== '' ? repository.config.projectKey : undefined
    for (const file of files) {
      void notifications.emit({ type: 'artifact.deployed', project, text: `Deployed ${repository.key}/${file.path}`, data: { repository: repository.key, path: file.path, sha256: file.sha256 } })
    }
  })
  // One process on SQLite: single flight within the process is single flight in the cluster.
  const flights = metadata.engine === 'postgres' || isWorker ? new ClusterFlights(leases) : undefined
  const remote = new RemoteEngine({ artifacts, blobs, upstream, settings, metrics, logger, flights })
  // A repository changed on any node: what this node remembers of its upstream (failures, misses) is forgotten.
  changes.subscribe('repositories', () => remote.reset())
  const federation = await FederationService.open({ db, repositories, settings: config.federation, logger, artifacts, blobs, uploads })
  federation.registerMetrics(metrics.registry)
  const services: CoreServices = {
    config,
    metadata,
    instances,
    changes,
    storage,
    blobs,
    storageSummaries: new StorageSummaries(db, repositories, {
      type: storage.name,
      location: config.blobstoreLocation,
      description: describeLocation(config.blobstoreLocation),
    }),
    repositories,
    artifacts,
    documents,
    uploads,
    users,
    tokens,
    grants: new GrantService(db),
    authenticator: new Authenticator(users, tokens, registryTokens, loginLimiter, { rememberMs: config.caches.credentialSecs * 1000, changes }),
    loginLimiter,
    sso: new SsoService(db, config.sso, logger, credentialsChanged),
    authorizer: new GrantAuthorizer(
      db,
      {
        isAnonymousReadable: async (key) => (await repositories.get(key))?.config.anonymousRead === true,
        describe: async (key) => {
          const repository = await repositories.get(key)
          const project = repository?.config.projectKey
          return repository && { rclass: repository.rclass, projectKey: typeof project === 'string' && project !== '' ? project : undefined }
        },
      },
      { projects, groups, targets: permissionTargets, settings: accessSettings },
    ),
    projects,
    groups,
    permissionTargets,
    quota,
    accessSettings,
    settings,
    registryTokens,
    jobs,
    gc,
    metrics,
    upstream,
    remote,
    resolution: new ResolutionEngine(repositories),
    downloads,
    vulndb,
    scanner,
    policies,
    scanReports: new ScanReports(db, scanner),
    vulndbSync,
    audit,
    maintenance,
    notifications,
    webhooks,
    requests: new ServiceRequests(db),
    reviewers: new SecurityReviewers(db, groups),
    federation,
    trash,
    cacheEviction,
    usage,
    cleanupPolicies,
    immutability,
  }

  scheduleUpkeep(services, config)

  await bootstrapAdmin(users, config, logger)
  const sweep = () => sweeper.sweep().catch((err: unknown) => logger.warn({ err }, 'sweeping abandoned uploads failed'))
  // A store that cannot be reached does not stop the start: readiness reports it until it can.
  const storageCheck = checkStorage(storage, describeLocation(config.blobstoreLocation), logger, () => {
    if (runsBackground) void sweep()
  })
  const sweepTimer = runsBackground ? setInterval(() => void sweep(), SWEEP_INTERVAL_MS) : undefined
  sweepTimer?.unref()
  const onMessage = (message: unknown) => {
    if ((message as { trove?: unknown } | null)?.trove === WAKE_JOBS) jobs.poke()
  }
  if (role.role === 'jobs') process.on('message', onMessage)

  const app = await buildHttpApp(services, formats, logger)
  return {
    app,
    services,
    logger,
    async listen() {
      if (role.role === 'jobs') {
        await instances.announce({ state: 'serving' })
        jobs.start(JOB_POLL_MS)
        maintenanceClock.start()
        logger.info('Trove runs the background jobs of this node')
        return ''
      }
      // The raw server's listen, so that exactly one line announces the URL (Fastify logs one per address).
      await app.ready()
      await new Promise<void>((resolve, reject) => {
        app.server.once('error', reject)
        app.server.listen({ port: config.port, host: config.host }, () => {
          app.server.off('error', reject)
          resolve()
        })
      })
      const address = app.server.address()
      if (address === null || typeof address === 'string') throw new Error(`unexpected server address ${String(address)}`)
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address
      const url = `http://${host}:${address.port}`
      await instances.announce({ address: `${config.host === '0.0.0.0' || config.host === '::' ? hostname() : host}:${address.port}`, state: 'serving' })
      if (runsBackground) {
        jobs.start(JOB_POLL_MS)
        // Periodic passes and full syncs; a change made in a serving worker is sent from there at once.
        federation.start()
        maintenanceClock.start()
      }
      logger.info({ url, ...(role.role === 'serve' ? { worker: role.index } : {}) }, `Trove listening on ${url}`)
      return url
    },
    async close() {
      // Draining: readiness answers 503 (for drainDelaySecs before anything else, so that a
      // balancer checking it stops sending), the listener closes, new requests on open connections
      // get 503 + Connection: close, in-flight ones finish within the drain timeout; a job still
      // running then is given back to the queue.
      const drainMs = cluster.drainTimeoutSecs * 1000
      await instances.announce({ state: 'draining' }).catch((err: unknown) => logger.warn({ err }, 'could not record the draining state'))
      clearInterval(sweepTimer)
      process.off('message', onMessage)
      storageCheck.cancel()
      await maintenanceClock.stop()
      if (cluster.drainDelaySecs > 0 && app.server.listening) await new Promise((resolve) => setTimeout(resolve, cluster.drainDelaySecs * 1000))
      const cutoff = setTimeout(() => {
        logger.warn({ drainTimeoutSecs: cluster.drainTimeoutSecs }, 'requests still in flight at the end of the drain timeout are cut')
        app.server.closeAllConnections()
      }, drainMs)
      cutoff.unref()
      await Promise.all([app.close(), federation.stop(), jobs.stop(drainMs).catch((err: unknown) => logger.warn({ err }, 'could not give back running jobs'))])
      clearTimeout(cutoff)
      await changes.stop()
      await downloads.close() // the counts of the last downloads
      // After the last request: what this process still had in flight is now orphaned for others to reclaim.
      await instances.stop()
      await storage.close?.()
      await upstream.close()
      await webhooks.close()
      await metadata.close()
    },
  }
}

/**
 * Checks the blob store until it answers, saying so once in the log when it does not (readiness
 * answers 503 meanwhile) and again when it recovers; then runs `onReachable` (the first sweep).
 */
function checkStorage(storage: StorageDriver, location: string, logger: Logger, onReachable: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout | undefined
  let isCancelled = false
  const attempt = async (isFirst: boolean) => {
    try {
      await storage.checkHealth()
    } catch (err) {
      if (isCancelled) return
      if (isFirst) {
        logger.error(
          { blobstore: location, error: (err as Error).message },
          `the blob store ${location} cannot be reached (${(err as Error).message}); readiness reports DOWN until it can, retrying every ${STORAGE_RETRY_MS / 1000} s`,
        )
      }
      timer = setTimeout(() => void attempt(false), STORAGE_RETRY_MS)
      timer.unref()
      return
    }
    if (isCancelled) return
    if (!isFirst) logger.info({ blobstore: location }, `the blob store ${location} can be reached again`)
    onReachable()
  }
  void attempt(true)
  return {
    cancel() {
      isCancelled = true
      clearTimeout(timer)
    },
  }
}

/**
 * SQLite serves one process: it cannot be shared between machines, its file lock serialises every
 * writer, and nodes would not hear of each other's changes (no LISTEN/NOTIFY). A cluster runs on
 * PostgreSQL. Refused when another live instance has a fresh heartbeat (a crashed one is
 * recognised as gone at once on the same host).
 */
async function refuseSecondSqliteNode(instances: InstanceRegistry, databaseUrl: string, close: () => Promise<void>, isWorker = false): Promise<void> {
  // The workers of this node (started by the same `trove serve`) share its database.
  const others = (await instances.othersAlive()).filter((o) => !(isWorker && o.hostname === hostname() && parentPidOf(o.pid) === process.ppid))
  if (others.length === 0) return
  await close()
  const list = others.map((o) => `${o.hostname} pid ${o.pid}${o.address ? ` at ${o.address}` : ''}`).join(', ')
  throw new ClusterConfigError(
    `another Trove node is running on the SQLite database ${databaseUrl} (${list}). SQLite supports a single node: ` +
      'stop the other one, or run several nodes on PostgreSQL (TROVE_DATABASE_URL=postgres://…) and a shared blob store (docs/high-availability.md)',
  )
}

/** The parent process of `pid` on this host (Linux), undefined when it cannot be told. */
function parentPidOf(pid: number): number | undefined {
  try {
    // The command name (2nd field) is in parentheses and may contain spaces: the parent follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '', 10)
  } catch {
    return undefined
  }
}

/**
 * What `trove serve` does once before it starts its workers: migrates the metadata store, refuses
 * a second node on SQLite, and creates the admin user, so that the workers need not race for these.
 */
export async function prepareTrove(config: TroveConfig, options: { logger?: Logger; formats?: readonly Format[] } = {}): Promise<void> {
  const logger = options.logger ?? pino({ level: config.log.level })
  const metadata = openMetadataStore(config.databaseUrl)
  try {
    await metadata.migrate(options.formats ?? FORMATS)
    if (metadata.engine === 'sqlite') {
      const { cluster } = config
      const instances = new InstanceRegistry(metadata.db, logger, { heartbeatMs: cluster.heartbeatSecs * 1000, staleMs: cluster.nodeTimeoutSecs * 1000 })
      await refuseSecondSqliteNode(instances, config.databaseUrl, async () => {})
    }
    await bootstrapAdmin(new UserService(metadata.db), config, logger)
  } finally {
    await metadata.close()
  }
}

/** The configuration cannot run here (a second node on SQLite): the CLI prints it and exits with 2. */
export class ClusterConfigError extends Error {
  override readonly name = 'ClusterConfigError'
}

async function bootstrapAdmin(users: UserService, config: TroveConfig, logger: Logger): Promise<void> {
  const created = await users.bootstrapAdmin(config.adminPassword)
  if (!created) return
  if (!created.generated) {
    logger.info('created the admin user with the password from TROVE_ADMIN_PASSWORD')
    return
  }
  const file = join(config.dataDir, 'admin.password')
  await mkdir(config.dataDir, { recursive: true })
  await writeFile(file, `${created.password}\n`, { mode: 0o600 })
  // Printed once, on the first start; the file keeps it for whoever runs the server.
  logger.warn({ file }, `created the admin user; its generated password is ${created.password} (also written to ${file})`)
}
