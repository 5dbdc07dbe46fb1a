import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely'
import pg from 'pg'
import { migrationProvider } from './migrations/index.js'
import type { Database } from './schema.js'

export type MetadataEngine = 'sqlite' | 'postgres'

export interface MetadataStore {
  readonly db: Kysely<Database>
  readonly engine: MetadataEngine
  /** Applies pending migrations. Safe when several processes start at once (PostgreSQL advisory lock). */
  migrate(): Promise<void>
  /** Throws when the database cannot answer a query. */
  checkHealth(): Promise<void>
  close(): Promise<void>
}

// int8 (bigint) columns hold epoch milliseconds and byte sizes, well within 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10))

/**
 * Opens the metadata store named by `url`: `postgres://…`/`postgresql://…` for PostgreSQL,
 * otherwise a SQLite file path (`sqlite:` prefix optional).
 */
export function openMetadataStore(url: string, options: { poolSize?: number } = {}): MetadataStore {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 })
    return createStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres')
  }
  const file = url.replace(/^sqlite:(\/\/)?/, '')
  mkdirSync(dirname(file), { recursive: true })
  const sqlite = new SqliteDatabase(file)
  sqlite.pragma('journal_mode = WAL')
  // Committed means durable: FULL syncs the WAL at every commit, so a power cut loses no committed artifact.
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 10000')
  return createStore(new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }), 'sqlite')
}

function createStore(db: Kysely<Database>, engine: MetadataEngine): MetadataStore {
  return {
    db,
    engine,
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider(engine) })
      const { error, results } = await migrator.migrateToLatest()
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName
        throw new Error(`metadata migration ${failed ?? ''} failed: ${String((error as Error).message ?? error)}`, {
          cause: error,
        })
      }
    },
    async checkHealth() {
      await sql`select 1`.execute(db)
    },
    async close() {
      await db.destroy()
    },
  }
}
