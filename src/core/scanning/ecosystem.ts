/** Orders two versions of one ecosystem: negative, 0 or positive. Never throws. */
export type VersionComparator = (a: string, b: string) => number

/**
 * One OSV ecosystem as the scanner, the vulnerability database and the reports use it. The core
 * defines the shape; formats declare the values (`FormatScanning.ecosystems`): npm declares `npm`,
 * the docker format the distributions whose packages it finds inside images (`Debian`, `Alpine`,
 * …). An ecosystem no format declares is still imported and queried, matched by exact `versions`
 * and `SEMVER` ranges only (OSV's `ECOSYSTEM` ranges need its ordering).
 */
export interface Ecosystem {
  /** The OSV ecosystem name as OSV spells it, without a release suffix: `npm`, `PyPI`, `Maven`, `Debian`. */
  readonly osv: string
  /** The ecosystem's version order, used for `ECOSYSTEM` ranges and `versions` equality. */
  readonly compare: VersionComparator
  /**
   * A package name as the ecosystem compares it (PyPI: PEP 503). Applied to stored components and
   * to imported advisories alike, so both sides meet; absent: names are compared exactly.
   */
  normalizeName?(name: string): string
  /**
   * Whether `version` is one version of this ecosystem (npm: valid SemVer); a component whose
   * version is not (a lockfile's `github:` reference) is listed but never matched. Absent: any.
   */
  isVersion?(version: string): boolean
  /** The package URL (purl-spec) of a component; `release` is the ecosystem's suffix (`12` of `Debian:12`). Undefined: none. */
  purl?(name: string, version: string, release: string | undefined): string | undefined
  /** Xray's component id (`npm://lodash:4.17.15`); absent: `<osv lower-case>://<name>:<version>`. */
  xrayComponentId?(name: string, version: string, release: string | undefined): string
}

/** `Debian:12` → [`Debian`, `12`]; `npm` → [`npm`, undefined]. */
export function splitEcosystem(ecosystem: string): [string, string | undefined] {
  const i = ecosystem.indexOf(':')
  return i < 0 ? [ecosystem, undefined] : [ecosystem.slice(0, i), ecosystem.slice(i + 1)]
}

/**
 * The `@version` part of a purl (purl-spec: percent-encoded, `:` kept), or `''` when `version` is
 * no exact version (a declared range `^4.17.0` names the package only). `isExact` defaults to
 * version characters only: no range operator, space, wildcard or URL.
 */
export function purlVersion(version: string, isExact: boolean = /^[\w.+~:-]+$/.test(version)): string {
  return isExact ? `@${encodeURIComponent(version).replace(/%3A/g, ':')}` : ''
}
