import { describe, expect, it } from 'vitest'
import type { CleanupSearchCriteria } from '../../api/lifecycle-policies.js'
import { planDeletions, type FileFacts } from './policies-plan.js'
import type { PackageVersion } from './policies-versions.js'

const DAY = 24 * 3600_000
const NOW = 1_000 * DAY
const criteria = (c: Partial<CleanupSearchCriteria>): CleanupSearchCriteria => ({
  repos: ['r'],
  excludedRepos: [],
  projects: [],
  packageTypes: [],
  includedPackages: ['**'],
  excludedPackages: [],
  keepVersions: [],
  includedProperties: {},
  excludedProperties: {},
  ...c,
})

/** A tag (or untagged unit) `id` of `pkg` with one file `id/f`, created `age` days ago. */
function unit(pkg: string, version: string, age: number, extra: Partial<PackageVersion> = {}): [PackageVersion, [string, FileFacts]] {
  const id = `${pkg}/${version}`
  return [{ id, package: pkg, version, paths: [`${id}/f`], ...extra }, [`${id}/f`, { size: 10, createdAt: NOW - age * DAY, downloadedAt: null }]]
}

function plan(entries: [PackageVersion, [string, FileFacts]][], c: Partial<CleanupSearchCriteria>, options: { downloads?: Record<string, number>; properties?: Record<string, Record<string, string[]>>; immutable?: string[] } = {}) {
  const files = new Map(entries.map(([, f]) => f))
  for (const [path, age] of Object.entries(options.downloads ?? {})) files.set(path, { ...files.get(path)!, downloadedAt: NOW - age * DAY })
  const properties = new Map(Object.entries(options.properties ?? {}).map(([path, props]) => [path, new Map(Object.entries(props))]))
  return planDeletions({
    criteria: criteria(c),
    units: entries.map(([u]) => u),
    files,
    properties,
    isImmutable: (pkg, version) => (options.immutable ?? []).includes(`${pkg}:${version}`),
    now: NOW,
  })
}
const ids = (deletions: ReturnType<typeof plan>) => deletions.map((d) => d.units.map((u) => u.id))

describe('planDeletions', () => {
  it('keeps the newest N versions of each package, and versions matching a keep pattern', () => {
    const units = [unit('a', 'v1', 5), unit('a', 'x2', 4), unit('a', 'x3', 3), unit('a', 'x4', 2), unit('b', 'x1', 9)]
    expect(ids(plan(units, { keepLastNVersions: 2 }))).toEqual([['a/v1'], ['a/x2']])
    expect(ids(plan(units, { keepLastNVersions: 2, keepVersions: ['v*'] }))).toEqual([['a/x2']])
  })

  it('selects by age and last download, keeps recent downloads and by property', () => {
    const units = [unit('a', '1', 40), unit('a', '2', 40), unit('a', '3', 40), unit('a', '4', 5)]
    const downloads = { 'a/2/f': 2, 'a/3/f': 20 }
    expect(ids(plan(units, { createdBeforeInDays: 30 }, { downloads }))).toEqual([['a/1'], ['a/2'], ['a/3']])
    expect(ids(plan(units, { lastDownloadedBeforeInDays: 10 }, { downloads }))).toEqual([['a/1'], ['a/3']])
    expect(ids(plan(units, { createdBeforeInDays: 30, keepDownloadedWithinDays: 7 }, { downloads }))).toEqual([['a/1'], ['a/3']])
    // A property on the version's folder counts as the version's.
    expect(ids(plan(units, { createdBeforeInDays: 30, excludedProperties: { keep: ['true'] } }, { properties: { 'a/1': { keep: ['true'] } } }))).toEqual([['a/2'], ['a/3']])
    expect(ids(plan(units, { includedProperties: { stage: ['dev'] } }, { properties: { 'a/3/f': { stage: ['dev'] } } }))).toEqual([['a/3']])
  })

  it('keeps immutable versions and excluded packages', () => {
    const units = [unit('a', '1', 40), unit('b', '1', 40)]
    expect(ids(plan(units, { createdBeforeInDays: 1 }, { immutable: ['a:1'] }))).toEqual([['b/1']])
    expect(ids(plan(units, { createdBeforeInDays: 1, excludedPackages: ['b'] }))).toEqual([['a/1']])
  })

  it('never deletes what a kept index needs; untagged children go with the last deleted index naming them', () => {
    const child = (name: string) => unit('img', name, 50, { selectable: false })
    const units = [
      child('sha256__shared'),
      child('sha256__old-only'),
      child('sha256__twice'),
      unit('img', 'amd64', 30), // a tagged manifest a kept index names
      unit('img', 'old1', 20, { keeps: ['img/sha256__shared', 'img/sha256__old-only', 'img/sha256__twice'] }),
      unit('img', 'old2', 15, { keeps: ['img/sha256__twice'] }),
      unit('img', 'new', 1, { keeps: ['img/sha256__shared', 'img/amd64'] }),
      child('sha256__dangling'), // named by nothing: left alone
    ]
    const deletions = plan(units, { keepLastNVersions: 1 })
    // amd64 is selected by the rule but kept for 'new'; 'twice' goes with old2, the last to go of those naming it.
    expect(ids(deletions)).toEqual([['img/old1', 'img/sha256__old-only'], ['img/old2', 'img/sha256__twice']])
    expect(deletions[0]!.bytes).toBe(20)
    expect(deletions[0]!.paths).toEqual(['img/old1/f', 'img/sha256__old-only/f'])
  })
})
