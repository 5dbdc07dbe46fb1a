import type { ByteRange } from '../storage/storage-driver.js'

export type RangeRequest =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly range: ByteRange }
  | { readonly kind: 'unsatisfiable' }

/**
 * Interprets a `Range` header for an entity of `size` bytes (RFC 9110 §14). One range is honoured;
 * several, or a unit other than bytes, are answered with the full entity, which the RFC allows.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (!header) return { kind: 'full' }
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (!match) return { kind: 'full' }
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return { kind: 'full' }
  if (first === '') {
    // Suffix range: the last N bytes.
    const length = Number(last)
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', range: { start: Math.max(0, size - length), end: size - 1 } }
  }
  const start = Number(first)
  if (start >= size) return { kind: 'unsatisfiable' }
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  if (end < start) return { kind: 'full' }
  return { kind: 'partial', range: { start, end } }
}

/** True when an `If-None-Match` header matches the (strong) entity tag. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false
  return ifNoneMatch
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag || t === `"${etag.replace(/"/g, '')}"` || `"${t}"` === etag)
}

/** True when `If-Modified-Since` is at or after the last modification (second precision). */
export function notModifiedSince(ifModifiedSince: string | undefined, modifiedAtMs: number): boolean {
  if (!ifModifiedSince) return false
  const since = Date.parse(ifModifiedSince)
  return !Number.isNaN(since) && Math.floor(modifiedAtMs / 1000) * 1000 <= since
}
