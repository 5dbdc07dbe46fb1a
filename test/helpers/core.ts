import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import { ArtifactService } from '../../src/core/artifacts/artifact-service.js'
import { BlobRecords } from '../../src/core/blobs/blob-records.js'
import { BlobStore } from '../../src/core/blobs/blob-store.js'
import { RepositoryService } from '../../src/core/repositories/repository-service.js'
import { openMetadataStore, type MetadataStore } from '../../src/metadata/database.js'
import { FilesystemStorageDriver } from '../../src/storage/filesystem/filesystem-storage-driver.js'
import { createTestDatabase, type MetadataBackend } from './postgres.js'

export interface CoreFixture {
  readonly metadata: MetadataStore
  readonly blobs: BlobStore
  /** The metadata store's record of blob writes, which `blobs` keeps. */
  readonly records: BlobRecords
  readonly repositories: RepositoryService
  readonly artifacts: ArtifactService
  readonly dataDir: string
  readonly logger: Logger
  cleanup(): Promise<void>
}

/** Core services on a fresh metadata database of the given backend and a fresh blob folder. */
export async function createCoreFixture(backend: MetadataBackend): Promise<CoreFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trove-core-'))
  const database = backend === 'postgres' ? await createTestDatabase() : undefined
  const metadata = openMetadataStore(database?.url ?? join(dataDir, 'trove.db'))
  await metadata.migrate()
  const records = new BlobRecords(metadata.db)
  const blobs = new BlobStore(new FilesystemStorageDriver(dataDir), { records })
  return {
    metadata,
    blobs,
    records,
    repositories: new RepositoryService(metadata.db, new Map([['generic', ['local']]])),
    artifacts: new ArtifactService(metadata.db, blobs),
    dataDir,
    logger: pino({ level: 'silent' }) as Logger,
    async cleanup() {
      await metadata.close()
      await database?.drop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
