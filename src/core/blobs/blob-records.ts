import { sql, type Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import type { BlobInfo } from './blob-store.js'

/**
 * The metadata store's row of each stored blob, written when the blob is stored (before it becomes
 * visible), so that every node, on every storage backend, knows when content was last written:
 * garbage collection's grace period counts from that, never from a stored object's modification
 * time (an object store cannot refresh one).
 */
export class BlobRecords {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records that `blob` was (re)written now; the first write also creates its row. */
  async written(blob: BlobInfo): Promise<void> {
    const now = Date.now()
    await this.db
      .insertInto('blobs')
      .values({ sha256: blob.sha256, sha1: blob.sha1, md5: blob.md5, size: blob.size, created_at: now, written_at: now })
      .onConflict((oc) => oc.column('sha256').doUpdateSet({ written_at: now }))
      .execute()
  }

  /** When the blob was last written, if recorded (blobs stored before this was kept have their row's creation time). */
  async lastWritten(sha256: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('blobs').select(['written_at', 'created_at']).where('sha256', '=', sha256).executeTakeFirst()
    return row ? Number(row.written_at ?? row.created_at) : undefined
  }

  /** Whether a file, or a file in the trash can (restorable, so its bytes must stay), points at the blob. */
  async isReferenced(sha256: string): Promise<boolean> {
    const reference =
      (await this.db.selectFrom('assets').select('repo_key').where('sha256', '=', sha256).limit(1).executeTakeFirst()) ??
      (await this.db.selectFrom('trash_items').select('repo_key').where('sha256', '=', sha256).limit(1).executeTakeFirst())
    return reference !== undefined
  }

  /**
   * Removes the blob's row, but only while no asset (nor trashed file) refers to it and it was not written after
   * `cutoff`: a deploy or an upload racing garbage collection keeps it.
   */
  async forget(sha256: string, cutoff: number): Promise<void> {
    await this.db
      .deleteFrom('blobs')
      .where('sha256', '=', sha256)
      .where((eb) => eb.or([eb('written_at', 'is', null), eb('written_at', '<=', cutoff)]))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('assets').select(sql.lit(1).as('one')).where('sha256', '=', sha256))))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('trash_items').select(sql.lit(1).as('one')).where('sha256', '=', sha256))))
      .execute()
  }
}
