/**
 * Go's semantic versions, as the go command orders them (golang.org/x/mod/semver): a `v`, then
 * MAJOR[.MINOR[.PATCH]] (the short forms stand for `.0`), an optional `-prerelease` and an
 * optional `+build` that never counts. An invalid version orders before every valid one, and all
 * invalid versions are equal. Module versions on the wire are canonical: {@link isCanonicalVersion}.
 */

interface Parsed {
  readonly major: string
  readonly minor: string
  readonly patch: string
  /** Without its `-`; `''` for a release. */
  readonly prerelease: string
}

const NUMBER = '(0|[1-9][0-9]*)'
const IDENTIFIER = '[0-9A-Za-z-]+'
const FULL = new RegExp(
  `^v${NUMBER}(?:\\.${NUMBER}(?:\\.${NUMBER}(?:-(${IDENTIFIER}(?:\\.${IDENTIFIER})*))?(?:\\+${IDENTIFIER}(?:\\.${IDENTIFIER})*)?)?)?$`,
)

/** Parses a Go semantic version; undefined when it is not one. Short forms (`v1`, `v1.2`) take no prerelease nor build. */
export function parseGoSemver(version: string): Parsed | undefined {
  const match = FULL.exec(version)
  if (!match) return undefined
  const prerelease = match[4] ?? ''
  // SemVer: numeric prerelease identifiers have no leading zero.
  if (prerelease !== '' && prerelease.split('.').some((p) => /^0[0-9]+$/.test(p))) return undefined
  return { major: match[1]!, minor: match[2] ?? '0', patch: match[3] ?? '0', prerelease }
}

/** Go's `semver.Compare`: negative, 0 or positive. */
export function compareGoSemver(a: string, b: string): number {
  const pa = parseGoSemver(a)
  const pb = parseGoSemver(b)
  if (!pa || !pb) return pa ? 1 : pb ? -1 : 0
  return compareNumbers(pa.major, pb.major) || compareNumbers(pa.minor, pb.minor) || compareNumbers(pa.patch, pb.patch) || comparePrerelease(pa.prerelease, pb.prerelease)
}

/**
 * The ordering of OSV's `Go` ecosystem: Go's, where OSV writes versions without the `v`
 * (`1.2.3`, `0.0.0-2022…`) and go.mod with it (`v1.2.3`): either spelling is read.
 */
export function compareGoVersions(a: string, b: string): number {
  return compareGoSemver(withV(a), withV(b))
}

export function withV(version: string): string {
  return version.startsWith('v') ? version : `v${version}`
}

/**
 * Whether `version` is a canonical module version, as a module proxy serves them: the full
 * `vMAJOR.MINOR.PATCH`, an optional prerelease, and no build suffix but `+incompatible`.
 */
export function isCanonicalVersion(version: string): boolean {
  const plus = version.indexOf('+')
  const core = plus < 0 ? version : version.slice(0, plus)
  if (plus >= 0 && version.slice(plus) !== '+incompatible') return false
  return /^v\d+\.\d+\.\d+(?:-|$)/.test(core) && parseGoSemver(core) !== undefined
}

/** Whether a canonical version is a prerelease (`v1.2.3-rc.1`, a pseudo-version `v0.0.0-2020…-abcdef`). */
export function isPrerelease(version: string): boolean {
  return (parseGoSemver(version.replace(/\+incompatible$/, ''))?.prerelease ?? '') !== ''
}

/** The major version of a canonical version: `v2` of `v2.3.4`. */
export function majorOf(version: string): string {
  return `v${parseGoSemver(version.replace(/\+incompatible$/, ''))?.major ?? '0'}`
}

function compareNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1
  return a === b ? 0 : a < b ? -1 : 1
}

function comparePrerelease(a: string, b: string): number {
  if (a === b) return 0
  if (a === '') return 1
  if (b === '') return -1
  const xs = a.split('.')
  const ys = b.split('.')
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const x = xs[i]!
    const y = ys[i]!
    if (x === y) continue
    const xn = /^[0-9]+$/.test(x)
    const yn = /^[0-9]+$/.test(y)
    if (xn && yn) return compareNumbers(x, y)
    if (xn) return -1
    if (yn) return 1
    return x < y ? -1 : 1
  }
  return xs.length === ys.length ? 0 : xs.length < ys.length ? -1 : 1
}
