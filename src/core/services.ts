import type { ChangeFeed } from './cluster/change-feed.js'
import type { InstanceRegistry } from './system/instances.js'
import type { TroveConfig } from '../config/config.js'
import type { MetadataStore } from '../metadata/database.js'
import type { StorageDriver } from '../storage/storage-driver.js'
import type { ArtifactService } from './artifacts/artifact-service.js'
import type { Authenticator } from './auth/authenticator.js'
import type { LoginLimiter } from './auth/login-limiter.js'
import type { SsoService } from './auth/sso/sso-service.js'
import type { Authorizer, GrantService } from './auth/authorizer.js'
import type { AccessSettings } from './auth/access-settings.js'
import type { GroupService } from './auth/groups.js'
import type { PermissionTargetService } from './auth/permission-targets.js'
import type { ProjectService } from './auth/projects.js'
import type { StorageQuota } from './auth/quota.js'
import type { RegistryTokenService } from './auth/registry-tokens.js'
import type { TokenService } from './auth/token-service.js'
import type { UserService } from './auth/user-service.js'
import type { BlobStore } from './blobs/blob-store.js'
import type { Metrics } from './metrics.js'
import type { Downloads } from './remote/downloads.js'
import type { RemoteEngine } from './remote/remote-engine.js'
import type { ResolutionEngine } from './remote/resolution.js'
import type { UpstreamClient } from './upstream/upstream-client.js'
import type { GarbageCollector } from './blobs/garbage-collector.js'
import type { JobQueue } from './jobs/job-queue.js'
import type { RepositoryService } from './repositories/repository-service.js'
import type { StorageSummaries } from './system/storage-summary.js'
import type { SystemSettings } from './system/system-settings.js'
import type { Scanner } from './scanning/scanner.js'
import type { VulnerabilityDatabase } from './scanning/vulndb.js'
import type { DownloadPolicies } from './scanning/policies.js'
import type { ScanReports } from './scanning/reports.js'
import type { VulnDbSync } from './scanning/sync.js'
import type { AuditLog } from './operations/audit-log.js'
import type { MaintenanceWindows } from './operations/maintenance.js'
import type { Notifications } from './operations/notifications.js'
import type { WebhookService } from './operations/webhooks.js'
import type { ServiceRequests } from './operations/requests.js'
import type { SecurityReviewers } from './operations/reviewers.js'
import type { UploadService } from './uploads/upload-service.js'
import type { FederationService } from './federation/federation-service.js'
import type { TrashCan } from './lifecycle/trash.js'
import type { CacheEviction } from './lifecycle/eviction.js'
import type { UsageReports } from './lifecycle/usage.js'
import type { CleanupPolicies } from './lifecycle/policies.js'
import type { ImmutabilityRules } from './lifecycle/immutability.js'
import type { DocumentCache } from './metadata-cache/document-cache.js'

/**
 * The core, as wired by `main.ts`: what the HTTP layer uses. Formats get it as a `FormatContext`
 * (format-context.ts): without `metadata` and `storage`, with their own tables and settings.
 */
