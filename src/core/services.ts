import type { TroveConfig } from '../config/config.js'
import type { MetadataStore } from '../metadata/database.js'
import type { StorageDriver } from '../storage/storage-driver.js'
import type { ArtifactService } from './artifacts/artifact-service.js'
import type { Authenticator } from './auth/authenticator.js'
import type { Authorizer, GrantService } from './auth/authorizer.js'
import type { RegistryTokenService } from './auth/registry-tokens.js'
import type { TokenService } from './auth/token-service.js'
import type { UserService } from './auth/user-service.js'
import type { BlobStore } from './blobs/blob-store.js'
import type { Metrics } from './metrics.js'
import type { RemoteEngine } from './remote/remote-engine.js'
import type { UpstreamClient } from './upstream/upstream-client.js'
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
  /** Issues and verifies the container registry's signed tokens (`/v2/token`). */
  readonly registryTokens: RegistryTokenService
  readonly settings: SystemSettings
  readonly jobs: JobQueue
  readonly metrics: Metrics
  /** HTTP to upstream registries, for formats that need more than {@link RemoteEngine.fetch}. */
  readonly upstream: UpstreamClient
  /** Remote repositories: pull-through caching for every format. */
  readonly remote: RemoteEngine
  readonly gc: GarbageCollector
}
