/** Cleanup policies and immutability rules over REST (docs/lifecycle.md), as the API and console see them. */

/** Which versions a policy looks at, which it deletes and which it keeps (Artifactory's field names where it has them). */
export interface CleanupSearchCriteria {
  /** Repository keys; `**` for every local repository (admins only). */
  readonly repos: readonly string[]
  readonly excludedRepos: readonly string[]
  /** Every local repository of these projects. */
  readonly projects: readonly string[]
  /** Only repositories of these package types (empty: any). */
  readonly packageTypes: readonly string[]
  /** Globs on package (image) names; default `**`. */
  readonly includedPackages: readonly string[]
  readonly excludedPackages: readonly string[]
  /** Selects versions created more than this many days ago. */
  readonly createdBeforeInDays?: number | undefined
  /** Selects versions not downloaded for this many days (never downloaded: counts from creation). */
  readonly lastDownloadedBeforeInDays?: number | undefined
  /** Keeps the newest N versions (tags) of each package. */
  readonly keepLastNVersions?: number | undefined
  /** Keeps versions (tags) matching these globs, e.g. `v*`, `latest`. */
  readonly keepVersions: readonly string[]
  /** Keeps versions downloaded in the last D days. */
  readonly keepDownloadedWithinDays?: number | undefined
  /** Selects only versions with one of these values of each property (on one of their files or folders). */
  readonly includedProperties: Readonly<Record<string, readonly string[]>>
  /** Keeps versions with one of these values of a property. */
  readonly excludedProperties: Readonly<Record<string, readonly string[]>>
}

export interface CleanupPolicyBody {
  readonly key: string
  readonly description: string
  readonly enabled: boolean
  /** Runs every this many hours (a real run); absent: only when asked. */
  readonly scheduleHours?: number | undefined
  readonly searchCriteria: CleanupSearchCriteria
  readonly createdBy: string
  readonly createdAt: number
  readonly updatedAt: number
}

export interface CleanupRunBody {
  readonly id: string
  readonly policyKey: string
  readonly dryRun: boolean
  readonly status: 'queued' | 'running' | 'succeeded' | 'failed'
  readonly startedBy: string
  readonly createdAt: number
  readonly startedAt: number | null
  readonly finishedAt: number | null
  /** Versions deleted (dry run: that would be). */
  readonly versions: number
  readonly bytes: number
  readonly failures: number
  readonly error: string | null
}

export interface CleanupRunItemBody {
  readonly repo: string
  readonly package: string
  readonly version: string
  /** The version's files, with those of untagged units only it kept. */
  readonly paths: readonly string[]
  readonly bytes: number
  readonly outcome: 'planned' | 'deleted' | 'failed'
  readonly message: string | null
}

export interface ImmutabilityRuleBody {
  readonly key: string
  /** Repository keys; `*`: every repository (admins only). */
  readonly repositories: readonly string[]
  /** Glob on package (image) names. */
  readonly packages: string
  /** Glob on versions (tags). */
  readonly versions: string
  readonly enabled: boolean
  readonly createdBy: string
  readonly createdAt: number
  readonly updatedAt: number
}
