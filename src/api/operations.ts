/**
 * Running the service (docs/operations.md): the audit log, maintenance windows, webhooks,
 * self-service requests and security reviewers. Shared by the REST API and the console.
 */

/** One audited action (`GET /api/v1/audit`). */
export interface AuditEventBody {
  readonly id: string
  /** ISO 8601. */
  readonly at: string
  /** The user or service account; `anonymous`; `system` for the server's own actions. */
  readonly actor: string
  /** password, session, token, registry-token; null for anonymous and system. */
  readonly actorVia: string | null
  /** The id of the access token used (a service account's token, a console session). */
  readonly actorToken: string | null
  readonly address: string | null
  /** `user.update`, `token.create`, `auth.sign-in`, `maintenance.create`, … (docs/operations.md lists them). */
  readonly action: string
  readonly target: string
  readonly project: string | null
  readonly outcome: 'success' | 'denied' | 'failure'
  readonly status: number | null
  readonly details: Readonly<Record<string, unknown>> | null
}

/** `GET /api/v1/audit?actor&action&target&project&outcome&from&to&limit&before`. */
export interface AuditPage {
  readonly events: readonly AuditEventBody[]
  /** Pass as `before` for the next (older) page; null on the last page. */
  readonly next: string | null
}

/** A maintenance window (`GET /api/v1/system/maintenance`). */
export interface MaintenanceWindowBody {
  readonly id: string
  readonly kind: 'read-only' | 'outage'
  readonly message: string
  /** ISO 8601. */
  readonly start: string
  readonly end: string
  /** `scheduled` (announced, not begun), `active`, `ended` or `cancelled`. */
  readonly state: 'scheduled' | 'active' | 'ended' | 'cancelled'
  readonly forcedReason: string | null
  readonly createdBy: string
  /** When it was last announced (created, extended or ended early). */
  readonly announcedAt: string
}

/** `GET /api/v1/system/maintenance`. */
export interface MaintenanceList {
  readonly windows: readonly MaintenanceWindowBody[]
  /** The window announced or in progress now (what the banner shows), if any. */
  readonly current: MaintenanceWindowBody | null
  /** The least notice a new window needs, in seconds. */
  readonly noticeSecs: number
}

/** `POST /api/v1/system/maintenance`. */
export interface MaintenanceRequest {
  readonly kind: 'read-only' | 'outage'
  readonly message: string
  readonly start: string
  readonly end: string
  /** Schedule with less notice than required; needs `reason`. */
  readonly force?: boolean
  readonly reason?: string
}

/** `PATCH /api/v1/system/maintenance/{id}`: a new end (extend, or end early), or `cancel`. */
export interface MaintenanceChange {
  readonly end?: string
  readonly endNow?: boolean
  readonly message?: string
}

/** A webhook (`GET /api/v1/webhooks`); the secret is shown only in the answer that created it. */
export interface WebhookBody {
  readonly id: string
  readonly name: string
  readonly url: string
  readonly events: readonly string[]
  /** Null for a system webhook. */
  readonly project: string | null
  readonly minSeverity: string | null
  readonly enabled: boolean
  readonly createdBy: string
  readonly createdAt: string
}

/** `POST /api/v1/webhooks`' answer. */
export interface CreatedWebhookBody extends WebhookBody {
  /** HMAC-SHA256 key of `X-Trove-Signature-256: sha256=<hex>`; shown once. */
  readonly secret: string
}

/** One delivery attempt record (`GET /api/v1/webhooks/{id}/deliveries`). */
export interface WebhookDeliveryBody {
  readonly id: string
  readonly event: string
  readonly status: 'pending' | 'delivered' | 'failed'
  readonly attempts: number
  readonly responseStatus: number | null
  readonly error: string | null
  readonly createdAt: string
  readonly updatedAt: string
}

/** `POST /api/v1/requests`: a project, or a remote repository. */
export type ServiceRequestInput =
  | {
      readonly kind: 'project'
      readonly key: string
      readonly name?: string
      readonly purpose: string
      /** -1 or absent: no quota. */
      readonly quotaBytes?: number
      /** Besides the requester, who becomes its Project Admin. */
      readonly members?: readonly { readonly name: string; readonly roles: readonly string[] }[]
    }
  | { readonly kind: 'remote-repository'; readonly key: string; readonly packageType: string; readonly url: string; readonly why: string }

/** A request as the requester and the admins see it. */
export interface ServiceRequestBody {
  readonly id: string
  readonly kind: 'project' | 'remote-repository'
  readonly requester: string
  readonly status: 'pending' | 'approved' | 'declined'
  readonly request: Readonly<Record<string, unknown>>
  readonly granted: Readonly<Record<string, unknown>> | null
  readonly reason: string | null
  readonly decidedBy: string | null
  readonly decidedAt: string | null
  readonly createdAt: string
}

/** `POST /api/v1/requests/{id}/approve`: optional edits of what is created. */
export interface ApproveRequest {
  readonly quotaBytes?: number
  readonly name?: string
  /** Merged over the created project's (Artifactory project JSON) or repository's configuration. */
  readonly settings?: Readonly<Record<string, unknown>>
}
