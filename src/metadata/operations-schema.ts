/**
 * Tables of the operations area (issue #20): the audit log, maintenance windows, webhooks and
 * their deliveries, self-service requests and security-reviewer grants. Same conventions as
 * schema.ts: times in epoch milliseconds, JSON as text.
 */

/** One security-relevant action. Append-only: no code path updates a row; pruning deletes by age only. */
export interface AuditEventTable {
  /** Sortable: the time, zero-padded, then a random suffix (paging is by id). */
  id: string
  at: number
  /** The user or service account name; `anonymous`, or `system` for the server's own actions. */
  actor: string
  /** How the actor proved who they are: password, session, token, registry-token; null for anonymous and system. */
  actor_via: string | null
  /** The access token used (a service account's token, a console session). */
  actor_token: string | null
  address: string | null
  action: string
  target: string
  /** The project the target belongs to, for Project Admins' view. */
  project: string | null
  outcome: 'success' | 'denied' | 'failure'
  status: number | null
  details: string | null
}

export interface MaintenanceWindowTable {
  id: string
  kind: 'read-only' | 'outage'
  message: string
  starts_at: number
  ends_at: number
  /** Set when the window was scheduled with less notice than required. */
  forced_reason: string | null
  created_by: string
  created_at: number
  updated_at: number
  /** When the window was (last) announced: at creation, again when extended or ended early. */
  announced_at: number
  /** Set once by whichever node first saw the window start (the "started" notification). */
  started_notified_at: number | null
  ended_notified_at: number | null
  /** Set when cancelled before it started. */
  cancelled_at: number | null
}

export interface WebhookTable {
  id: string
  name: string
  url: string
  secret: string
  /** JSON array of event names. */
  events: string
  /** Null: a system webhook (admins); else the project whose events it gets. */
  project: string | null
  /** For `scan.findings`: the lowest severity that triggers it. */
  min_severity: string | null
  is_enabled: number
  created_by: string
  created_at: number
  updated_at: number
}

export interface WebhookDeliveryTable {
  id: string
  webhook_id: string
  event: string
  payload: string
  status: 'pending' | 'delivered' | 'failed'
  attempts: number
  response_status: number | null
  error: string | null
  created_at: number
  updated_at: number
}

export interface ServiceRequestTable {
  id: string
  kind: 'project' | 'remote-repository'
  requester: string
  status: 'pending' | 'approved' | 'declined'
  /** What was asked for (JSON). */
  request: string
  /** What was created, with the admin's edits (JSON); null until approved. */
  granted: string | null
  reason: string | null
  decided_by: string | null
  decided_at: number | null
  created_at: number
}

export interface SecurityReviewerTable {
  /** `user` or `group`. */
  principal_kind: string
  principal_name: string
  /** Empty: every project and repository; else one project. */
  project: string
  granted_by: string
  granted_at: number
}
