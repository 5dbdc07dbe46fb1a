/**
 * Re-fetchable writes on SQLite (`reFetchable`, durable-sqlite.ts): a remote cache entry's commit
 * returns without waiting for a flush of the log, while every other use that writes still waits
 * for one, also when it runs while a cache entry commits; a rolled-back entry writes nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { DurableSqliteDialect, FileFlusher, reFetchable } from './durable-sqlite.js'

class CountingFlusher extends FileFlusher {
  flushes = 0
  protected override async flushNow(): Promise<void> {
    this.flushes++
    await super.flushNow()
  }
}

const dir = await mkdtemp(join(tmpdir(), 'trove-durability-'))
const file = join(dir, 'trove.db')
const sqlite = new SqliteDatabase(file)
sqlite.pragma('journal_mode = WAL')
sqlite.pragma('synchronous = NORMAL')
const flusher = new CountingFlusher(`${file}-wal`)
const db = new Kysely<Record<string, { id: number }>>({ dialect: new DurableSqliteDialect({ database: sqlite }, flusher) })
await sql`create table cached (id integer primary key)`.execute(db)

afterAll(async () => {
  await db.destroy()
  await rm(dir, { recursive: true, force: true })
})

describe('re-fetchable writes on SQLite', () => {
  it('commit without a flush of their own, visible to another connection; other commits flush', async () => {
    const before = flusher.flushes
    await reFetchable(() => db.transaction().execute((trx) => trx.insertInto('cached').values({ id: 1 }).execute()))
    expect(flusher.flushes).toBe(before)
    const other = new SqliteDatabase(file, { readonly: true })
    try {
      expect(other.prepare('select id from cached').all()).toEqual([{ id: 1 }])
    } finally {
      other.close()
    }
    await db.transaction().execute((trx) => trx.insertInto('cached').values({ id: 2 }).execute())
    expect(flusher.flushes).toBe(before + 1)
  })

  it('write nothing when rolled back', async () => {
    const failed = await reFetchable(() =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('cached').values({ id: 3 }).execute()
        throw new Error('the upstream bytes did not verify')
      }),
    ).catch((err: Error) => err.message)
    expect(failed).toBe('the upstream bytes did not verify')
    expect((await db.selectFrom('cached').selectAll().execute()).map((r) => r.id)).toEqual([1, 2])
  })

  it('never relax a deploy that runs while a cache entry commits', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const relaxed = reFetchable(() =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('cached').values({ id: 4 }).execute()
        await held
      }),
    )
    const before = flusher.flushes
    // Queued behind the relaxed transaction (one connection), it runs once that one committed.
    const deploy = db.transaction().execute((trx) => trx.insertInto('cached').values({ id: 5 }).execute())
    release()
    await relaxed
    await deploy
    expect(flusher.flushes).toBe(before + 1)
  })
})
