import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import type { StorageLocation } from '../storage/open-storage-driver.js'
import { sectionOf, type ConfigSection, type EnvVariable } from './sections.js'
import { GitHubProviderSchema, OidcProviderSchema } from './sso-providers.js'
import { cachesSection, clusterSection, federationSection } from './cluster-sections.js'
import { trashcanSection, upkeepSection } from './lifecycle-sections.js'

export { configSection, sectionOf, type ConfigSection, type EnvVariable } from './sections.js'
export type { GitHubProviderConfig, OidcProviderConfig, SsoProviderConfig } from './sso-providers.js'

const seconds = z.number().int().nonnegative()
const MiB = 1024 * 1024
const GiB = 1024 * MiB


const ConfigSchema = z
  .object({
    host: z.string().min(1).default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8081),
    /**
     * Serving processes on the one port (`trove serve`): the number of CPUs by default. With more
     * than one, a further process runs the background jobs (docs/configuration.md).
     */
    workers: z.number().int().min(1).max(256).default(availableParallelism()),
    dataDir: z.string().min(1).default('./data'),
    /** External URL when Trove runs behind a proxy; otherwise taken from each request. */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    adminPassword: z.string().min(8, 'must be at least 8 characters').optional(),
    database: z.object({ url: z.string().min(1).optional() }).strict().default({}),
    blobstore: z
      .object({
        /** A folder (default: the data folder), `file://…`, or `s3://<bucket>/<optional prefix>`. */
        url: z.string().min(1).optional(),
        /**
         * Blob downloads answer with a 307 to a short-lived presigned URL of the object store, so the
         * bytes go straight from the store to the client (S3 only). Checks and statistics happen first.
         */
        redirectDownloads: z.boolean().default(false),
        /** How long a download redirect's URL stays valid. */
        redirectExpirySecs: seconds.min(1).max(7 * 24 * 3600).default(300),
        /**
         * Blob downloads are sent by the reverse proxy in front (filesystem store only): once Trove
         * has authorized and counted a download it answers with `X-Accel-Redirect` (nginx) to
         * `offloadLocation` + the blob's key, or `X-Sendfile` (Apache, lighttpd) with its path, and
         * the proxy sends the file. See docs/storage.md.
         */
        offload: z.enum(['off', 'x-accel-redirect', 'x-sendfile']).default('off'),
        /** The proxy's internal location of the blob folder, for `x-accel-redirect`. */
        offloadLocation: z
          .string()
          .regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, 'a path such as /_trove_blobs')
          .default('/_trove_blobs'),
        s3: z
          .object({
            /** An S3-compatible store's URL (MinIO, Ceph RGW, OpenShift Data Foundation); AWS when unset. */
            endpoint: z.url({ protocol: /^https?$/ }).optional(),
            /** Else `AWS_REGION`, else `us-east-1`. */
            region: z.string().min(1).optional(),
            /** `endpoint/bucket/key` addressing, which most S3-compatible stores need. */
            forcePathStyle: z.boolean().default(false),
            /** Uploads are sent in parts of this size; each upload holds at most (maxConcurrentParts + 1) of them in memory. */
            partSizeBytes: z.number().int().min(5 * MiB, 'must be at least 5 MiB (S3’s smallest part)').max(5 * GiB).default(8 * MiB),
            /**
             * Parts of one upload in flight at once. Two keep an upload to S3 moving at the speed of a
             * part in flight per connection, and (2 + 1) × 8 MiB per upload in memory at most.
             */
            maxConcurrentParts: z.number().int().min(1).max(64).default(2),
            /** Attempts per request (throttling, 5xx and reset connections are retried with backoff). */
            maxAttempts: z.number().int().min(1).max(20).default(5),
          })
          .strict()
          .default({ forcePathStyle: false, partSizeBytes: 8 * MiB, maxConcurrentParts: 2, maxAttempts: 5 }),
        /** A per-node disk cache of blobs read from the store, for object stores (any backend works). */
        cache: z
          .object({
            /** Unset: no cache. Safe to empty or delete at any time. */
            dir: z.string().min(1).optional(),
            /** The least recently used blobs are evicted past this. */
            maxBytes: z.number().int().positive().default(10 * GiB),
          })
          .strict()
          .default({ maxBytes: 10 * GiB }),
      })
      .strict()
      .default({
        redirectDownloads: false,
        redirectExpirySecs: 300,
        offload: 'off',
        offloadLocation: '/_trove_blobs',
        s3: { forcePathStyle: false, partSizeBytes: 8 * MiB, maxConcurrentParts: 2, maxAttempts: 5 },
        cache: { maxBytes: 10 * GiB },
      }),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    remote: z
      .object({
        /**
         * Hosts and CIDR ranges remote repositories may reach although they are loopback, private or
         * link-local (refused otherwise, redirects included).
         */
        allowedUpstreamHosts: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ allowedUpstreamHosts: [] }),
    gc: z
      .object({
        /** An unreferenced blob is kept this long after its last write, so GC never races an upload. */
        graceSecs: seconds.default(3600),
        /** How often garbage collection runs; 0 turns the schedule off (it still runs on request). */
        intervalSecs: seconds.default(4 * 3600),
      })
      .strict()
      .default({ graceSecs: 3600, intervalSecs: 4 * 3600 }),
    trashcan: trashcanSection,
    upkeep: upkeepSection,
    http: z
      .object({
        /** Time allowed to receive a request's headers (slow-loris guard). */
        headersTimeoutSecs: seconds.default(30),
        /** A connection with no bytes moving either way for this long is closed. Uploads keep it alive. */
        idleTimeoutSecs: seconds.default(120),
        /** How long an idle keep-alive connection is kept open between requests. */
        keepAliveTimeoutSecs: seconds.default(30),
        /**
         * Wall-clock limit for a whole request, 0 for none. Off by default so that multi-GiB uploads
         * on slow links succeed; the idle and header timeouts still bound a stalled client.
         */
        requestTimeoutSecs: seconds.default(0),
        /** Largest JSON body the REST API parses. */
        jsonBodyLimitBytes: z.number().int().positive().default(1024 * 1024),
        /**
         * Addresses or CIDR ranges of the reverse proxies (load balancers) in front of Trove, whose
         * `X-Forwarded-For` and `X-Forwarded-Proto` are believed: the client's address (for the login
         * limits and the logs) is then the one they forward. Empty: the connecting address.
         */
        trustedProxies: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({
        headersTimeoutSecs: 30,
        idleTimeoutSecs: 120,
        keepAliveTimeoutSecs: 30,
        requestTimeoutSecs: 0,
        jsonBodyLimitBytes: 1024 * 1024,
        trustedProxies: [],
      }),
    sso: z
      .object({
        providers: z
          .array(z.union([GitHubProviderSchema, OidcProviderSchema]))
          .default([])
          .refine((list) => new Set(list.map((p) => p.id)).size === list.length, 'provider ids must be unique'),
        /** How long a started sign-in may take at the provider before its callback is refused. */
        loginTimeoutSecs: seconds.min(30).default(600),
      })
      .strict()
      .default({ providers: [], loginTimeoutSecs: 600 }),
    loginLimits: z
      .object({
        /** Failed password checks for one account within the window that block it; 0: no limit. */
        maxFailuresPerAccount: z.number().int().nonnegative().default(10),
        /** Failed password checks from one client address within the window that block it; 0: no limit. */
        maxFailuresPerAddress: z.number().int().nonnegative().default(50),
        windowSecs: seconds.min(1).default(900),
        /** How long a blocked account or address is refused password checks. */
        blockSecs: seconds.min(1).default(900),
      })
      .strict()
      .default({ maxFailuresPerAccount: 10, maxFailuresPerAddress: 50, windowSecs: 900, blockSecs: 900 }),
    /** Running the service (docs/operations.md): audit retention, maintenance notice. */
    operations: z
      .object({
        /** Audit events older than this are pruned (daily). */
        auditRetentionDays: z.number().int().positive().default(365),
        /** The least notice a maintenance window needs; shorter is refused unless forced with a reason. */
        maintenanceNoticeSecs: seconds.default(24 * 3600),
      })
      .strict()
      .default({ auditRetentionDays: 365, maintenanceNoticeSecs: 24 * 3600 }),
    cluster: clusterSection,
    federation: federationSection,
    caches: cachesSection,
    /** What one scan may read before it ends as failed, per archive (an image: per layer). */
    scanning: z
      .object({
        maxEntries: z.number().int().positive().default(100_000),
        maxUnpackedBytes: z.number().int().positive().default(2 * 1024 * 1024 * 1024),
        /** Uncompressed / compressed bytes, checked once past the first MiB. */
        maxCompressionRatio: z.number().positive().default(100),
        /** One metadata file (a package.json, a lockfile, a dpkg status) at most. */
        maxMetadataBytes: z.number().int().positive().default(32 * 1024 * 1024),
        maxComponents: z.number().int().positive().default(100_000),
      })
      .strict()
      .default({ maxEntries: 100_000, maxUnpackedBytes: 2 * 1024 * 1024 * 1024, maxCompressionRatio: 100, maxMetadataBytes: 32 * 1024 * 1024, maxComponents: 100_000 }),
  })
  .strict()

