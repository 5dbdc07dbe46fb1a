import { comparePackagist, isDevVersion } from './versions.js'

/** One version of a package as a Composer 2 `p2` document lists it (expanded). */
export type VersionEntry = Record<string, unknown> & { name: string; version: string; version_normalized: string }

/** composer.json fields that describe the project using a package, never the package itself. */
const ROOT_ONLY_FIELDS = new Set(['repositories', 'config', 'minimum-stability', 'prefer-stable', 'version', 'name', 'dist', 'source', 'time'])

/** The version entry of an archive: its composer.json fields, the version, and where to download it. */
export function versionEntry(
  manifest: Readonly<Record<string, unknown>>,
  name: string,
  version: string,
  normalized: string,
  dist: { url: string; shasum: string },
  time: number,
): VersionEntry {
  const fields = Object.fromEntries(Object.entries(manifest).filter(([key]) => !ROOT_ONLY_FIELDS.has(key)))
  return {
    ...fields,
    name,
    version,
    version_normalized: normalized,
    dist: { type: 'zip', url: dist.url, reference: dist.shasum, shasum: dist.shasum },
    time: new Date(time).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
  }
}

/** Newest first (as Packagist lists them): the order Composer's minified documents are diffed in. */
export function sortEntries(entries: readonly VersionEntry[]): VersionEntry[] {
  return [...entries].sort((a, b) => comparePackagist(b.version_normalized, a.version_normalized) || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0))
}

/** The entries of one `p2` file: releases (`<name>.json`) or development versions (`<name>~dev.json`). */
export function entriesOf(entries: readonly VersionEntry[], dev: boolean): VersionEntry[] {
  return entries.filter((e) => isDevVersion(e.version_normalized) === dev)
}

const UNSET = '__unset'

/**
 * Composer 2's minified form (`"minified": "composer/2.0"`): the first version whole, each next
 * one only with the fields that differ from the one before, `"__unset"` for a field it lacks.
 */
export function minify(entries: readonly VersionEntry[]): Record<string, unknown>[] {
  const result: Record<string, unknown>[] = []
  let previous: Record<string, unknown> | undefined
  for (const entry of entries) {
    if (!previous) result.push({ ...entry })
    else {
      const diff: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(entry)) if (JSON.stringify(previous[key]) !== JSON.stringify(value)) diff[key] = value
      for (const key of Object.keys(previous)) if (!(key in entry)) diff[key] = UNSET
      result.push(diff)
    }
    previous = entry
  }
  return result
}

/** The inverse of {@link minify}, for upstream documents. Entries that are not objects are skipped. */
export function expand(versions: readonly unknown[]): Record<string, unknown>[] {
  const result: Record<string, unknown>[] = []
  let previous: Record<string, unknown> | undefined
  for (const item of versions) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) continue
    const next: Record<string, unknown> = { ...(previous ?? {}) }
    for (const [key, value] of Object.entries(item as Record<string, unknown>)) {
      if (value === UNSET) delete next[key]
      else next[key] = value
    }
    result.push(next)
    previous = next
  }
  return result
}

/** A `p2` document as Trove serves it. */
export function renderP2(name: string, entries: readonly VersionEntry[]): string {
  return JSON.stringify({ minified: 'composer/2.0', packages: { [name]: minify(sortEntries(entries)) } })
}

/** The versions of `name` in an upstream `p2` document (minified or not), expanded; fields checked by the caller. */
export function upstreamVersions(document: unknown, name: string): Record<string, unknown>[] {
  if (document === null || typeof document !== 'object') return []
  const packages = (document as { packages?: unknown }).packages
  if (packages === null || typeof packages !== 'object') return []
  const versions = (packages as Record<string, unknown>)[name]
  if (!Array.isArray(versions)) return []
  return (document as { minified?: unknown }).minified === 'composer/2.0' ? expand(versions) : versions.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object')
}
