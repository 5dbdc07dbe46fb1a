/** Tables of cleanup policies and immutability rules (migration 20261208-lifecycle-policies; docs/lifecycle.md). */
export interface LifecyclePoliciesDatabase {
  cleanup_policies: CleanupPolicyTable
  cleanup_runs: CleanupRunTable
  cleanup_run_items: CleanupRunItemTable
  immutability_rules: ImmutabilityRuleTable
}

export interface CleanupPolicyTable {
  key: string
  /** JSON: the policy as the API shows it, without key and bookkeeping. */
  definition: string
  enabled: number
  /** When the schedule runs it next; null: no schedule. */
  next_run_at: number | null
  created_by: string
  created_at: number
  updated_at: number
}

export interface CleanupRunTable {
  id: string
  policy_key: string
  dry_run: number
  /** `queued` | `running` | `succeeded` | `failed` */
  status: string
  started_by: string
  created_at: number
  started_at: number | null
  finished_at: number | null
  /** Versions deleted (or, in a dry run, that would be). */
  versions: number
  bytes: number
  failures: number
  error: string | null
}

/** One version a run deleted, would delete (dry run), or failed to delete. */
export interface CleanupRunItemTable {
  run_id: string
  seq: number
  repo_key: string
  package: string
  version: string
  /** JSON array of the unit's paths (with the untagged units it took along). */
  paths: string
  bytes: number
  /** `planned` (dry run) | `deleted` | `failed` */
  outcome: string
  message: string | null
}

export interface ImmutabilityRuleTable {
  key: string
  /** JSON array of repository keys (`*`: every repository). */
  repositories: string
  /** Glob on package names (`**`: any). */
  packages: string
  /** Glob on versions or tags. */
  versions: string
  enabled: number
  created_by: string
  created_at: number
  updated_at: number
}
