/** The events outgoing webhooks can subscribe to (docs/operations.md). */
export const EVENT_TYPES = [
  'maintenance.announced',
  'maintenance.started',
  'maintenance.ended',
  'request.submitted',
  'request.decided',
  'artifact.deployed',
  'artifact.deleted',
  'scan.findings',
  'download.blocked',
  'quota.warning',
  'quota.exceeded',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** One event, as webhooks send it. */
export interface OperationsEvent {
  readonly type: EventType
  /** The project it concerns; project webhooks get only their project's events, system webhooks all. */
  readonly project?: string | undefined
  /** One line for a person: what chat incoming webhooks show (the payload's `text`). */
  readonly text: string
  readonly data: Readonly<Record<string, unknown>>
  /** For `scan.findings`: the highest severity found (webhooks compare it with their minimum). */
  readonly severity?: string | undefined
}

export type EventListener = (event: OperationsEvent) => Promise<void>

/**
 * Where the operations area announces what happened; webhooks listen. A listener that fails is
 * reported to `onError` and does not stop the others or the caller.
 */
export class Notifications {
  private readonly listeners: EventListener[] = []

  constructor(private readonly onError: (err: unknown, event: OperationsEvent) => void) {}

  on(listener: EventListener): void {
    this.listeners.push(listener)
  }

  async emit(event: OperationsEvent): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(event)
      } catch (err) {
        this.onError(err, event)
      }
    }
  }
}
