import type { VersionComparator } from './ecosystem.js'
import { compareSemver } from './versions/semver.js'

/** An OSV range event: exactly one of the keys is set. */
export interface OsvEvent {
  readonly introduced?: string
  readonly fixed?: string
  readonly last_affected?: string
  readonly limit?: string
}

export interface OsvRange {
  readonly type: string
  readonly events: readonly OsvEvent[]
}

/** What the matcher needs of one `affected[]` entry. */
export interface AffectedPackage {
  readonly ecosystem: string
  readonly ranges: readonly OsvRange[]
  readonly versions: readonly string[]
}

/**
 * Whether `version` is affected by one `affected[]` entry, with OSV's semantics: a version listed
 * in `versions` is affected; in a range, walking its events in version order, the version is
 * affected when the last event at or below it is an `introduced` (`"0"` is below everything):
 * `introduced` inclusive, `fixed` and `limit` exclusive, `last_affected` inclusive. Several ranges
 * are OR-ed. `ECOSYSTEM` ranges use the ecosystem's ordering, `SEMVER` ranges SemVer 2.0; `GIT`
 * ranges (commits) say nothing about a version and are ignored. `ecosystemOrder` is the entry's
 * ecosystem's ordering (declared by a format); without one, `ECOSYSTEM` ranges are ignored and only
 * `versions` and `SEMVER` ranges match.
 */
export function isAffected(entry: AffectedPackage, version: string, ecosystemOrder: VersionComparator | undefined): boolean {
  if (entry.versions.includes(version)) return true
  if (ecosystemOrder && entry.versions.some((v) => ecosystemOrder(v, version) === 0)) return true
  for (const range of entry.ranges) {
    const compare = range.type === 'SEMVER' ? compareSemver : range.type === 'ECOSYSTEM' ? ecosystemOrder : undefined
    if (compare && isInRange(range.events, version, compare)) return true
  }
  return false
}

function isInRange(events: readonly OsvEvent[], version: string, compare: VersionComparator): boolean {
  let isAffectedSoFar = false
  for (const event of sortEvents(events, compare)) {
    if (event.introduced !== undefined) {
      if (event.introduced === '0' || compare(version, event.introduced) >= 0) isAffectedSoFar = true
    } else if (event.fixed !== undefined) {
      if (compare(version, event.fixed) >= 0) isAffectedSoFar = false
    } else if (event.last_affected !== undefined) {
      if (compare(version, event.last_affected) > 0) isAffectedSoFar = false
    } else if (event.limit !== undefined) {
      if (event.limit !== '*' && compare(version, event.limit) >= 0) isAffectedSoFar = false
    }
  }
  return isAffectedSoFar
}

/** Events in version order (`introduced: "0"` first); at one version, an introduction before its end. */
function sortEvents(events: readonly OsvEvent[], compare: VersionComparator): OsvEvent[] {
  const versionOf = (e: OsvEvent) => e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '0'
  return [...events].sort((a, b) => {
    const va = versionOf(a)
    const vb = versionOf(b)
    if (a.introduced === '0' || b.introduced === '0') return a.introduced === '0' ? (b.introduced === '0' ? 0 : -1) : 1
    const c = compare(va, vb)
    if (c !== 0) return c
    return (a.introduced !== undefined ? 0 : 1) - (b.introduced !== undefined ? 0 : 1)
  })
}

/** The versions that fix an entry (`fixed` events), for reports. */
export function fixedVersions(entry: AffectedPackage): string[] {
  return entry.ranges.filter((r) => r.type !== 'GIT').flatMap((r) => r.events.flatMap((e) => (e.fixed !== undefined ? [e.fixed] : [])))
}
