import type { Logger } from 'pino'
import type { BlobRecords } from './blob-records.js'
import type { BlobStore } from './blob-store.js'
import type { SweepResult, TemporarySweeper } from './temporary-sweeper.js'

export interface GarbageCollectionResult {
  readonly examined: number
  readonly deleted: number
  readonly freedBytes: number
  /** Temporary data of abandoned uploads removed (see {@link TemporarySweeper}). */
  readonly temporariesRemoved: number
}

const BLOB_PREFIX = 'blobs/sha256/'

/**
 * Removes blobs that no asset refers to, and the temporary data of uploads nobody can finish. The
 * contract with every format: a blob is in use while an asset (any repository path) points at it.
 * A blob is kept for `graceMs` after its last write, as recorded in the metadata store (a repeated
 * upload of the same content refreshes it; see {@link BlobRecords}), so an upload whose asset is
 * not recorded yet is never collected under it. A stored blob with no row (an upload cut between
 * storing and recording, before this was kept) counts from its object's creation time.
 */
export class GarbageCollector {
  constructor(
    private readonly records: BlobRecords,
    private readonly blobs: BlobStore,
    private readonly sweeper: Pick<TemporarySweeper, 'sweep'>,
    private readonly logger: Logger,
  ) {}

  private readonly preludes: (() => Promise<unknown>)[] = []
  private readonly listeners: ((result: GarbageCollectionResult) => Promise<void>)[] = []

  /** Runs `prelude` at the start of every collection (the trash can lets its expired files go, so their blobs can go in the same run). */
  beforeCollect(prelude: () => Promise<unknown>): void {
    this.preludes.push(prelude)
  }

  /** Tells `listener` what each collection freed (the usage reports record it). */
  afterCollect(listener: (result: GarbageCollectionResult) => Promise<void>): void {
    this.listeners.push(listener)
  }

  async collect(graceMs: number): Promise<GarbageCollectionResult> {
    for (const prelude of this.preludes) await prelude()
    const swept: SweepResult = await this.sweeper.sweep()
    let examined = 0
    let deleted = 0
    let freedBytes = 0
    for await (const key of this.blobs.driver.list(BLOB_PREFIX)) {
      examined++
      const sha256 = key.slice(key.lastIndexOf('/') + 1)
      const cutoff = Date.now() - graceMs
      if (!(await this.isCollectable(key, sha256, cutoff))) continue
      // The row goes first, and only while still unreferenced and not rewritten: a deploy racing us keeps it.
      await this.records.forget(sha256, cutoff)
      // Checked again right before deleting: a new upload of the same bytes records its write first.
      const size = await this.isCollectable(key, sha256, cutoff)
      if (size === false) continue
      await this.blobs.delete(sha256)
      deleted++
      freedBytes += size
    }
    const result = { examined, deleted, freedBytes, temporariesRemoved: swept.removed }
    this.logger.info(result, 'garbage collection finished')
    for (const listener of this.listeners) await listener(result)
    return result
  }

  /** The blob's size if nothing refers to it and it was last written before `cutoff`, else false. */
  private async isCollectable(key: string, sha256: string, cutoff: number): Promise<number | false> {
    if (await this.records.isReferenced(sha256)) return false
    const lastWritten = await this.records.lastWritten(sha256)
    if (lastWritten !== undefined && lastWritten > cutoff) return false
    const stat = await this.blobs.driver.stat(key)
    if (!stat || stat.modifiedAt.getTime() > cutoff) return false
    return stat.size
  }
}
