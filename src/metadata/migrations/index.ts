import type { Migration, MigrationProvider } from 'kysely'
import type { MetadataEngine } from '../database.js'
import { initial } from './001-initial.js'
import { jobs } from './002-jobs.js'
import { remote } from './005-remote.js'
import { vulndb } from './006-vulndb.js'
import { access } from './008-access.js'
import { sso } from './009-sso.js'
import { scanPolicies } from './010-scan-policies.js'
import { tokenBounds } from './011-token-bounds.js'
import { scansPerRepository } from './012-scans-per-repository.js'
import { storageLifecycle } from './013-storage-lifecycle.js'
import { clusterNodes } from './20261207-cluster-nodes.js'
import { operationsAudit } from './20261207-operations-audit.js'
import { operationsMaintenance } from './20261207-operations-maintenance.js'
import { operationsRequests } from './20261207-operations-requests.js'
import { operationsWebhooks } from './20261207-operations-webhooks.js'
import { uploadsSessions } from './20261207-uploads-sessions.js'
import { scaleIndexes } from './20261208-scale-indexes.js'
import { federationTables } from './20261208-federation-tables.js'
import { lifecycleTrash } from './20261208-lifecycle-trash.js'
import { lifecycleUsage } from './20261208-lifecycle-usage.js'
import { lifecyclePolicies } from './20261208-lifecycle-policies.js'

/** Migrations keyed by name; a format declares its own (`Format.migrations`). */
export type Migrations = Readonly<Record<string, Migration>>

/**
 * The core's migrations. Names sort lexically; never rename or edit a landed one. The formats'
 * tables are theirs: 003-oci, 004-npm and 007-helm live in their formats' folders, under the
 * same names, so databases that recorded them keep them.
 */
function coreMigrations(engine: MetadataEngine): Record<string, Migration> {
  return {
    '001-initial': initial(engine),
    '002-jobs': jobs,
    '005-remote': remote,
    '006-vulndb': vulndb,
    '008-access': access,
    '009-sso': sso,
    '010-scan-policies': scanPolicies,
    '011-token-bounds': tokenBounds,
    '012-scans-per-repository': scansPerRepository,
    '013-storage-lifecycle': storageLifecycle,
    '20261207-cluster-nodes': clusterNodes,
    '20261207-operations-audit': operationsAudit,
    '20261207-operations-maintenance': operationsMaintenance,
    '20261207-operations-requests': operationsRequests,
    '20261207-operations-webhooks': operationsWebhooks,
    '20261207-uploads-sessions': uploadsSessions,
    '20261208-scale-indexes': scaleIndexes(engine),
    '20261208-federation-tables': federationTables,
    '20261208-lifecycle-trash': lifecycleTrash,
    '20261208-lifecycle-usage': lifecycleUsage,
    '20261208-lifecycle-policies': lifecyclePolicies,
  }
}

/**
 * The core's migrations and those of `owners` (the formats), in one set. A name declared twice
 * (by two formats, or by a format and the core) is refused: one of them would never run.
 */
export function allMigrations(engine: MetadataEngine, owners: readonly { readonly id: string; readonly migrations?: Migrations | undefined }[] = []): Record<string, Migration> {
  const all = coreMigrations(engine)
  const ownerOf = new Map(Object.keys(all).map((name) => [name, 'the core']))
  for (const owner of owners) {
    for (const [name, migration] of Object.entries(owner.migrations ?? {})) {
      const other = ownerOf.get(name)
      if (other !== undefined) throw new Error(`the migration '${name}' is declared by ${other} and by the format '${owner.id}'`)
      ownerOf.set(name, `the format '${owner.id}'`)
      all[name] = migration
    }
  }
  return all
}

export function migrationProvider(engine: MetadataEngine, owners: Parameters<typeof allMigrations>[1] = []): MigrationProvider {
  const migrations = allMigrations(engine, owners)
  return { getMigrations: async () => migrations }
}
