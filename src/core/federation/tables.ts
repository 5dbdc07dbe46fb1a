import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../../metadata/schema.js'

/** The federation's tables (migration 20261208-federation-tables). */
export interface FederationTables {
  federation_versions: FederationVersionTable
  federation_outbox: FederationOutboxTable
  federation_members: FederationMemberTable
}

/** The last change of one path of a federated repository, kept after a delete (a tombstone). */
export interface FederationVersionTable {
  repo_key: string
  path: string
  /** 0–255: the first byte of sha256(path), the leaf of the digest tree the full sync compares. */
  bucket: number
  /** The change's hybrid logical clock stamp (clock.ts): the greatest wins. */
  hlc: string
  /** The file's blob; null for a tombstone. */
  sha256: string | null
  deleted: number
  updated_at: number
}

/** A path whose latest version a member has not acknowledged yet (one row per member and path). */
export interface FederationOutboxTable {
  repo_key: string
  member: string
  path: string
  hlc: string
  created_at: number
}

/** What this instance knows of delivering to one member. */
export interface FederationMemberTable {
  repo_key: string
  url: string
  paused: number
  last_error: string | null
  last_error_at: number | null
  last_sent_at: number | null
  last_full_sync_at: number | null
  full_sync_wanted: number
  /** When the backlog last passed its bound (then dropped in favour of a full sync). */
  overflowed_at: number | null
}

export type FederationDb = Kysely<Database & FederationTables>
export type FederationTrx = Transaction<Database & FederationTables>
