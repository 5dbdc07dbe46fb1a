import type { Logger } from 'pino'
import type { AuditLog } from './audit-log.js'
import type { MaintenanceWindow, MaintenanceWindows } from './maintenance.js'
import type { Notifications } from './notifications.js'

/**
 * Looks, every second on every node, for windows that started or ended; each transition is
 * claimed by one node (see {@link MaintenanceWindows.claimTransitions}), which records it in the
 * audit log as `system` and announces it. Requests do not wait for it: each node reads the
 * windows themselves to decide whether it is read-only.
 */
export class MaintenanceClock {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor(
    private readonly deps: { windows: MaintenanceWindows; audit: AuditLog; notifications: Notifications; logger: Logger },
  ) {}

  start(intervalMs = 1000): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      if (this.running) return
      this.running = this.tick()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not check the maintenance windows'))
        .finally(() => {
          this.running = undefined
        })
    }, intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  async tick(): Promise<void> {
    const { started, ended } = await this.deps.windows.claimTransitions()
    for (const window of started) await this.announce(window, 'started')
    for (const window of ended) await this.announce(window, 'ended')
    if (started.length + ended.length > 0) this.deps.windows.invalidate()
  }

  private async announce(window: MaintenanceWindow, what: 'started' | 'ended'): Promise<void> {
    this.deps.logger.warn({ window: window.id, kind: window.kind }, `maintenance window ${what}`)
    await this.deps.audit.record({ actor: 'system', action: `maintenance.${what === 'started' ? 'start' : 'end'}`, target: window.id, outcome: 'success', details: { kind: window.kind } })
    await this.deps.notifications.emit({
      type: what === 'started' ? 'maintenance.started' : 'maintenance.ended',
      text: what === 'started' ? `Maintenance started (${window.kind}) until ${new Date(window.endsAt).toISOString()}: ${window.message}` : `Maintenance ended: ${window.message}`,
      data: windowData(window),
    })
  }
}

/** What names a window in the audit log, webhooks and the API: its id, kind, message, start and end. */
export function windowData(window: MaintenanceWindow): { id: string; kind: MaintenanceWindow['kind']; message: string; start: string; end: string } {
  return {
    id: window.id,
    kind: window.kind,
    message: window.message,
    start: new Date(window.startsAt).toISOString(),
    end: new Date(window.endsAt).toISOString(),
  }
}
