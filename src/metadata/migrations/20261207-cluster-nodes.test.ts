/**
 * Upgrading to 20261207-cluster-nodes: a database at 013 keeps its instance rows (a node of the
 * previous version still running during a rolling upgrade keeps its heartbeat), which gain empty
 * address, version and state columns; the lease and change tables start empty.
 */
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import { storeMigratedTo } from '../../../test/helpers/migrated-store.js'

const backends = await metadataBackends()

describe.each(backends)('migration 20261207-cluster-nodes (%s)', (backend) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('keeps the instances of an older database, and an old-version node can still beat', async () => {
    const store = await storeMigratedTo(backend, '013-storage-lifecycle', cleanups)
    await sql`INSERT INTO instances (id, hostname, host_identity, pid, started_at, heartbeat_at) VALUES ('0123456789abcdef', 'old-host', NULL, 42, 1000, 2000)`.execute(store.db)

    await store.migrate()

    expect(await store.db.selectFrom('instances').selectAll().execute()).toEqual([
      { id: '0123456789abcdef', hostname: 'old-host', host_identity: null, pid: 42, started_at: 1000, heartbeat_at: 2000, address: null, version: null, state: null },
    ])
    // The previous version's heartbeat statement (no new columns) still works beside the new ones.
    await sql`UPDATE instances SET heartbeat_at = 3000 WHERE id = '0123456789abcdef'`.execute(store.db)
    await sql`INSERT INTO instances (id, hostname, host_identity, pid, started_at, heartbeat_at) VALUES ('fedcba9876543210', 'old-host', NULL, 43, 1000, 2000)`.execute(store.db)
    expect(await store.db.selectFrom('cluster_leases').selectAll().execute()).toEqual([])
    expect(await store.db.selectFrom('cluster_changes').selectAll().execute()).toEqual([])
  })
})
