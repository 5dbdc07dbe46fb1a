/**
 * A metadata store as an earlier version left it, for upgrade tests: a fresh SQLite file or
 * PostgreSQL database migrated up to and including the named migration (the core's, and those of
 * the given formats), to be filled with old rows and then migrated by the code under test.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Migrator } from 'kysely'
import type { Format } from '../../src/formats/format.js'
import { openMetadataStore, type MetadataStore } from '../../src/metadata/database.js'
import { migrationProvider } from '../../src/metadata/migrations/index.js'
import { createTestDatabase, type MetadataBackend } from './postgres.js'

/** Opens the store; `cleanups` receives what removes it (run them in reverse order). */
export async function storeMigratedTo(
  backend: MetadataBackend,
  migration: string,
  cleanups: (() => Promise<void>)[],
  formats: readonly Format[] = [],
): Promise<MetadataStore> {
  let url: string
  if (backend === 'postgres') {
    const database = await createTestDatabase()
    cleanups.push(() => database.drop())
    url = database.url
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'trove-migrate-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    url = join(dir, 'trove.db')
  }
  const store = openMetadataStore(url)
  cleanups.push(() => store.close())
  const { error } = await new Migrator({ db: store.db, provider: migrationProvider(store.engine, formats) }).migrateTo(migration)
  if (error) throw error
  return store
}
