/**
 * Tables of the storage lifecycle (issue #21): the trash can and the usage reports. Same
 * conventions as schema.ts: times in epoch milliseconds, JSON as text.
 */
import type { AssetTable } from './schema.js'

/**
 * A file deleted from a local repository, kept until the trash can's retention period ends (or it
 * is restored, cleaned or the trash emptied). Its blob stays while the row is here: garbage
 * collection counts it as a reference. One row per original path: deleting the same path again
 * replaces the older one.
 */
export interface TrashItemTable
  extends Pick<AssetTable, 'repo_key' | 'path' | 'sha256' | 'sha1' | 'md5' | 'size' | 'content_type' | 'original_checksums' | 'created_at' | 'created_by' | 'modified_at' | 'modified_by'> {
  /** The file's properties when it was deleted, JSON `{name: [values]}`. */
  properties: string
  /** The project whose quota still counts the file (the repository's when it was deleted). */
  project_key: string | null
  deleted_at: number
  deleted_by: string
}

/** One day's totals of one repository (`day`: `YYYY-MM-DD`, UTC); written once a day, and again that day when asked. */
export interface UsageSnapshotTable {
  day: string
  repo_key: string
  project_key: string | null
  files: number
  logical_bytes: number
  stored_bytes: number
  taken_at: number
}

/** Bytes freed by one cleanup (a policy run, the trash emptying, cache eviction, garbage collection). */
export interface UsageFreedTable {
  id: string
  at: number
  /** Null for what garbage collection frees from the blob store as a whole. */
  repo_key: string | null
  project_key: string | null
  bytes: number
  files: number
  /** What freed them: `policy:<name>`, `trash`, `eviction`, `gc`. */
  source: string
}
