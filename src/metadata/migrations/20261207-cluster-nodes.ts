import type { Kysely, Migration } from 'kysely'

/**
 * What several nodes on one database need (expand only: a node of the previous version keeps
 * working beside these columns and tables, so a rolling upgrade needs no downtime):
 * - `instances` gains what `GET /api/v1/system/nodes` shows: the node's address, its version and
 *   its state (`serving`, `draining`).
 * - `cluster_leases`: named leases with an owner and an expiry (single flight of remote downloads
 *   across nodes). A lease whose owner died simply expires.
 * - `cluster_changes`: one counter per topic of cluster-wide state (read-only mode, repository
 *   configuration, …), raised by whoever changes it; nodes poll it as the fallback of PostgreSQL's
 *   `LISTEN/NOTIFY`.
 */
export const clusterNodes: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('instances').addColumn('address', 'text').execute()
    await db.schema.alterTable('instances').addColumn('version', 'text').execute()
    await db.schema.alterTable('instances').addColumn('state', 'text').execute()

    await db.schema
      .createTable('cluster_leases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('cluster_changes')
      .addColumn('topic', 'text', (c) => c.primaryKey())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .addColumn('changed_at', 'bigint', (c) => c.notNull())
      .execute()
  },
}
