/** System calls the console makes: version, readiness and the read-only switch. */

/** `GET /artifactory/api/system/version`. */
export interface SystemVersion {
  readonly version: string
  readonly revision: string
  readonly addons: readonly string[]
  readonly license: string
}

/** `GET /api/v1/system/readiness`: 200 when every check is `UP`, else 503 with the same body. */
export interface Readiness {
  readonly status: 'UP' | 'DOWN'
  readonly checks: readonly { readonly name: string; readonly status: 'UP' | 'DOWN'; readonly error?: string }[]
}

/** `GET`/`PUT /api/v1/system/read-only`. */
export interface ReadOnlyState {
  readonly enabled: boolean
  /** Shown to clients in the 503 and in the console's banner. */
  readonly message: string
  /** ISO 8601; null when never switched. */
  readonly updatedAt: string | null
}

/** The body of `PUT /api/v1/system/read-only`. */
export interface ReadOnlyRequest {
  readonly enabled: boolean
  readonly message?: string
}

/** One node of the cluster, in `GET /api/v1/system/nodes` (admin). */
export interface ClusterNode {
  readonly id: string
  readonly hostname: string
  readonly pid: number
  /** `host:port` it listens on; null before it listens. */
  readonly address: string | null
  readonly version: string | null
  /** ISO 8601. */
  readonly startedAt: string
  readonly lastHeartbeat: string
  /** `unresponsive`: no heartbeat within `cluster.nodeTimeoutSecs` (dead, or cut off from the database). */
  readonly state: 'starting' | 'serving' | 'draining' | 'unresponsive'
  /** The node that answered this request. */
  readonly isSelf: boolean
}

/** `GET /api/v1/system/nodes`. */
export interface ClusterNodes {
  readonly nodes: readonly ClusterNode[]
}
