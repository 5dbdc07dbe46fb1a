import type { Migration, MigrationProvider } from 'kysely'
import type { MetadataEngine } from '../database.js'
import { initial } from './001-initial.js'
import { jobs } from './002-jobs.js'

/** Every migration, in order. Names sort lexically; never rename or edit a landed one. */
function migrations(engine: MetadataEngine): Record<string, Migration> {
  return {
    '001-initial': initial(engine),
    '002-jobs': jobs,
  }
}

export function migrationProvider(engine: MetadataEngine): MigrationProvider {
  return { getMigrations: async () => migrations(engine) }
}
