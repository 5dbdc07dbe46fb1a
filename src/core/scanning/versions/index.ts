/**
 * Version orderings more than one ecosystem or format uses (SemVer: npm, and OSV's `SEMVER`
 * ranges of any ecosystem; dpkg, apk and rpm: distributions). A format declares which one its
 * ecosystems use (`Ecosystem.compare`); an ordering only one format uses lives in its folder
 * (Maven's in `formats/maven`).
 */
export { compareApk } from './apk.js'
export { compareDpkg } from './dpkg.js'
export { compareRpm } from './rpm.js'
export { compareSemver } from './semver.js'
export type { VersionComparator } from '../ecosystem.js'
