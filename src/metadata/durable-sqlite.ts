/**
 * Group commit for SQLite: committed means durable, without an fsync per commit on the event loop.
 *
 * With `synchronous = FULL` every commit fsyncs the write-ahead log inside better-sqlite3's
 * synchronous call: the event loop stops for the disk's flush (milliseconds) once per commit, and
 * small deploys queue behind each other's flushes. Instead the database runs with
 * `synchronous = NORMAL` (a commit writes the log without flushing it; checkpoints still flush the
 * log before they copy it and the database after) and the driver below flushes the log itself,
 * off the event loop (`fdatasync` on libuv's thread pool), after every use of the connection that
 * wrote, before that use's caller hears of its commit. Commits made while a flush is under way
 * share the next one, so that one flush makes many commits durable.
 *
 * What a caller is told committed is on disk, as before. One thing is weaker: another request may
 * read a commit during the flush that makes it durable, and a power cut in those milliseconds loses
 * a change that was seen but never acknowledged (a process crash loses nothing: the kernel has the
 * written log).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { open, stat, type FileHandle } from 'node:fs/promises'
import { SqliteDialect, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, type TransactionSettings } from 'kysely'

const reFetchableContext = new AsyncLocalStorage<true>()

/**
 * Runs `write` with relaxed durability for the uses of the connection it makes: what they commit
 * can be fetched again (a remote repository's cache entry), so on SQLite they return without
 * waiting for a flush of the log: still atomic and consistent, made durable by the next ordinary
 * commit's flush (it flushes the whole log: a group commit) or a checkpoint, and lost at worst to a
 * power cut, when the file is fetched again. Deploys never run here and keep their flush.
 * PostgreSQL is unchanged.
 */
export function reFetchable<T>(write: () => Promise<T>): Promise<T> {
  return reFetchableContext.run(true, write)
}

/** Flushes one file, coalescing concurrent requests: a request is served by a flush that starts after it. */
export class FileFlusher {
  private handle: FileHandle | undefined
  private running: Promise<void> | undefined
  private queued: Promise<void> | undefined

  constructor(private readonly file: string) {}

  /** Resolves once everything written to the file before the call is on disk. */
  flush(): Promise<void> {
    if (this.queued) return this.queued
    if (!this.running) return this.start()
    // The running flush may have begun before the caller's write: the next one covers it.
    this.queued = this.running.catch(() => {}).then(() => {
      this.queued = undefined
      return this.start()
    })
    return this.queued
  }

  async close(): Promise<void> {
    await this.running?.catch(() => {})
    await this.handle?.close()
    this.handle = undefined
  }

  private start(): Promise<void> {
    const running = this.flushNow().finally(() => {
      if (this.running === running) this.running = undefined
    })
    this.running = running
    return running
  }

  /** One flush of the file now. */
  protected async flushNow(): Promise<void> {
    // The log may have been deleted and made anew (the last connection closed, another process
    // opened it): a handle on the old file would flush nothing that matters.
    const current = await stat(this.file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw err
    })
    if (current === undefined) return // no log: every commit is in the database file, flushed by the checkpoint that removed it
    if (this.handle && (await this.handle.stat()).ino !== current.ino) {
      await this.handle.close()
      this.handle = undefined
    }
    this.handle ??= await open(this.file, 'r')
    await this.handle.datasync()
  }
}

/** Statements that write nothing themselves: a use of the connection with only these needs no flush. */
const READ_ONLY = /^\s*(select|explain|begin|commit|rollback|savepoint|release)\b/i

/**
 * The better-sqlite3 dialect whose driver flushes `wal` (see {@link FileFlusher}) when a use of the
 * connection (a transaction, or one statement outside one) wrote, before that use returns.
 */
export class DurableSqliteDialect extends SqliteDialect {
  constructor(
    config: ConstructorParameters<typeof SqliteDialect>[0],
    private readonly wal: FileFlusher,
  ) {
    super(config)
  }

  override createDriver(): Driver {
    return new DurableDriver(super.createDriver(), this.wal)
  }
}

class DurableDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly wal: FileFlusher,
  ) {}

  init(): Promise<void> {
    return this.inner.init()
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new WriteTrackingConnection(await this.inner.acquireConnection())
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings)
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection)
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection)
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const { wrote } = connection as WriteTrackingConnection
    // The connection goes first, so that other commits proceed (and share the flush) meanwhile.
    await this.inner.releaseConnection((connection as WriteTrackingConnection).inner)
    if (wrote && reFetchableContext.getStore() !== true) await this.wal.flush()
  }

  async destroy(): Promise<void> {
    await this.inner.destroy()
    await this.wal.close()
  }
}

class WriteTrackingConnection implements DatabaseConnection {
  wrote = false

  constructor(readonly inner: DatabaseConnection) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (!READ_ONLY.test(query.sql)) this.wrote = true
    return this.inner.executeQuery<R>(query)
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    if (!READ_ONLY.test(query.sql)) this.wrote = true
    return this.inner.streamQuery<R>(query, chunkSize)
  }
}
