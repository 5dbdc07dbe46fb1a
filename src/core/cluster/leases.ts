import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database } from '../../metadata/schema.js'

export interface LeaseTimings {
  /** A lease not renewed for this long is free: its holder died or lost the database. */
  readonly ttlMs: number
  /** How often a held lease is renewed (well under {@link ttlMs}). */
  readonly renewMs: number
}

const DEFAULT_TIMINGS: LeaseTimings = { ttlMs: 10_000, renewMs: 3_000 }

/** A lease this node holds; it renews itself until released. */
export interface Lease {
  readonly name: string
  /** Gives the lease up (idempotent). Never throws: a lease that cannot be deleted expires. */
  release(): Promise<void>
}

/**
 * Named, expiring leases in the metadata store (`cluster_leases`): at most one holder per name
 * across every node. A holder renews its lease while it works; one that dies stops renewing, and
 * the lease is free again after {@link LeaseTimings.ttlMs}. Used where an advisory lock would pin a
 * database connection for the length of a download.
 */
export class ClusterLeases {
  constructor(
    private readonly db: Kysely<Database>,
    /** This node's instance id: the owner written into its leases. */
    private readonly owner: string,
    private readonly logger: Logger,
    private readonly timings: LeaseTimings = DEFAULT_TIMINGS,
  ) {}

  /** Takes `name` when nobody holds it or its lease expired; `undefined` when someone else holds it. */
  async tryAcquire(name: string): Promise<Lease | undefined> {
    const now = Date.now()
    const expiresAt = now + this.timings.ttlMs
    const row = await this.db
      .insertInto('cluster_leases')
      .values({ name, owner: this.owner, expires_at: expiresAt })
      .onConflict((oc) => oc.column('name').doUpdateSet({ owner: this.owner, expires_at: expiresAt }).where('cluster_leases.expires_at', '<', now))
      .returning('owner')
      .executeTakeFirst()
    if (row === undefined) return undefined
    return this.held(name)
  }

  /** Whether someone (this node included) holds an unexpired lease on `name`. */
  async isHeld(name: string): Promise<boolean> {
    const row = await this.db.selectFrom('cluster_leases').select('expires_at').where('name', '=', name).executeTakeFirst()
    return row !== undefined && row.expires_at >= Date.now()
  }

  private held(name: string): Lease {
    let isReleased = false
    const timer = setInterval(() => {
      this.db
        .updateTable('cluster_leases')
        .set({ expires_at: Date.now() + this.timings.ttlMs })
        .where('name', '=', name)
        .where('owner', '=', this.owner)
        .execute()
        .catch((err: unknown) => this.logger.warn({ err: (err as Error).message, lease: name }, 'could not renew a cluster lease'))
    }, this.timings.renewMs)
    timer.unref()
    return {
      name,
      release: async () => {
        if (isReleased) return
        isReleased = true
        clearInterval(timer)
        try {
          await this.db.deleteFrom('cluster_leases').where('name', '=', name).where('owner', '=', this.owner).execute()
        } catch (err) {
          this.logger.warn({ err: (err as Error).message, lease: name }, 'could not release a cluster lease; it expires')
        }
      },
    }
  }
}