export type TroveConfig = z.infer<typeof ConfigSchema> & {
  /** The sections of the formats (`npm`, `oci`, …) by key, validated, defaults applied: read one with {@link sectionOf}. */
  readonly sections: Readonly<Record<string, unknown>>
  /** Resolved: SQLite file in the data folder when not configured. */
  readonly databaseUrl: string
  /** Resolved: the data folder when not configured. */
  readonly blobstoreUrl: string
  /** Where {@link blobstoreUrl} points. */
  readonly blobstoreLocation: BlobstoreLocation
  /** Problems that did not stop the start, to be logged. */
  readonly warnings: readonly string[]
}

/** `TROVE_*` environment variables and the configuration path they set. */
const ENV_VARIABLES: Readonly<Record<string, EnvVariable>> = {
  TROVE_HOST: { path: ['host'], type: 'string' },
  TROVE_PORT: { path: ['port'], type: 'number' },
  TROVE_WORKERS: { path: ['workers'], type: 'number' },
  TROVE_DATA_DIR: { path: ['dataDir'], type: 'string' },
  TROVE_BASE_URL: { path: ['baseUrl'], type: 'string' },
  TROVE_ADMIN_PASSWORD: { path: ['adminPassword'], type: 'string' },
  TROVE_DATABASE_URL: { path: ['database', 'url'], type: 'string' },
  TROVE_BLOBSTORE_URL: { path: ['blobstore', 'url'], type: 'string' },
  TROVE_BLOBSTORE_REDIRECT_DOWNLOADS: { path: ['blobstore', 'redirectDownloads'], type: 'boolean' },
  TROVE_BLOBSTORE_REDIRECT_EXPIRY_SECS: { path: ['blobstore', 'redirectExpirySecs'], type: 'number' },
  TROVE_BLOBSTORE_OFFLOAD: { path: ['blobstore', 'offload'], type: 'string' },
  TROVE_BLOBSTORE_OFFLOAD_LOCATION: { path: ['blobstore', 'offloadLocation'], type: 'string' },
  TROVE_BLOBSTORE_S3_ENDPOINT: { path: ['blobstore', 's3', 'endpoint'], type: 'string' },
  TROVE_BLOBSTORE_S3_REGION: { path: ['blobstore', 's3', 'region'], type: 'string' },
  TROVE_BLOBSTORE_S3_FORCE_PATH_STYLE: { path: ['blobstore', 's3', 'forcePathStyle'], type: 'boolean' },
  TROVE_BLOBSTORE_S3_PART_SIZE_BYTES: { path: ['blobstore', 's3', 'partSizeBytes'], type: 'number' },
  TROVE_BLOBSTORE_S3_MAX_CONCURRENT_PARTS: { path: ['blobstore', 's3', 'maxConcurrentParts'], type: 'number' },
  TROVE_BLOBSTORE_CACHE_DIR: { path: ['blobstore', 'cache', 'dir'], type: 'string' },
  TROVE_BLOBSTORE_CACHE_MAX_BYTES: { path: ['blobstore', 'cache', 'maxBytes'], type: 'number' },
  TROVE_LOG_LEVEL: { path: ['log', 'level'], type: 'string' },
  TROVE_CACHE_DOCUMENT_BYTES: { path: ['caches', 'documentBytes'], type: 'number' },
  TROVE_CACHE_CREDENTIAL_SECS: { path: ['caches', 'credentialSecs'], type: 'number' },
  TROVE_ALLOWED_UPSTREAM_HOSTS: { path: ['remote', 'allowedUpstreamHosts'], type: 'list' },
  TROVE_GC_GRACE_SECS: { path: ['gc', 'graceSecs'], type: 'number' },
  TROVE_GC_INTERVAL_SECS: { path: ['gc', 'intervalSecs'], type: 'number' },
  TROVE_TRASHCAN_ENABLED: { path: ['trashcan', 'enabled'], type: 'boolean' },
  TROVE_TRASHCAN_RETENTION_PERIOD_DAYS: { path: ['trashcan', 'retentionPeriodDays'], type: 'number' },
  TROVE_CACHE_EVICTION_INTERVAL_SECS: { path: ['upkeep', 'cacheEvictionIntervalSecs'], type: 'number' },
  TROVE_USAGE_SNAPSHOT_INTERVAL_SECS: { path: ['upkeep', 'usageSnapshotIntervalSecs'], type: 'number' },
  TROVE_HTTP_HEADERS_TIMEOUT_SECS: { path: ['http', 'headersTimeoutSecs'], type: 'number' },
  TROVE_HTTP_IDLE_TIMEOUT_SECS: { path: ['http', 'idleTimeoutSecs'], type: 'number' },
  TROVE_HTTP_KEEP_ALIVE_TIMEOUT_SECS: { path: ['http', 'keepAliveTimeoutSecs'], type: 'number' },
  TROVE_HTTP_REQUEST_TIMEOUT_SECS: { path: ['http', 'requestTimeoutSecs'], type: 'number' },
  TROVE_HTTP_JSON_BODY_LIMIT_BYTES: { path: ['http', 'jsonBodyLimitBytes'], type: 'number' },
  TROVE_HTTP_TRUSTED_PROXIES: { path: ['http', 'trustedProxies'], type: 'list' },
  TROVE_AUDIT_RETENTION_DAYS: { path: ['operations', 'auditRetentionDays'], type: 'number' },
  TROVE_MAINTENANCE_NOTICE_SECS: { path: ['operations', 'maintenanceNoticeSecs'], type: 'number' },
  TROVE_LOGIN_MAX_FAILURES_PER_ACCOUNT: { path: ['loginLimits', 'maxFailuresPerAccount'], type: 'number' },
  TROVE_LOGIN_MAX_FAILURES_PER_ADDRESS: { path: ['loginLimits', 'maxFailuresPerAddress'], type: 'number' },
  TROVE_LOGIN_WINDOW_SECS: { path: ['loginLimits', 'windowSecs'], type: 'number' },
  TROVE_LOGIN_BLOCK_SECS: { path: ['loginLimits', 'blockSecs'], type: 'number' },
  TROVE_CLUSTER_HEARTBEAT_SECS: { path: ['cluster', 'heartbeatSecs'], type: 'number' },
  TROVE_CLUSTER_NODE_TIMEOUT_SECS: { path: ['cluster', 'nodeTimeoutSecs'], type: 'number' },
  TROVE_CLUSTER_LEASE_TTL_SECS: { path: ['cluster', 'leaseTtlSecs'], type: 'number' },
  TROVE_CLUSTER_DRAIN_DELAY_SECS: { path: ['cluster', 'drainDelaySecs'], type: 'number' },
  TROVE_CLUSTER_DRAIN_TIMEOUT_SECS: { path: ['cluster', 'drainTimeoutSecs'], type: 'number' },
  TROVE_FEDERATION_TOKEN: { path: ['federation', 'token'], type: 'string' },
  TROVE_FEDERATION_PEER_TOKENS: { path: ['federation', 'peerTokens'], type: 'list' },
  TROVE_FEDERATION_INTERVAL_MS: { path: ['federation', 'intervalMs'], type: 'number' },
  TROVE_FEDERATION_FULL_SYNC_INTERVAL_SECS: { path: ['federation', 'fullSyncIntervalSecs'], type: 'number' },
  TROVE_FEDERATION_MAX_BACKLOG: { path: ['federation', 'maxBacklog'], type: 'number' },
  TROVE_FEDERATION_CHUNK_BYTES: { path: ['federation', 'chunkBytes'], type: 'number' },
  TROVE_SCAN_MAX_ENTRIES: { path: ['scanning', 'maxEntries'], type: 'number' },
  TROVE_SCAN_MAX_UNPACKED_BYTES: { path: ['scanning', 'maxUnpackedBytes'], type: 'number' },
  TROVE_SCAN_MAX_COMPRESSION_RATIO: { path: ['scanning', 'maxCompressionRatio'], type: 'number' },
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

export interface LoadConfigOptions {
  /** YAML file; falls back to `TROVE_CONFIG`. */
  readonly file?: string | undefined
  readonly env?: NodeJS.ProcessEnv
  /** Settings that override both (used by tests and the CLI). */
  readonly overrides?: Record<string, unknown>
  /** Sections beyond the core's: the formats' (`FORMATS.flatMap((f) => f.config ?? [])`). */
  readonly sections?: readonly ConfigSection[]
}

/**
 * Builds the configuration from, in increasing precedence: defaults, the YAML file, `TROVE_*`
 * environment variables, explicit overrides. Throws {@link ConfigError} listing every problem.
 */
export function loadConfig(options: LoadConfigOptions = {}): TroveConfig {
  const env = options.env ?? process.env
  const file = options.file ?? env.TROVE_CONFIG
  const raw: Record<string, unknown> = file ? readYaml(file) : {}

  const sections = options.sections ?? []
  const variables = envVariables(sections)
  const problems: string[] = []
  for (const [name, { path, type }] of Object.entries(variables)) {
    const value = env[name]
    if (value === undefined || value === '') continue
    if (type === 'number') {
      if (!/^\d+$/.test(value.trim())) {
        problems.push(`${name}: expected a whole number, got ${JSON.stringify(value)}`)
        continue
      }
      setPath(raw, path, Number(value))
    } else if (type === 'boolean') {
      const flag = BOOLEAN_WORDS[value.trim().toLowerCase()]
      if (flag === undefined) {
        problems.push(`${name}: expected true or false, got ${JSON.stringify(value)}`)
        continue
      }
      setPath(raw, path, flag)
    } else if (type === 'list') {
      setPath(raw, path, value.split(',').map((item) => item.trim()).filter((item) => item !== ''))
    } else {
      setPath(raw, path, value)
    }
  }
  // Unknown TROVE_* variables are reported, not fatal: orchestrators inject some of their own.
  const warnings = Object.keys(env)
    .filter((name) => name.startsWith('TROVE_') && !(name in variables) && !IGNORED_ENV.has(name) && !SSO_SECRET_ENV.test(name))
    .map((name) => `${name} is not a Trove setting and is ignored`)
  for (const [key, value] of Object.entries(options.overrides ?? {})) raw[key] = value

  // Each section is validated by its own schema; the core's schema sees only the core's keys.
  const values: Record<string, unknown> = {}
  for (const section of sections) {
    const given = raw[section.key] ?? {}
    delete raw[section.key]
    const result = section.schema.safeParse(given)
    if (result.success) values[section.key] = result.data
    else for (const issue of result.error.issues) problems.push(`${[section.key, ...issue.path.map(String)].join('.')}: ${issue.message}`)
  }
  const parsed = ConfigSchema.safeParse(raw)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`)
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError(`invalid configuration${file ? ` (${file})` : ''}:\n  - ${problems.join('\n  - ')}`)
  }
  const sso = withSsoSecrets(parsed.data.sso, env, problems)
  if (problems.length > 0) throw new ConfigError(`invalid configuration${file ? ` (${file})` : ''}:\n  - ${problems.join('\n  - ')}`)
  const config = { ...parsed.data, sso }
  const dataDir = resolve(config.dataDir)
  const blobstoreUrl = config.blobstore.url ?? dataDir
  let blobstoreLocation: BlobstoreLocation
  try {
    blobstoreLocation = parseBlobstoreUrl(blobstoreUrl)
  } catch (err) {
    throw new ConfigError(`invalid configuration${file ? ` (${file})` : ''}:\n  - ${(err as Error).message}`)
  }
  if (config.blobstore.redirectDownloads && blobstoreLocation.kind !== 's3') {
    warnings.push('blobstore.redirectDownloads is on but only an s3:// blob store can redirect downloads; they are streamed')
  }
  if (config.blobstore.offload !== 'off' && (blobstoreLocation.kind === 's3' || config.blobstore.cache.dir !== undefined)) {
    warnings.push('blobstore.offload is on but only a filesystem blob store without a read cache can hand downloads to the proxy; they are streamed')
  }
  return {
    ...config,
    sections: values,
    dataDir,
    databaseUrl: config.database.url ?? join(dataDir, 'trove.db'),
    blobstoreUrl,
    blobstoreLocation,
    warnings,
  }
}

/** The core's variables and the sections', with the sections' paths under their keys; a key or a name taken twice is refused. */
function envVariables(sections: readonly ConfigSection[]): Readonly<Record<string, EnvVariable>> {
  const variables: Record<string, EnvVariable> = { ...ENV_VARIABLES }
  const keys = new Set(Object.keys(ConfigSchema.shape))
  for (const section of sections) {
    if (keys.has(section.key)) throw new ConfigError(`the configuration section '${section.key}' is declared twice (or is one of the core's)`)
    keys.add(section.key)
    for (const [name, variable] of Object.entries(section.env ?? {})) {
      if (name in variables) throw new ConfigError(`the environment variable ${name} is declared twice`)
      variables[name] = { path: [section.key, ...variable.path], type: variable.type }
    }
  }
  return variables
}

/** The value of `section` in `config` (its defaults when the configuration was loaded without it). */
export function configSectionOf<T>(config: TroveConfig, section: ConfigSection<T>): T {
  return sectionOf(config.sections, section)
}

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = { true: true, false: false, '1': true, '0': false, yes: true, no: false }

/** Variables that start with TROVE_ but are not settings. */
// TROVE_WORKER_ROLE, _INDEX and _COUNT: what `trove serve` tells the processes it starts.
const IGNORED_ENV = new Set(['TROVE_CONFIG', 'TROVE_WORKER_ROLE', 'TROVE_WORKER_INDEX', 'TROVE_WORKER_COUNT'])

/** `TROVE_SSO_<ID>_CLIENT_SECRET`: a provider's client secret, kept out of the YAML file. */
const SSO_SECRET_ENV = /^TROVE_SSO_[A-Z0-9_]+_CLIENT_SECRET$/

export function ssoSecretVariable(providerId: string): string {
  return `TROVE_SSO_${providerId.toUpperCase().replace(/-/g, '_')}_CLIENT_SECRET`
}

/** Client secrets from the environment, which win over the file; one missing is a problem. */
function withSsoSecrets(sso: z.infer<typeof ConfigSchema>['sso'], env: NodeJS.ProcessEnv, problems: string[]): typeof sso {
  const providers = sso.providers.map((provider) => {
    const secret = env[ssoSecretVariable(provider.id)] || provider.clientSecret
    if (!secret) problems.push(`sso.providers[${provider.id}].clientSecret: required (or set ${ssoSecretVariable(provider.id)})`)
    if (provider.type === 'oidc' && !isSecureOrLoopback(provider.issuer)) {
      problems.push(`sso.providers[${provider.id}].issuer: must be https (http only on a loopback host)`)
    }
    return secret ? { ...provider, clientSecret: secret } : provider
  })
  return { ...sso, providers }
}

function isSecureOrLoopback(url: string): boolean {
  const parsed = new URL(url)
  return parsed.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)
}