export interface CoreServices {
  readonly config: TroveConfig
  readonly metadata: MetadataStore
  /** This node's heartbeat, and every node's (`GET /api/v1/system/nodes`). */
  readonly instances: InstanceRegistry
  /** Cluster-wide change notifications (src/core/cluster/change-feed.ts). */
  readonly changes: ChangeFeed
  readonly storage: StorageDriver
  readonly blobs: BlobStore
  /** What is stored, per repository and in the blob store (`/api/storageinfo`). */
  readonly storageSummaries: StorageSummaries
  readonly repositories: RepositoryService
  readonly artifacts: ArtifactService
  /** Rendered metadata documents of local repositories, kept in memory until their repository changes (src/core/metadata-cache/). */
  readonly documents: DocumentCache
  /** Resumable (chunked) uploads: hash state and bytes kept across chunks and nodes (src/core/uploads/). */
  readonly uploads: UploadService
  readonly users: UserService
  readonly tokens: TokenService
  readonly grants: GrantService
  readonly authenticator: Authenticator
  /** Password checks with brute-force limits: every password login goes through it. */
  readonly loginLimiter: LoginLimiter
  /** Single sign-on through the configured OpenID Connect and GitHub providers. */
  readonly sso: SsoService
  readonly authorizer: Authorizer
  /** Projects, their members, service accounts and shares (issue #7). */
  readonly projects: ProjectService
  readonly groups: GroupService
  readonly permissionTargets: PermissionTargetService
  /** Project storage quotas; ArtifactService charges them. */
  readonly quota: StorageQuota
  /** Global access switches: maximum token lifetime, remote repositories readable by logged-in users. */
  readonly accessSettings: AccessSettings
  /** Issues and verifies the container registry's signed tokens (`/v2/token`). */
  readonly registryTokens: RegistryTokenService
  readonly settings: SystemSettings
  readonly jobs: JobQueue
  readonly metrics: Metrics
  /** HTTP to upstream registries, for formats that need more than {@link RemoteEngine.fetch}. */
  readonly upstream: UpstreamClient
  /** Remote repositories: pull-through caching for every format. */
  readonly remote: RemoteEngine
  /** Reads through virtual repositories for every format: member order, readability, the guard, fall-through (src/core/remote/resolution.ts). */
  readonly resolution: ResolutionEngine
  /** The one download path: the policy check before a download, and its statistics (src/core/remote/downloads.ts). */
  readonly downloads: Downloads
  readonly gc: GarbageCollector
  /** OSV records: import, query, match (src/core/scanning/vulndb.ts). */
  readonly vulndb: VulnerabilityDatabase
  /** Scans stored artifacts as jobs and keeps their reports (src/core/scanning/scanner.ts). */
  readonly scanner: Scanner
  /** Download policies (src/core/scanning/policies.ts); downloads ask them through {@link downloads}. */
  readonly policies: DownloadPolicies
  /** Repository and project scan summaries (src/core/scanning/reports.ts). */
  readonly scanReports: ScanReports
  /** The scheduled vulnerability database sync from configured URLs (src/core/scanning/sync.ts). */
  readonly vulndbSync: VulnDbSync
  /** Who did what, when, from where (src/core/operations/audit-log.ts, docs/operations.md). */
  readonly audit: AuditLog
  /** Announced maintenance windows; every request asks {@link MaintenanceWindows.current} (docs/operations.md). */
  readonly maintenance: MaintenanceWindows
  /** Operations events (maintenance, requests, deploys, scans, quotas) for webhooks. */
  readonly notifications: Notifications
  /** Outgoing webhooks and their delivery log. */
  readonly webhooks: WebhookService
  /** Self-service requests for projects and remote repositories. */
  readonly requests: ServiceRequests
  /** The security-reviewer role: reads scan reports and policies, never artifacts. */
  readonly reviewers: SecurityReviewers
  /** Federated repositories: replication between instances (src/core/federation/, docs/federation.md). */
  readonly federation: FederationService
  /** Deleted files of local repositories, restorable for the retention period (src/core/lifecycle/trash.ts). */
  readonly trash: TrashCan
  /** Remote repositories' unused cached files removed on schedule (src/core/lifecycle/eviction.ts). */
  readonly cacheEviction: CacheEviction
  /** Usage per repository and project, snapshots, bytes freed by cleanups (src/core/lifecycle/usage.ts). */
  readonly usage: UsageReports
  /** Cleanup policies: dry runs, runs as jobs, their log (src/core/lifecycle/policies.ts, docs/lifecycle.md). */
  readonly cleanupPolicies: CleanupPolicies
  /** Immutability rules: versions no change may overwrite or delete (src/core/lifecycle/immutability.ts). */
  readonly immutability: ImmutabilityRules
}
