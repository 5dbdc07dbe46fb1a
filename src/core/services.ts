import type { TroveConfig } from '../config/config.js'
import type { MetadataStore } from '../metadata/database.js'
import type { StorageDriver } from '../storage/storage-driver.js'
import type { ArtifactService } from './artifacts/artifact-service.js'
import type { Authenticator } from './auth/authenticator.js'
import type { Authorizer, GrantService } from './auth/authorizer.js'
import type { TokenService } from './auth/token-service.js'
import type { UserService } from './auth/user-service.js'
import type { BlobStore } from './blobs/blob-store.js'
import type { GarbageCollector } from './blobs/garbage-collector.js'
import type { JobQueue } from './jobs/job-queue.js'
import type { RepositoryService } from './repositories/repository-service.js'
import type { SystemSettings } from './system/system-settings.js'

/** The core, as wired by `main.ts`: what the HTTP layer and the formats use. */
export interface CoreServices {
  readonly config: TroveConfig
  readonly metadata: MetadataStore
  readonly storage: StorageDriver
  readonly blobs: BlobStore
  readonly repositories: RepositoryService
  readonly artifacts: ArtifactService
  readonly users: UserService
  readonly tokens: TokenService
  readonly grants: GrantService
  readonly authenticator: Authenticator
  readonly authorizer: Authorizer
  readonly settings: SystemSettings
  readonly jobs: JobQueue
  readonly gc: GarbageCollector
}
