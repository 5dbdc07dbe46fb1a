import { compareApk } from './apk.js'
import { compareDpkg } from './dpkg.js'
import { compareMaven } from './maven.js'
import { comparePep440 } from './pep440.js'
import { compareRpm } from './rpm.js'
import { compareSemver } from './semver.js'

export { compareApk, compareDpkg, compareMaven, comparePep440, compareRpm, compareSemver }

/** Orders two versions of one ecosystem: negative, 0 or positive. Never throws. */
export type VersionComparator = (a: string, b: string) => number

/** Base ecosystem (OSV spelling, without a `:release` suffix) → its ordering. */
const COMPARATORS: Record<string, VersionComparator> = {
  npm: compareSemver,
  Go: compareSemver,
  Hex: compareSemver,
  PyPI: comparePep440,
  Maven: compareMaven,
  Debian: compareDpkg,
  Ubuntu: compareDpkg,
  Alpine: compareApk,
  'Red Hat': compareRpm,
  AlmaLinux: compareRpm,
  'Rocky Linux': compareRpm,
  openSUSE: compareRpm,
  SUSE: compareRpm,
}

/** The comparator of an OSV ecosystem (`Debian:12` → dpkg), or undefined when Trove has none. */
export function comparatorFor(ecosystem: string): VersionComparator | undefined {
  return COMPARATORS[baseEcosystem(ecosystem)]
}

/** `Debian:12` → `Debian`; `npm` → `npm`. */
export function baseEcosystem(ecosystem: string): string {
  const colon = ecosystem.indexOf(':')
  return colon >= 0 ? ecosystem.slice(0, colon) : ecosystem
}
