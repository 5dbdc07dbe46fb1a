import picomatch from 'picomatch'
import type { CleanupSearchCriteria } from '../../api/lifecycle-policies.js'
import { parentOf } from '../paths.js'
import type { PackageVersion } from './policies-versions.js'

const DAY_MS = 24 * 3600_000

/** What the plan needs to know of a file. */
export interface FileFacts {
  readonly size: number
  readonly createdAt: number
  readonly downloadedAt: number | null
}

/** One deletion: a version and the untagged units that only it (and versions deleted before it) kept. */
export interface PlannedDeletion {
  readonly version: PackageVersion
  /** `version` first, then the units it takes along; deleted in one change. */
  readonly units: readonly PackageVersion[]
  readonly paths: readonly string[]
  readonly bytes: number
}

export interface PlanInput {
  readonly criteria: CleanupSearchCriteria
  readonly units: readonly PackageVersion[]
  readonly files: ReadonlyMap<string, FileFacts>
  /** Properties of files and folders by path (only the names the criteria mention). */
  readonly properties: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>
  /** Versions an immutability rule protects: always kept. */
  readonly isImmutable: (pkg: string, version: string) => boolean
  readonly now: number
}

/**
 * Which units of one repository a policy deletes, in the order to delete them. Pure.
 *
 * 1. A selectable unit is a candidate when its package is included, every selecting criterion
 *    holds (age, last download, properties) and no keeping one does (newest N of its package,
 *    a kept version pattern, a recent download, a keeping property, an immutability rule).
 * 2. Everything a surviving unit keeps (transitively) survives too, candidate or not: a kept
 *    multi-arch index keeps its children, shared or not.
 * 3. A non-selectable unit goes when it was kept only by deleted units; it goes in the change of
 *    the last of them, so that a run stopped between two changes never leaves a survivor without
 *    what it needs.
 */
export function planDeletions(input: PlanInput): PlannedDeletion[] {
  const { criteria: c, units, now } = input
  const included = picomatch([...c.includedPackages], { dot: true })
  const excluded = c.excludedPackages.length > 0 ? picomatch([...c.excludedPackages], { dot: true }) : () => false
  const keptVersion = c.keepVersions.length > 0 ? picomatch([...c.keepVersions], { dot: true }) : () => false
  const facts = new Map(units.map((u) => [u.id, factsOf(u, input)]))

  // 1. Candidates, per package: the newest N are kept.
  const byPackage = new Map<string, PackageVersion[]>()
  for (const unit of units) {
    if (unit.selectable === false || !included(unit.package) || excluded(unit.package)) continue
    const versions = byPackage.get(unit.package)
    if (versions) versions.push(unit)
    else byPackage.set(unit.package, [unit])
  }
  const candidates = new Set<string>()
  for (const versions of byPackage.values()) {
    versions.sort((a, b) => facts.get(b.id)!.createdAt - facts.get(a.id)!.createdAt || (a.version < b.version ? 1 : a.version > b.version ? -1 : 0))
    const keepNewest = c.keepLastNVersions ?? 0
    versions.forEach((unit, index) => {
      const f = facts.get(unit.id)!
      if (index < keepNewest) return
      if (keptVersion(unit.version) || input.isImmutable(unit.package, unit.version)) return
      if (c.createdBeforeInDays !== undefined && f.createdAt > now - c.createdBeforeInDays * DAY_MS) return
      const lastUse = f.downloadedAt ?? f.createdAt
      if (c.lastDownloadedBeforeInDays !== undefined && lastUse > now - c.lastDownloadedBeforeInDays * DAY_MS) return
      if (c.keepDownloadedWithinDays !== undefined && f.downloadedAt !== null && f.downloadedAt > now - c.keepDownloadedWithinDays * DAY_MS) return
      if (!matchesAll(f.properties, c.includedProperties)) return
      if (matchesAny(f.properties, c.excludedProperties)) return
      candidates.add(unit.id)
    })
  }

  // 2. Survivors: every unit not deleted, and all they keep. Untagged units nobody keeps are left alone.
  const byId = new Map(units.map((u) => [u.id, u]))
  const hasKeeper = new Set(units.flatMap((u) => u.keeps ?? []))
  const alive = new Set<string>()
  const visit = (id: string) => {
    const stack = [id]
    while (stack.length > 0) {
      const next = stack.pop()!
      if (alive.has(next) || !byId.has(next)) continue
      alive.add(next)
      stack.push(...(byId.get(next)!.keeps ?? []))
    }
  }
  for (const unit of units) {
    const isRoot = unit.selectable === false ? !hasKeeper.has(unit.id) : !candidates.has(unit.id)
    if (isRoot) visit(unit.id)
  }

  // 3. The deletions, in a stable order; each dead untagged unit joins the last deletion that reaches it.
  const deleted = units.filter((u) => u.selectable !== false && candidates.has(u.id) && !alive.has(u.id))
  deleted.sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : facts.get(a.id)!.createdAt - facts.get(b.id)!.createdAt || (a.id < b.id ? -1 : 1)))
  const owner = new Map<string, number>()
  deleted.forEach((unit, index) => {
    const stack = [...(unit.keeps ?? [])]
    const seen = new Set<string>()
    while (stack.length > 0) {
      const id = stack.pop()!
      if (seen.has(id) || alive.has(id) || !byId.has(id) || byId.get(id)!.selectable !== false) continue
      seen.add(id)
      owner.set(id, index)
      stack.push(...(byId.get(id)!.keeps ?? []))
    }
  })
  const along = new Map<number, PackageVersion[]>()
  for (const [id, index] of owner) {
    const taken = along.get(index)
    if (taken) taken.push(byId.get(id)!)
    else along.set(index, [byId.get(id)!])
  }
  return deleted.map((version, index) => {
    const taken = [version, ...(along.get(index) ?? [])]
    const paths = taken.flatMap((u) => u.paths)
    return { version, units: taken, paths, bytes: paths.reduce((sum, p) => sum + (input.files.get(p)?.size ?? 0), 0) }
  })
}

function factsOf(unit: PackageVersion, input: PlanInput) {
  let createdAt = 0
  let downloadedAt: number | null = null
  const properties = new Map<string, Set<string>>()
  const addProperties = (path: string) => {
    for (const [name, values] of input.properties.get(path) ?? []) {
      const set = properties.get(name) ?? new Set<string>()
      for (const value of values) set.add(value)
      properties.set(name, set)
    }
  }
  const folders = new Set<string>()
  for (const path of unit.paths) {
    const file = input.files.get(path)
    if (file) {
      createdAt = Math.max(createdAt, file.createdAt)
      if (file.downloadedAt !== null) downloadedAt = Math.max(downloadedAt ?? 0, file.downloadedAt)
    }
    addProperties(path)
    folders.add(parentOf(path))
  }
  for (const folder of folders) addProperties(folder)
  return { createdAt, downloadedAt, properties }
}

function matchesAll(have: ReadonlyMap<string, ReadonlySet<string>>, wanted: Readonly<Record<string, readonly string[]>>): boolean {
  return Object.entries(wanted).every(([name, values]) => values.some((v) => have.get(name)?.has(v)))
}

function matchesAny(have: ReadonlyMap<string, ReadonlySet<string>>, wanted: Readonly<Record<string, readonly string[]>>): boolean {
  return Object.entries(wanted).some(([name, values]) => values.some((v) => have.get(name)?.has(v)))
}
