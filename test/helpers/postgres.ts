import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { requireClients, type Requirement } from './clients.js'

/** The server the PostgreSQL tests use; each run gets its own fresh database on it. */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface TestDatabase {
  readonly url: string
  drop(): Promise<void>
}

/** Creates an empty database for one test file or suite; `drop()` removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `trove_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    },
  }
}

/** Whether PostgreSQL answers; checked once per test file. */
export async function isPostgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

export type MetadataBackend = 'sqlite' | 'postgres'

/** PostgreSQL as a suite's need (see test/helpers/clients.ts). */
export const POSTGRES: Requirement = {
  name: `PostgreSQL at ${POSTGRES_ADMIN_URL}`,
  install: 'apt-get install -y postgresql, or set TEST_POSTGRES_URL',
  probe: async () => ((await isPostgresAvailable()) ? undefined : 'it does not answer'),
}

/**
 * The metadata engines to run backend suites on: `METADATA_BACKENDS` (comma-separated), else both,
 * else on an S3 run (`TROVE_TEST_BLOBSTORE=s3`) PostgreSQL alone, as a cluster runs.
 * PostgreSQL missing: when run by hand its suites skip with a message; under CI=true they fail.
 */
export async function metadataBackends(): Promise<MetadataBackend[]> {
  const fallback = process.env.TROVE_TEST_BLOBSTORE === 's3' ? 'postgres' : 'sqlite,postgres'
  const wanted = (process.env.METADATA_BACKENDS ?? fallback).split(',').map((s) => s.trim()) as MetadataBackend[]
  if (!wanted.includes('postgres')) return wanted
  if (await requireClients('the PostgreSQL backend', [POSTGRES])) return wanted
  return wanted.filter((b) => b !== 'postgres')
}
