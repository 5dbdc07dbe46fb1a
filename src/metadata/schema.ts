import type { ColumnType } from 'kysely'
import type { TrashItemTable, UsageFreedTable, UsageSnapshotTable } from './lifecycle-schema.js'
import type { LifecyclePoliciesDatabase } from './lifecycle-policies-schema.js'
import type { AuditEventTable, MaintenanceWindowTable, SecurityReviewerTable, ServiceRequestTable, WebhookDeliveryTable, WebhookTable } from './operations-schema.js'

/**
 * The metadata schema, shared by SQLite and PostgreSQL. Portable column types only: times are
 * epoch milliseconds (bigint, read back as numbers), booleans are 0/1 integers, JSON is text.
 */
export interface Database extends LifecyclePoliciesDatabase {
  repositories: RepositoryTable
  blobs: BlobTable
  assets: AssetTable
  folders: FolderTable
  properties: PropertyTable
  users: UserTable
  tokens: TokenTable
  repository_grants: RepositoryGrantTable
  settings: SettingTable
  jobs: JobTable
  vuln_records: VulnRecordTable
  vuln_aliases: VulnAliasTable
  vuln_affected: VulnAffectedTable
  scan_results: ScanResultTable
  scan_components: ScanComponentTable
  scan_findings: ScanFindingTable
  projects: ProjectTable
  project_members: ProjectMemberTable
  project_shares: ProjectShareTable
  groups: GroupTable
  group_members: GroupMemberTable
  permission_targets: PermissionTargetTable
  service_accounts: ServiceAccountTable
  sso_logins: SsoLoginTable
  sso_identities: SsoIdentityTable
  sso_user_groups: SsoUserGroupTable
  login_failures: LoginFailureTable
  scan_policies: ScanPolicyTable
  instances: InstanceTable
  audit_events: AuditEventTable
  maintenance_windows: MaintenanceWindowTable
  webhooks: WebhookTable
  webhook_deliveries: WebhookDeliveryTable
  service_requests: ServiceRequestTable
  security_reviewers: SecurityReviewerTable
  cluster_leases: ClusterLeaseTable
  cluster_changes: ClusterChangeTable
  upload_sessions: UploadSessionTable
  trash_items: TrashItemTable
  usage_snapshots: UsageSnapshotTable
  usage_freed: UsageFreedTable
}

export interface RepositoryTable {
  key: string
  rclass: string
  package_type: string
  /** The full Artifactory-shaped configuration as JSON (unknown fields kept). */
  config: string
  created_at: number
  updated_at: number
}

export interface BlobTable {
  sha256: string
  sha1: string
  md5: string
  size: number
  created_at: number
  /** When the blob was last stored (a repeated upload refreshes it); garbage collection's grace period counts from it. */
  written_at: ColumnType<number | null, number | null | undefined, number | null>
}

/** A running Trove process; its heartbeat tells others it (and the uploads it writes) is alive. */
export interface InstanceTable {
  id: string
  hostname: string
  host_identity: string | null
  pid: number
  started_at: number
  heartbeat_at: number
  /** Where the node listens (`host:port`), its version and state; null on rows of older versions. */
  address: string | null
  version: string | null
  state: string | null
}

export interface ClusterLeaseTable {
  name: string
  owner: string
  expires_at: number
}

export interface ClusterChangeTable {
  topic: string
  version: number
  changed_at: number
}

export interface AssetTable {
  repo_key: string
  /** Relative path without a leading slash, e.g. `a/b/file.bin`. */
  path: string
  /** Parent folder path, `''` for the repository root. */
  folder: string
  name: string
  sha256: string
  sha1: string
  md5: string
  size: number
  content_type: string
  /** Checksums the client declared, JSON `{sha256?, sha1?, md5?}`. */
  original_checksums: string
  created_at: number
  created_by: string
  modified_at: number
  modified_by: string
  downloaded_at: number | null
  downloaded_by: string | null
  download_count: number
  /** Remote repositories: the upstream URL a cached file came from, and when it was fetched or re-checked. */
  source_url?: string | null
  fetched_at?: number | null
}

export interface FolderTable {
  repo_key: string
  path: string
  folder: string
  name: string
  created_at: number
  created_by: string
}

export interface PropertyTable {
  repo_key: string
  /** The item (file or folder) the property is set on. */
  path: string
  name: string
  value: string
}

export interface UserTable {
  name: string
  email: string | null
  password_hash: string | null
  is_admin: number
  is_disabled: number
  /** Extra Artifactory user fields kept as JSON (groups, profileUpdatable, …). */
  attributes: string
  created_at: number
  updated_at: number
}

export interface TokenTable {
  id: string
  /** sha256 of the token, hex. The token itself is never stored. */
  token_hash: string
  subject: string
  description: string
  scope: string
  created_at: number
  expires_at: number | null
  last_used_at: number | null
  /** sha256 of the token's refresh token, when it has one (migration 008-access). */
  refresh_hash?: string | null
  /** 1 for a web console session (migration 012-token-bounds). */
  is_session?: number
  /** The latest expiry this token and its refreshed successors may have, ms; `null`: none (migration 012-token-bounds). */
  not_after?: number | null
}

export interface RepositoryGrantTable {
  repo_key: string
  user_name: string
  /** Comma-separated actions: read, annotate, deploy, delete, manage. */
  actions: string
}

export interface SettingTable {
  name: string
  value: string
  updated_at: number
}

export interface JobTable {
  id: string
  kind: string
  /** JSON. */
  payload: string
  status: 'queued' | 'running' | 'done' | 'failed'
  dedupe_key: string | null
  run_at: number
  lease_owner: string | null
  lease_until: number | null
  attempts: number
  /** JSON: the handler's summary, or the last error. */
  result: string | null
  created_at: number
  updated_at: number
}

