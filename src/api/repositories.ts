/**
 * Artifactory's repository configuration JSON (`/artifactory/api/repositories/{key}`), as clients
 * send and read it. Fields a format adds (its settings, `GET /api/v1/ui/formats`) and fields
 * Trove does not know are kept as given, hence the index signature.
 */
export interface RepositoryConfigBody {
  readonly key: string
  /** `local`, `remote`, `virtual` or `federated`. */
  readonly rclass: string
  readonly packageType: string
  readonly description?: string
  readonly notes?: string
  readonly includesPattern?: string
  readonly excludesPattern?: string
  /** Trove: callers without credentials may read the repository. */
  readonly anonymousRead?: boolean
  /** Remote: the upstream. */
  readonly url?: string
  readonly username?: string
  /** Sent only, never returned. */
  readonly password?: string
  readonly offline?: boolean
  readonly retrievalCachePeriodSecs?: number
  readonly missedRetrievalCachePeriodSecs?: number
  /** Virtual: the members, in order. */
  readonly repositories?: readonly string[]
  readonly defaultDeploymentRepo?: string
  /** Set for the repositories of a project. */
  readonly projectKey?: string
  readonly [field: string]: unknown
}

/**
 * The body of `PUT` (create: `rclass` and `packageType` required) and `POST` (update: the fields
 * given) on `/artifactory/api/repositories/{key}`.
 */
export type RepositoryConfigRequest = Partial<RepositoryConfigBody>
