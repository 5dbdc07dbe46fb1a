import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { sql, type Kysely } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { openMetadataStore, reFetchable, type MetadataStore } from './database.js'

const dir = await mkdtemp(join(tmpdir(), 'trove-durability-'))
const file = join(dir, 'trove.db')
const store: MetadataStore = openMetadataStore(file)
// The tests' own table, beside no schema: durability is the connection's, not a table's.
const db = store.db as unknown as Kysely<Record<string, { id: number }>>
await sql`create table cached (id integer primary key)`.execute(db)

afterAll(async () => {
  await store.close()
  await rm(dir, { recursive: true, force: true })
})

/** SQLite's `synchronous` level on the connection `q` runs on: 1 NORMAL, 2 FULL. */
async function syncLevel(q: Kysely<Record<string, { id: number }>>): Promise<number> {
  const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(q)
  return rows[0]!.synchronous
}

describe('re-fetchable writes on SQLite', () => {
  it('commit without a sync of their own, and every other commit syncs again', async () => {
    expect(await syncLevel(db)).toBe(2)
    const inside = await reFetchable(() =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('cached').values({ id: 1 }).execute()
        return syncLevel(trx)
      }),
    )
    expect(inside).toBe(1)
    expect(await syncLevel(db)).toBe(2)
    expect(await db.transaction().execute((trx) => syncLevel(trx))).toBe(2)
    // Committed: another connection to the file sees it.
    const other = new SqliteDatabase(file, { readonly: true })
    try {
      expect(other.prepare('select id from cached').all()).toEqual([{ id: 1 }])
    } finally {
      other.close()
    }
  })

  it('put FULL back after a rollback, and write nothing', async () => {
    const failed = await reFetchable(() =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('cached').values({ id: 2 }).execute()
        throw new Error('the upstream bytes did not verify')
      }),
    ).catch((err: Error) => err.message)
    expect(failed).toBe('the upstream bytes did not verify')
    expect(await syncLevel(db)).toBe(2)
    expect((await db.selectFrom('cached').selectAll().execute()).map((r) => r.id)).toEqual([1])
  })

  it('never relax a deploy that runs while a cache entry commits', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const relaxed = reFetchable(() =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('cached').values({ id: 3 }).execute()
        await held
      }),
    )
    // Queued behind the relaxed transaction (one connection), it runs once that one committed.
    const deploy = db.transaction().execute(async (trx) => {
      await trx.insertInto('cached').values({ id: 4 }).execute()
      return syncLevel(trx)
    })
    release()
    await relaxed
    expect(await deploy).toBe(2)
  })
})
