/**
 * Federated repositories (docs/federation.md): what instances send each other, and the status
 * admins read at `GET /artifactory/api/federation/status/{repo}`.
 */

/** A file's latest version on the sending instance: its content, or a tombstone. */
export interface ReplicatedFile {
  readonly path: string
  /** Hybrid logical clock stamp of the change; the greatest wins everywhere. */
  readonly hlc: string
  readonly deleted: boolean
  readonly blob?: { readonly sha256: string; readonly sha1: string; readonly md5: string; readonly size: number }
  readonly contentType?: string
  /** Every property of the file (name to values). */
  readonly properties?: Readonly<Record<string, readonly string[]>>
}

/** `POST /artifactory/api/federation/changes/{repo}`: the blobs named are already on the receiver. */
export interface ReplicationBatch {
  /** The sender's federation instance id. */
  readonly from: string
  readonly files: readonly ReplicatedFile[]
}

/** `POST /artifactory/api/federation/join`: create, or join, the same-named repository on the receiver. */
export interface JoinRequest {
  readonly key: string
  readonly packageType: string
  /** The repository's local fields (description, patterns, format settings). */
  readonly config: Readonly<Record<string, unknown>>
  /** Every member's URL, the sender's included. */
  readonly members: readonly string[]
  /** The receiver's own URL among them (it is not its own member). */
  readonly you: string
  /** Only check that the receiver could join (its repository of that key, if any, has the same type and class). */
  readonly dryRun?: boolean
}

/** The leaves of the digest tree the full sync compares: 256 buckets of paths by the first byte of sha256(path). */
export interface DigestTree {
  readonly root: string
  readonly buckets: readonly string[]
}

export type MemberState = 'ok' | 'pending' | 'failing' | 'paused' | 'disabled'

export interface FederationMemberStatus {
  readonly url: string
  readonly enabled: boolean
  readonly state: MemberState
  /** Paths changed here that the member has not acknowledged. */
  readonly backlog: number
  /** Age of the oldest change not acknowledged, in seconds (0 when none is). */
  readonly lagSeconds: number
  readonly lastError: string | null
  readonly lastErrorAt: string | null
  readonly lastSentAt: string | null
  readonly lastFullSync: string | null
  /** When the backlog last passed `federation.maxBacklog` and was replaced by a full sync. */
  readonly backlogOverflowedAt: string | null
}

export interface FederationStatus {
  readonly repo: string
  /** This instance's federation id (the last part of its clock stamps). */
  readonly instance: string
  readonly members: readonly FederationMemberStatus[]
}
