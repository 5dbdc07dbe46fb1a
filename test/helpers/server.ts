import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { loadConfig, type TroveConfig } from '../../src/config/config.js'
import { configSections, type Format } from '../../src/formats/format.js'
import { FORMATS } from '../../src/formats/index.js'
import { createTrove, type Trove } from '../../src/main.js'
import { createTestBlobstore, isS3Run, type TestBlobstore } from './blobstore.js'
import { createTestDatabase, type MetadataBackend } from './postgres.js'
import { TroveNode } from './trove-node.js'

export const ADMIN_PASSWORD = 'admin-password-for-tests'

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly trove: Trove
  readonly dataDir: string
  /** Where the blobs are (`TROVE_TEST_BLOBSTORE`): its driver looks underneath. */
  readonly blobstore: TestBlobstore
  /** `Authorization` header value for the admin. */
  readonly adminAuth: string
  close(): Promise<void>
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
}

/** The metadata engine when a test names none: PostgreSQL on an S3 run (as a cluster runs), else SQLite. */
export function defaultBackend(): MetadataBackend {
  return isS3Run ? 'postgres' : 'sqlite'
}

/**
 * The configuration of a test server: on 127.0.0.1 and a random port, the test admin password,
 * the given data folder, database and blob store, then `settings` (a `blobstore` in them is
 * merged into the test store's).
 */
export function testConfig(options: {
  dataDir: string
  databaseUrl?: string | undefined
  blobstore: TestBlobstore
  settings?: Record<string, unknown> | undefined
  env?: NodeJS.ProcessEnv | undefined
  /** The formats served (their configuration sections); every registered one when absent. */
  formats?: readonly Format[] | undefined
}): TroveConfig {
  const settings = options.settings ?? {}
  const blobstore = { ...options.blobstore.settings.blobstore, ...(settings.blobstore as Record<string, unknown> | undefined) }
  return loadConfig({
    env: options.env ?? {},
    sections: configSections(options.formats ?? FORMATS),
    overrides: {
      host: '127.0.0.1',
      port: 0,
      dataDir: options.dataDir,
      adminPassword: ADMIN_PASSWORD,
      log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
      // Deletes take effect at once (quota released, blobs collectable) unless a test turns the trash can on (lifecycle-*.test.ts).
      trashcan: { enabled: false, retentionPeriodDays: 14 },
      ...(options.databaseUrl ? { database: { url: options.databaseUrl } } : {}),
      ...settings,
      ...(Object.keys(blobstore).length > 0 ? { blobstore } : {}),
    },
  })
}

/**
 * A real Trove on 127.0.0.1 and a random port, with a fresh data folder, a fresh metadata
 * database (a SQLite file there, or a new PostgreSQL database) and a fresh blob store (the data
 * folder, or a bucket on an S3 run). `close()` removes them.
 */
export async function startTestServer(
  options: {
    backend?: MetadataBackend
    settings?: Record<string, unknown>
    env?: NodeJS.ProcessEnv
    /** Formats served beside the registered ones (a test-only format: test/formats/sample). */
    extraFormats?: readonly Format[]
  } = {},
): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trove-test-'))
  const database = (options.backend ?? defaultBackend()) === 'postgres' ? await createTestDatabase() : undefined
  const blobstore = await createTestBlobstore(dataDir)
  const formats = [...FORMATS, ...(options.extraFormats ?? [])]
  const config = testConfig({ dataDir, databaseUrl: database?.url, blobstore, settings: options.settings, env: options.env, formats })
  const trove = await createTrove(config, { logger: pino({ level: config.log.level }), formats })
  const url = await trove.listen()
  return {
    url,
    trove,
    dataDir,
    blobstore,
    adminAuth: basicAuth('admin', ADMIN_PASSWORD),
    async close() {
      await trove.close()
      await blobstore.close()
      await database?.drop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** A server reached over HTTP only (no in-process services): {@link startWorkersServer}'s. */
export type HttpTestServer = Pick<TestServer, 'url' | 'adminAuth' | 'dataDir' | 'blobstore' | 'close'>

/**
 * `trove serve` with `workers` serving processes (and its jobs process) as a child process on
 * 127.0.0.1, with fresh stores as {@link startTestServer}'s: for suites that must also hold when
 * requests land on different processes of one node.
 */
export async function startWorkersServer(options: { backend?: MetadataBackend; workers: number }): Promise<HttpTestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trove-test-'))
  const database = (options.backend ?? defaultBackend()) === 'postgres' ? await createTestDatabase() : undefined
  const blobstore = await createTestBlobstore(dataDir)
  const env = {
    TROVE_DATA_DIR: dataDir,
    TROVE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    TROVE_WORKERS: String(options.workers),
    ...(database ? { TROVE_DATABASE_URL: database.url } : {}),
    ...blobstore.env,
  }
  // Each process of the node loads the code: on a loaded machine that takes a while.
  const node = await TroveNode.start(`trove with ${options.workers} workers`, env, { startTimeoutMs: 240_000 })
  return {
    url: node.url,
    dataDir,
    blobstore,
    adminAuth: basicAuth('admin', ADMIN_PASSWORD),
    async close() {
      await node.stop()
      await blobstore.close()
      await database?.drop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
