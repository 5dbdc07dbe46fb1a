const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']

/** 1536 → "1.5 KB" (powers of 1024, as storage tools show them). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—'
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`
}

export function formatDate(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === 0 || value === '') return '—'
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return String(value)
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

export function isoDate(value: string | number | null | undefined): string | undefined {
  if (value === null || value === undefined || value === 0 || value === '') return undefined
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}

/** Which checksum a hex string could be, by its length. */
export function checksumKind(text: string): 'sha256' | 'sha1' | 'md5' | undefined {
  if (!/^[0-9a-f]+$/i.test(text)) return undefined
  return text.length === 64 ? 'sha256' : text.length === 40 ? 'sha1' : text.length === 32 ? 'md5' : undefined
}
