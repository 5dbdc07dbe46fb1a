/**
 * The metadata schema, shared by SQLite and PostgreSQL. Portable column types only: times are
 * epoch milliseconds (bigint, read back as numbers), booleans are 0/1 integers, JSON is text.
 */
export interface Database {
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
