import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ClusterLeases, Lease } from '../cluster/leases.js'

/** How often a node waiting for another node's download looks whether it ended. */
const DEFAULT_POLL_MS = 150

/**
 * Single flight of remote downloads across the nodes of a cluster: one lease per repository path
 * (`cluster_leases`, renewed while the download runs). The node holding it downloads; the others
 * wait until the file is in the cache (they answer from it) or the lease is free again: the holder
 * failed or died (its lease expires), and one of them takes over. Within a node, the engine's own
 * in-process single flight already makes concurrent requests share one download.
 */
export class ClusterFlights {
  constructor(
    private readonly leases: ClusterLeases,
    private readonly pollMs = DEFAULT_POLL_MS,
  ) {}

  /**
   * Resolves to a lease when this node is to download `key`, or to `undefined` when `isCached`
   * said the file is there now (another node downloaded it). `isCached` is asked again right
   * after the lease is taken: a download that ended just before must not be repeated.
   */
  async lead(key: string, isCached: () => Promise<boolean>, signal?: AbortSignal): Promise<Lease | undefined> {
    const name = `remote:${createHash('sha256').update(key).digest('hex')}`
    for (;;) {
      signal?.throwIfAborted()
      const lease = await this.leases.tryAcquire(name)
      if (lease) {
        try {
          if (!(await isCached())) return lease
        } catch (err) {
          await lease.release()
          throw err
        }
        await lease.release()
        return undefined
      }
      await sleep(this.pollMs)
      if (await isCached()) return undefined
    }
  }
}