/** One OSV record of the vulnerability database (migration 006-vulndb). */
export interface VulnRecordTable {
  id: string
  /** OSV `modified`, as written, and as epoch ms (what decides whether an import replaces the row). */
  modified: string
  modified_ms: number
  summary: string | null
  /** JSON array of the record's aliases. */
  aliases: string
  /** The whole record, JSON, as imported. */
  record: string
  imported_at: number
}

export interface VulnAliasTable {
  vuln_id: string
  alias: string
}

/** One `affected[]` entry of a record: the package, by ecosystem (as written, `Debian:12`) and normalised name. */
export interface VulnAffectedTable {
  vuln_id: string
  seq: number
  ecosystem: string
  name: string
  /** JSON: the entry's `ranges` (GIT ranges included; the matcher ignores them). */
  ranges: string
  /** JSON array: the entry's `versions`. */
  versions: string
}

/**
 * The scan of one blob in one repository (migration 012-scans-per-repository): it read only blobs
 * that repository holds, and goes with it. Identical bytes in two repositories are scanned twice.
 */
export interface ScanResultTable {
  repo_key: string
  sha256: string
  /** The extractor that read it (`npm`). */
  format: string
  status: 'done' | 'failed'
  /** Why a scan failed (limits, a malformed archive). */
  reason: string | null
  /** JSON `[{location, reason}]`: what the scan did not read (a foreign layer), or null. */
  skipped: string | null
  component_count: number
  scanned_at: number
  /** When the components were last matched against the database. */
  matched_at: number
}

export interface ScanComponentTable {
  repo_key: string
  sha256: string
  seq: number
  ecosystem: string
  /** Normalised for matching (npm lower case, PyPI PEP 503). */
  name: string
  display_name: string
  version: string
  /** `self`, `dependency` (declared), `bundled`, `locked` (from a lockfile or shrinkwrap). */
  relation: string
  /** Where in the artifact it was found (`package/package.json`, `package-lock.json: node_modules/x`). */
  location: string
}

export interface ScanFindingTable {
  repo_key: string
  sha256: string
  /** The component's `seq`. */
  seq: number
  vuln_id: string
}

/** A single sign-on in flight (migration 009-sso): created by the redirect to the provider, deleted by its callback. */
export interface SsoLoginTable {
  /** sha256 of the OAuth `state`, hex. */
  state_hash: string
  provider: string
  nonce: string
  /** The PKCE code verifier (RFC 7636); never leaves the server. */
  code_verifier: string
  /** sha256 of the random value in the browser's `trove_sso` cookie: the sign-in must end in the browser that began it. */
  browser_hash: string
  redirect_uri: string
  /** Console path to show after the sign-in. */
  return_to: string
  expires_at: number
}

/** A provider's identity (OIDC `sub`, GitHub user id) and the Trove user it signs in as. */
export interface SsoIdentityTable {
  provider: string
  subject: string
  user_name: string
  email: string | null
  created_at: number
  last_login_at: number
}

/** The groups a user was in at their last sign-in through `provider` (replaced at each sign-in). */
export interface SsoUserGroupTable {
  user_name: string
  group_name: string
  provider: string
}

/** Failed password checks in the current window, per key (`account:<name>` or `address:<ip>`). */
export interface LoginFailureTable {
  key: string
  failures: number
  window_start: number
  /** Epoch ms until which password checks for the key are refused; 0 when not blocked. */
  blocked_until: number
}

/** A project (migration 008-access): a team's space, its repositories keyed `<key>-…`. */
export interface ProjectTable {
  key: string
  display_name: string
  description: string
  /** -1: no quota. */
  storage_quota_bytes: number
  /** The sum of the sizes of the assets of the project's repositories, kept by core/auth/quota.ts. */
  used_bytes: number
  /** JSON `{manage_members, manage_resources, index_resources}`. */
  admin_privileges: string
  created_at: number
  updated_at: number
}

export interface ProjectMemberTable {
  project_key: string
  kind: 'user' | 'group'
  name: string
  /** JSON array of role names. */
  roles: string
}

/** A repository shared read-only with another project (`target`), or with every project (`*`). */
export interface ProjectShareTable {
  repo_key: string
  target: string
  created_at: number
}

export interface GroupTable {
  name: string
  /** Artifactory's group JSON (description, autoJoin, adminPrivileges, …), without the members. */
  config: string
  created_at: number
  updated_at: number
}

export interface GroupMemberTable {
  group_name: string
  user_name: string
}

export interface PermissionTargetTable {
  name: string
  /** Artifactory's v2 permission target JSON, normalised. */
  config: string
  created_at: number
  updated_at: number
}

/** A user that is a service account: no password, belongs to one project. */
export interface ServiceAccountTable {
  name: string
  project_key: string
  created_at: number
}

/** A download policy of the scanner (migration 010-scan-policies): who it covers and what it blocks, JSON. */
export interface ScanPolicyTable {
  name: string
  /** JSON: repositories, projects, minSeverity, blockUnscanned, ignoreRules, … (core/scanning/policies.ts). */
  body: string
  created_at: number
  updated_at: number
}

/** A resumable upload in progress (migration 20261207-uploads-sessions; core/uploads/upload-service.ts). */
export interface UploadSessionTable {
  id: string
  repo_key: string
  /** What the protocol uploads into, e.g. an image name. */
  subject: string
  /** Bytes received and durable; the next chunk starts here. */
  size: number
  /** The saved hash states after `size` bytes (base64 JSON). */
  hash_state: string
  /** The blob store's state of the appendable object. */
  storage_state: string | null
  /** The chunk being appended: `<instance id>.<random>`, or null. */
  writer: string | null
  created_by: string
  created_at: number
  updated_at: number
}
