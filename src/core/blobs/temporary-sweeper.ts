import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { StorageDriver, TemporaryObject } from '../../storage/storage-driver.js'
import type { InstanceRegistry } from '../system/instances.js'

/** Temporary data whose writer's process is unknown (named by an earlier version) is abandoned after this long. */
export const UNOWNED_STALE_MS = 60 * 60 * 1000

/** A writer's id: `<instance id>.<random>`, so that whoever lists the temporaries can tell whose each is. */
export function writerId(instanceId: string): string {
  return `${instanceId}.${randomUUID()}`
}

/** The instance that made writer `id`, if it was named by {@link writerId}. */
export function ownerOf(id: string): string | undefined {
  const match = /^([0-9a-f]{16})\./.exec(id)
  return match?.[1]
}

/** Temporary data of a resumable upload session (core/uploads): abandoned once its session is gone. */
export function isSessionData(id: string): boolean {
  return id.startsWith(SESSION_DATA_PREFIX)
}

/** The temporary id of an upload session's data is `upload-<session id>`. */
export const SESSION_DATA_PREFIX = 'upload-'

export interface SweepResult {
  readonly removed: number
  readonly kept: number
}

/**
 * Removes the temporary data of uploads nobody can finish any more, and never that of an upload
 * still running, on this node or another:
 * - this process's own writers: removed once no longer live (a failed clean-up left them);
 * - another instance's: removed once that instance is gone (see {@link InstanceRegistry}), so the
 *   first sweep after a crash and restart reclaims what the crash left;
 * - data not named after an instance (from an earlier version): removed once untouched for an hour;
 * - an upload session's data (`upload-<id>`, core/uploads), which outlives its writers: kept while
 *   the session is open in the metadata store, removed once it is gone.
 */
export class TemporarySweeper {
  constructor(
    private readonly driver: StorageDriver,
    private readonly instances: InstanceRegistry,
    private readonly isWriting: (id: string) => boolean,
    private readonly logger: Logger,
    /** Resumable uploads: their temporary data belongs to an open session, on no process; kept while it is open. */
    private readonly sessions?: { openTemporaries(ids: readonly string[]): Promise<ReadonlySet<string>> },
  ) {}

  async sweep(): Promise<SweepResult> {
    const temporaries: TemporaryObject[] = []
    for await (const temporary of this.driver.listTemporary()) temporaries.push(temporary)
    // Asked after listing: the owner of anything listed registered before writing it, so a process
    // that started meanwhile is known to the snapshot and not taken for a gone one.
    const isAlive = await this.instances.liveness()
    // Asked after listing too: a session's row is written before its first byte, and goes after its commit.
    const open = (await this.sessions?.openTemporaries(temporaries.map((t) => t.id))) ?? new Set<string>()
    const now = Date.now()
    let removed = 0
    let kept = 0
    for (const temporary of temporaries) {
      const owner = ownerOf(temporary.id)
      if (open.has(temporary.id)) {
        kept++
        continue
      }
      // An upload session's data whose session is gone: nobody can finish it, whoever wrote it.
      const isSessionGone = this.sessions !== undefined && isSessionData(temporary.id)
      const isAbandoned =
        isSessionGone ||
        (owner === undefined
          ? temporary.modifiedAt.getTime() <= now - UNOWNED_STALE_MS
          : owner === this.instances.id
            ? !this.isWriting(temporary.id)
            : !isAlive(owner))
      if (!isAbandoned) {
        kept++
        continue
      }
      await this.driver.deleteTemporary(temporary.id)
      removed++
    }
    if (removed > 0) this.logger.info({ removed, kept }, 'removed the temporary data of abandoned uploads')
    return { removed, kept }
  }
}
