/** Figures and tables shared by the bench suites. */
import { availableParallelism, loadavg } from 'node:os'
import { cpuPressure } from './processes.js'

/** Above this share of time with tasks waiting for a CPU, the figures say more about the neighbours. */
export const BUSY_PRESSURE_PERCENT = 10

export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  rows.forEach((row, index) => {
    console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '))
    if (index === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  })
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export function positiveInteger(name: string, fallback: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(value)}`)
  return Number(value)
}

/** `min–max` of the values, with `digits` decimals. */
export function range(values: readonly number[], digits = 0): string {
  return `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`
}

/** The machine's load: what readers need to judge figures measured while others use the CPUs. */
export interface MachineLoad {
  readonly loadAverage: readonly number[]
  /** Share of the last minute with tasks waiting for a CPU (PSI), when the kernel reports it. */
  readonly pressure: number | undefined
}

export async function machineLoad(): Promise<MachineLoad> {
  return { loadAverage: loadavg(), pressure: await cpuPressure() }
}

/** One line saying how busy the machine was before and after a suite. */
export function describeLoad(label: string, before: MachineLoad, after: MachineLoad): string {
  const load = (l: MachineLoad) => l.loadAverage.map((v) => v.toFixed(2)).join(' / ')
  let text = `${label}: load average (1 / 5 / 15 min) ${load(before)} before, ${load(after)} after, on ${availableParallelism()} CPUs`
  if (before.pressure !== undefined && after.pressure !== undefined) {
    text += `; CPU pressure (share of the last minute with tasks waiting for a CPU) ${before.pressure.toFixed(0)}% before, ${after.pressure.toFixed(0)}% after`
  }
  const busy =
    Math.max(before.loadAverage[0]!, after.loadAverage[0]!) > availableParallelism() ||
    Math.max(before.pressure ?? 0, after.pressure ?? 0) > BUSY_PRESSURE_PERCENT
  return busy ? `${text}: the machine was busy with other work, so the figures are noisy` : text
}