function readYaml(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(err as Error).message}`)
  }
  let value: unknown
  try {
    value = parseYaml(text)
  } catch (err) {
    throw new ConfigError(`configuration file ${file} is not valid YAML: ${(err as Error).message}`)
  }
  if (value === null || value === undefined) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`configuration file ${file} must hold a mapping of settings`)
  }
  return value as Record<string, unknown>
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target
  for (const key of path.slice(0, -1)) {
    const next = node[key]
    if (typeof next !== 'object' || next === null) node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  node[path[path.length - 1]!] = value
}

export type BlobstoreLocation = StorageLocation

/** S3's bucket naming rules (3 to 63 lower-case letters, digits, dots and hyphens). */
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/

/**
 * Where a blob store URL points: a folder (a path or `file://`), or `s3://<bucket>/<prefix>`
 * (the prefix optional). Throws a message naming the setting for anything else.
 */
export function parseBlobstoreUrl(blobstoreUrl: string): BlobstoreLocation {
  if (blobstoreUrl.startsWith('s3://')) {
    const [bucket = '', ...segments] = blobstoreUrl.slice('s3://'.length).split('/')
    if (!BUCKET_PATTERN.test(bucket)) {
      throw new ConfigError(`blobstore.url: ${JSON.stringify(bucket)} is not a valid S3 bucket name (3 to 63 characters: a-z, 0-9, '.', '-')`)
    }
    const prefix = segments.filter((segment) => segment !== '')
    const invalid = prefix.find((segment) => !PREFIX_SEGMENT.test(segment) || segment === '.' || segment === '..')
    if (invalid !== undefined) {
      throw new ConfigError(`blobstore.url: the prefix segment ${JSON.stringify(invalid)} may hold only A-Z, a-z, 0-9, '.', '_' and '-'`)
    }
    return { kind: 's3', bucket, prefix: prefix.join('/') }
  }
  if (blobstoreUrl.startsWith('file://')) return { kind: 'filesystem', root: new URL(blobstoreUrl).pathname }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(blobstoreUrl)) {
    throw new ConfigError(`blobstore.url: unsupported scheme in ${blobstoreUrl} (supported: a folder path, file:// or s3://)`)
  }
  return { kind: 'filesystem', root: isAbsolute(blobstoreUrl) ? blobstoreUrl : resolve(blobstoreUrl) }
}
