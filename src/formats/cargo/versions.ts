import { compareSemver } from '../../core/index.js'

/**
 * Cargo's version order for matching advisories: SemVer 2.0 precedence, as the `semver` crate
 * orders versions, except that build metadata never counts (`1.0.0+a` = `1.0.0+b`), as in OSV's
 * own matching of `crates.io` ranges: the `semver` crate breaks such ties by the build metadata,
 * but no advisory range tells such versions apart (test/fixtures/versions/crates-versions.txt).
 */
export function compareCrateVersions(a: string, b: string): number {
  return compareSemver(a, b)
}
