import { sql, type Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database } from '../../metadata/schema.js'
import type { BlobStore } from './blob-store.js'

export interface GarbageCollectionResult {
  readonly examined: number
  readonly deleted: number
  readonly freedBytes: number
}

const BLOB_PREFIX = 'blobs/sha256/'

/**
 * Removes blobs that no asset refers to. The contract with every format: a blob is in use while
 * an asset (any repository path) points at it. A blob is kept for `graceMs` after its last write,
 * measured from the stored object's modification time (a repeated upload of the same content
 * refreshes it), so an upload whose asset is not recorded yet is never collected under it.
 */
export class GarbageCollector {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
  ) {}

  async collect(graceMs: number): Promise<GarbageCollectionResult> {
    let examined = 0
    let deleted = 0
    let freedBytes = 0
    for await (const key of this.blobs.driver.list(BLOB_PREFIX)) {
      examined++
      const sha256 = key.slice(key.lastIndexOf('/') + 1)
      if (!(await this.isCollectable(key, sha256, graceMs))) continue
      // The row goes first, and only while still unreferenced: a deploy racing us re-inserts it.
      await this.db
        .deleteFrom('blobs')
        .where('sha256', '=', sha256)
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('assets').select(sql.lit(1).as('one')).where('sha256', '=', sha256))))
        .execute()
      // Checked again right before deleting: a new upload of the same bytes touches the object.
      const stat = await this.blobs.driver.stat(key)
      if (!stat || !(await this.isCollectable(key, sha256, graceMs))) continue
      await this.blobs.delete(sha256)
      deleted++
      freedBytes += stat.size
    }
    const result = { examined, deleted, freedBytes }
    this.logger.info(result, 'garbage collection finished')
    return result
  }

  private async isCollectable(key: string, sha256: string, graceMs: number): Promise<boolean> {
    const stat = await this.blobs.driver.stat(key)
    if (!stat || stat.modifiedAt.getTime() > Date.now() - graceMs) return false
    const reference = await this.db.selectFrom('assets').select('repo_key').where('sha256', '=', sha256).limit(1).executeTakeFirst()
    return reference === undefined
  }
}
