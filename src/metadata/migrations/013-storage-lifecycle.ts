import { sql, type Kysely, type Migration } from 'kysely'

/**
 * What lets any node judge the blob store's leftovers, on any backend:
 * - `blobs.written_at`: when a blob was last stored (a repeated upload of the same content counts).
 *   Garbage collection's grace period counts from it, not from the stored object's modification
 *   time, which an object store cannot refresh. Rows from before take their creation time.
 * - `instances`: one row per running Trove process, with a heartbeat. Temporary upload data is
 *   named after the process writing it, so an upload whose process is gone (crashed, killed) can be
 *   told from one still running on this or another node.
 */
export const storageLifecycle: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('blobs').addColumn('written_at', 'bigint').execute()
    await sql`update blobs set written_at = created_at`.execute(db)

    await db.schema
      .createTable('instances')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('hostname', 'text', (c) => c.notNull())
      // Boot id and PID namespace: processes with the same one can check each other's pid.
      .addColumn('host_identity', 'text')
      .addColumn('pid', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
      .execute()
  },
}
