import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { loadConfig } from '../../src/config/config.js'
import { createTrove, type Trove } from '../../src/main.js'
import { createTestDatabase, type MetadataBackend } from './postgres.js'

export const ADMIN_PASSWORD = 'admin-password-for-tests'

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly trove: Trove
  readonly dataDir: string
  /** `Authorization` header value for the admin. */
  readonly adminAuth: string
  close(): Promise<void>
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
}

/**
 * A real Trove on 127.0.0.1 and a random port, with a fresh data folder and a fresh metadata
 * database (a SQLite file there, or a new PostgreSQL database). `close()` removes both.
 */
export async function startTestServer(
  options: { backend?: MetadataBackend; settings?: Record<string, unknown>; env?: NodeJS.ProcessEnv } = {},
): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trove-test-'))
  const database = options.backend === 'postgres' ? await createTestDatabase() : undefined
  const config = loadConfig({
    env: options.env ?? {},
    overrides: {
      host: '127.0.0.1',
      port: 0,
      dataDir,
      adminPassword: ADMIN_PASSWORD,
      log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
      ...(database ? { database: { url: database.url } } : {}),
      ...options.settings,
    },
  })
  const trove = await createTrove(config, { logger: pino({ level: config.log.level }) })
  const url = await trove.listen()
  return {
    url,
    trove,
    dataDir,
    adminAuth: basicAuth('admin', ADMIN_PASSWORD),
    async close() {
      await trove.close()
      await database?.drop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
