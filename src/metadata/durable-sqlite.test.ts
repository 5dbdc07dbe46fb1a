/**
 * Group commit on SQLite (durable-sqlite.ts): a use of the connection that wrote returns only after
 * a flush of the write-ahead log that began after its commit; uses that only read flush nothing;
 * concurrent commits share flushes; the data is what was committed.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DurableSqliteDialect, FileFlusher } from './durable-sqlite.js'

interface Db {
  items: { id: number; name: string }
}

/** Counts the flushes made, and notes each one's start and end among the events of the test. */
class RecordingFlusher extends FileFlusher {
  flushes = 0

  constructor(
    file: string,
    private readonly events: string[],
  ) {
    super(file)
  }

  protected override async flushNow(): Promise<void> {
    const n = ++this.flushes
    this.events.push(`flush ${n} starts`)
    await super.flushNow()
    // A slow disk: commits made meanwhile must wait for the next flush.
    await new Promise((resolve) => setTimeout(resolve, 20))
    this.events.push(`flush ${n} ends`)
  }
}

describe('SQLite group commit', () => {
  let dir: string
  let db: Kysely<Db>
  let sqlite: SqliteDatabase.Database
  let flusher: RecordingFlusher
  let events: string[]

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trove-durable-'))
    const file = join(dir, 'test.db')
    sqlite = new SqliteDatabase(file)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = NORMAL')
    events = []
    flusher = new RecordingFlusher(`${file}-wal`, events)
    db = new Kysely<Db>({ dialect: new DurableSqliteDialect({ database: sqlite }, flusher) })
    await sql`create table items (id integer primary key, name text not null)`.execute(db)
  })

  afterEach(async () => {
    await db.destroy()
    await rm(dir, { recursive: true, force: true })
  })

  it('returns from a write only after a flush that began after it', async () => {
    const before = flusher.flushes
    await db.insertInto('items').values({ id: 1, name: 'one' }).execute()
    events.push('insert returned')
    await db.transaction().execute((trx) => trx.updateTable('items').set({ name: 'uno' }).where('id', '=', 1).execute())
    events.push('transaction returned')

    expect(flusher.flushes - before).toBe(2)
    expect(events.slice(-6)).toEqual([
      `flush ${before + 1} starts`, `flush ${before + 1} ends`, 'insert returned',
      `flush ${before + 2} starts`, `flush ${before + 2} ends`, 'transaction returned',
    ])
    expect(await db.selectFrom('items').selectAll().execute()).toEqual([{ id: 1, name: 'uno' }])
  })

  it('flushes nothing for reads, read-only transactions and rolled-back nothing', async () => {
    await db.insertInto('items').values({ id: 1, name: 'one' }).execute()
    const before = flusher.flushes

    await db.selectFrom('items').selectAll().execute()
    await db.transaction().execute((trx) => trx.selectFrom('items').selectAll().execute())
    await expect(db.transaction().execute(async () => { throw new Error('changed its mind') })).rejects.toThrow('changed its mind')

    expect(flusher.flushes).toBe(before)
  })

  it('lets concurrent commits share flushes, each returning after one that began after its commit', async () => {
    const before = flusher.flushes
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('items').values({ id: i + 1, name: `item ${i}` }).execute()
          events.push(`commit ${i} wrote`)
        })
        events.push(`commit ${i} returned`)
      }),
    )

    expect(flusher.flushes - before).toBeLessThan(40)
    expect(await db.selectFrom('items').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 40 })
    for (let i = 0; i < 40; i++) {
      const wrote = events.indexOf(`commit ${i} wrote`)
      const returned = events.indexOf(`commit ${i} returned`)
      const covering = Array.from({ length: flusher.flushes }, (_, n) => n + 1).filter(
        (n) => events.indexOf(`flush ${n} starts`) > wrote && events.indexOf(`flush ${n} ends`) < returned && events.indexOf(`flush ${n} ends`) >= 0,
      )
      expect(covering.length, `commit ${i}`).toBeGreaterThan(0)
    }
  })

  it('fails the write whose flush fails, and flushes again for the next one', async () => {
    const failing = new (class extends FileFlusher {
      fail = true
      protected override async flushNow(): Promise<void> {
        if (this.fail) throw new Error('EIO: the disk failed')
        await super.flushNow()
      }
    })(join(dir, 'test.db-wal'))
    const other = new Kysely<Db>({ dialect: new DurableSqliteDialect({ database: new SqliteDatabase(join(dir, 'test.db')) }, failing) })
    try {
      await expect(other.insertInto('items').values({ id: 7, name: 'seven' }).execute()).rejects.toThrow('EIO')
      failing.fail = false
      await other.insertInto('items').values({ id: 8, name: 'eight' }).execute()
      expect((await other.selectFrom('items').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual([7, 8])
    } finally {
      await other.destroy()
    }
  })
})
