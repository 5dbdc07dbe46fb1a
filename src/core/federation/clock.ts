/**
 * A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014): stamps that follow
 * wall time but never go backwards, and that are always greater than any stamp this process has
 * seen from another instance. A stamp is `<ms, 15 digits>.<counter, 6 digits>.<instance id>`, so
 * that comparing stamps as strings orders them by time, then counter, then instance id: the last
 * writer wins, and two writers of one millisecond are ordered the same way everywhere.
 */
export class HybridClock {
  private physical = 0
  private counter = 0

  constructor(
    readonly instanceId: string,
    private readonly now: () => number = Date.now,
  ) {
    if (!/^[a-z0-9-]+$/.test(instanceId)) throw new Error(`not an instance id: ${instanceId}`)
  }

  /** A new stamp, greater than every stamp made or observed before. */
  tick(): string {
    const wall = this.now()
    if (wall > this.physical) {
      this.physical = wall
      this.counter = 0
    } else {
      this.counter += 1
    }
    return format(this.physical, this.counter, this.instanceId)
  }

  /** Takes in a stamp from another instance, so that later ticks are greater. Ignores a malformed one. */
  observe(stamp: string): void {
    const parsed = parseStamp(stamp)
    if (!parsed) return
    if (parsed.physical > this.physical || (parsed.physical === this.physical && parsed.counter > this.counter)) {
      this.physical = parsed.physical
      this.counter = parsed.counter
    }
  }
}

const STAMP = /^(\d{15})\.(\d{6})\.([a-z0-9-]+)$/

export function parseStamp(stamp: string): { physical: number; counter: number; instance: string } | undefined {
  const match = STAMP.exec(stamp)
  if (!match) return undefined
  return { physical: Number(match[1]), counter: Number(match[2]), instance: match[3]! }
}

/** The wall time a stamp was made at (ms), for lag. */
export function stampTime(stamp: string): number {
  return parseStamp(stamp)?.physical ?? 0
}

function format(physical: number, counter: number, instance: string): string {
  return `${String(physical).padStart(15, '0')}.${String(counter).padStart(6, '0')}.${instance}`
}
