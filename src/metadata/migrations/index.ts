import type { Migration, MigrationProvider } from 'kysely'
import type { MetadataEngine } from '../database.js'
import { initial } from './001-initial.js'
import { jobs } from './002-jobs.js'
import { oci } from './003-oci.js'
import { npm } from './004-npm.js'
import { remote } from './005-remote.js'
import { vulndb } from './006-vulndb.js'
import { helm } from './007-helm.js'
import { access } from './008-access.js'
import { sso } from './009-sso.js'
import { scanPolicies } from './010-scan-policies.js'
import { tokenBounds } from './011-token-bounds.js'
import { scansPerRepository } from './012-scans-per-repository.js'
import { storageLifecycle } from './013-storage-lifecycle.js'
import { uploadsSessions } from './20261207-uploads-sessions.js'

/** Every migration, in order. Names sort lexically; never rename or edit a landed one. */
function migrations(engine: MetadataEngine): Record<string, Migration> {
  return {
    '001-initial': initial(engine),
    '002-jobs': jobs,
    '003-oci': oci,
    '004-npm': npm,
    '005-remote': remote,
    '006-vulndb': vulndb,
    '007-helm': helm,
    '008-access': access,
    '009-sso': sso,
    '010-scan-policies': scanPolicies,
    '011-token-bounds': tokenBounds,
    '012-scans-per-repository': scansPerRepository,
    '013-storage-lifecycle': storageLifecycle,
    '20261207-uploads-sessions': uploadsSessions,
  }
}

export function migrationProvider(engine: MetadataEngine): MigrationProvider {
  return { getMigrations: async () => migrations(engine) }
}
