import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { DurableSqliteDialect, FileFlusher } from './durable-sqlite.js'
import { migrationProvider, type Migrations } from './migrations/index.js'
import type { Database } from './schema.js'

export { reFetchable } from './durable-sqlite.js'

export type MetadataEngine = 'sqlite' | 'postgres'

export interface MetadataStore {
  readonly db: Kysely<Database>
  readonly engine: MetadataEngine
  /**
   * Applies pending migrations: the core's and those of `formats` (their tables), as one set in
   * the lexical order of their names. Safe when several processes start at once (PostgreSQL
   * advisory lock). A migration declared twice is refused. A format's migration named before one
   * already applied (a database migrated without that format) is still applied.
   */
  migrate(formats?: readonly { readonly id: string; readonly migrations?: Migrations | undefined }[]): Promise<void>
  /** Throws when the database cannot answer a query. */
  checkHealth(): Promise<void>
  /**
   * PostgreSQL only: a dedicated connection that `LISTEN`s on `channel` and calls `onMessage` with
   * each notification's payload. `onError` is called once when the connection fails; the caller
   * listens again if it wants to. Undefined on SQLite (one process per database: nobody to hear).
   */
  readonly listen?: (channel: string, onMessage: (payload: string) => void, onError: (err: Error) => void) => Promise<{ close(): Promise<void> }>
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
    // A database that cannot be reached fails a query (and readiness) in seconds instead of hanging it.
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, connectionTimeoutMillis: 5000 })
    // An idle connection the server drops (a restart, a terminated backend) is reported as a pool
    // 'error'; the pool discards it and opens another when needed. Unlistened, it would crash the process.
    pool.on('error', () => {})
    // A checked-out client whose connection drops emits 'error' too (after failing its query), and
    // the pool listens only to idle ones: without this, losing the database would crash the node.
    pool.on('connect', (client) => client.on('error', () => {}))
    return { ...createStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres'), listen: (channel, onMessage, onError) => listen(url, channel, onMessage, onError) }
  }
  const file = url.replace(/^sqlite:(\/\/)?/, '')
  mkdirSync(dirname(file), { recursive: true })
  const sqlite = new SqliteDatabase(file)
  sqlite.pragma('journal_mode = WAL')
  // Committed means durable: the driver flushes the WAL before a commit is reported, sharing one
  // flush among concurrent commits, off the event loop (group commit, see durable-sqlite.ts).
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 10000')
  const dialect = new DurableSqliteDialect({ database: withStatementCache(sqlite) }, new FileFlusher(`${file}-wal`))
  return createStore(new Kysely<Database>({ dialect }), 'sqlite')
}

async function listen(url: string, channel: string, onMessage: (payload: string) => void, onError: (err: Error) => void): Promise<{ close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, keepAlive: true })
  let isClosed = false
  const fail = (err: Error) => {
    if (isClosed) return
    isClosed = true
    client.end().catch(() => {})
    onError(err)
  }
  client.on('error', fail)
  client.on('end', () => fail(new Error('the notification connection ended')))
  client.on('notification', (message) => {
    if (message.channel === channel) onMessage(message.payload ?? '')
  })
  try {
    await client.connect()
    await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
  } catch (err) {
    isClosed = true
    await client.end().catch(() => {})
    throw err
  }
  return {
    async close() {
      if (isClosed) return
      isClosed = true
      await client.end().catch(() => {})
    },
  }
}

const STATEMENT_CACHE_LIMIT = 500

/**
 * Kysely prepares every query anew; with better-sqlite3 preparing is a large share of a small
 * query's cost. Kysely's queries are parameterised, so the same SQL text recurs and its prepared
 * statement can be reused. Sharing a statement is safe while no `iterate()` is in progress on it:
 * Kysely uses `iterate()` only for `.stream()`, which Trove never calls (a streamed query would
 * need its own, uncached statement).
 */
function withStatementCache(sqlite: SqliteDatabase.Database): SqliteDatabase.Database {
  const statements = new Map<string, SqliteDatabase.Statement>()
  const cached = (text: string) => {
    let statement = statements.get(text)
    if (!statement) {
      if (statements.size >= STATEMENT_CACHE_LIMIT) statements.clear()
      statement = sqlite.prepare(text)
      statements.set(text, statement)
    }
    return statement
  }
  return new Proxy(sqlite, {
    get(target, property, receiver) {
      if (property === 'prepare') {
        return (given: string) => {
          // Transactions take the write lock when they begin: a deferred one that reads first and
          // then writes fails at once (SQLITE_BUSY, no busy timeout) when another process (a
          // worker) committed in between. Within one process Kysely runs one transaction at a time.
          const text = given === 'begin' ? 'begin immediate' : given
          return cached(text)
        }
      }
      const value = Reflect.get(target, property, receiver) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

function createStore(db: Kysely<Database>, engine: MetadataEngine): MetadataStore {
  return {
    db,
    engine,
    async migrate(formats = []) {
      const migrator = new Migrator({ db, provider: migrationProvider(engine, formats), allowUnorderedMigrations: true })
      // PostgreSQL serialises concurrent migrators with an advisory lock. SQLite has no such lock
      // across processes: a process that loses the race sees its transaction fail (the tables it
      // wanted exist now, or its snapshot is stale) and rolled back; it retries, and then finds the
      // migrations applied.
      const attempts = engine === 'sqlite' ? 20 : 1
      for (let attempt = 1; ; attempt++) {
        const { error, results } = await migrator.migrateToLatest()
        if (!error) return
        if (attempt >= attempts) {
          const failed = results?.find((r) => r.status === 'Error')?.migrationName
          throw new Error(`metadata migration ${failed ?? ''} failed: ${String((error as Error).message ?? error)}`, {
            cause: error,
          })
        }
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200))
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
