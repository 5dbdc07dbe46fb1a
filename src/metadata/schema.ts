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
  oci_uploads: OciUploadTable
  oci_upload_chunks: OciUploadChunkTable
  oci_referrers: OciReferrerTable
  npm_packages: NpmPackageTable
  npm_versions: NpmVersionTable
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

/** A resumable blob upload session of the container registry (migration 003-oci). */
export interface OciUploadTable {
  /** The session UUID, as in its `Location`. */
  id: string
  repo_key: string
  image: string
  /** Bytes received so far. */
  size: number
  created_by: string
  created_at: number
  updated_at: number
}

/** One received chunk of an upload session: a blob of its own, kept by an asset in the image's uploads folder. */
export interface OciUploadChunkTable {
  upload_id: string
  start_offset: number
  size: number
  sha256: string
  /** The chunk's asset path, `<image>/_uploads/<upload id>.<offset>`. */
  path: string
}

/** What the referrers API needs of a manifest that has a `subject`; keyed by the manifest's digest (content facts). */
export interface OciReferrerTable {
  /** `sha256:<hex>` of the referrer manifest. */
  digest: string
  /** `sha256:<hex>` of the manifest it refers to. */
  subject: string
  artifact_type: string | null
  /** JSON object, or null when the manifest has none. */
  annotations: string | null
  created_at: number
}

/** An npm package in a local npm repository (format `npm`, migration 004-npm). */
export interface NpmPackageTable {
  repo_key: string
  /** The package name, `name` or `@scope/name`. */
  name: string
  /** Bumped by every change of the package or its versions; keys the serialized-packument cache and `_rev`. */
  revision: number
  /** JSON `{tag: version}`. */
  dist_tags: string
  /** Summary of the version `latest` points to, for search. */
  latest_version: string | null
  description: string | null
  /** JSON array of strings. */
  keywords: string
  created_at: number
  modified_at: number
}

/** One published version of an npm package; written in the transaction that records its tarball's asset. */
export interface NpmVersionTable {
  repo_key: string
  name: string
  version: string
  /** JSON: the version manifest, derived from the package.json inside the tarball, without `dist.tarball`. */
  manifest: string
  /** The tarball's asset path in the repository (`name/-/name-1.0.0.tgz`). */
  tarball_path: string
  deprecated: string | null
  /** README text sent with the publish (at most 64 KiB); shown for the latest version. */
  readme: string | null
  published_by: string
  created_at: number
  modified_at: number
}
