import { splitEcosystem, type Ecosystem, type VersionComparator } from './ecosystem.js'
import type { Extractor, InstalledPackageReader } from './extractor.js'
import type { FormatScanning } from './format-scanning.js'

/** What the registry reads of a format: its id and its scanning slot. */
export interface ScanningContributor {
  readonly id: string
  readonly scanning?: FormatScanning | undefined
}

/**
 * Every format's scanning contributions in one place, built once at start-up from the format list
 * (`main.ts`): the scanner, the vulnerability database, the reports (purl, CycloneDX) and the
 * Xray route ask it, and none of them knows a package type or an ecosystem by name. Refuses two
 * formats declaring one ecosystem or one extractor id: each rule has one owner.
 */
export class ScanningRegistry {
  /** Every format's extractors, in the formats' order: the first that accepts a file reads it. */
  readonly extractors: readonly Extractor[]
  /** Every format's readers of installed packages, in the formats' order. */
  readonly installed: readonly InstalledPackageReader[]
  private readonly ecosystems = new Map<string, Ecosystem>()
  private readonly xrayTypes = new Map<string, string>()

  constructor(formats: readonly ScanningContributor[]) {
    const ecosystemOwners = new Map<string, string>()
    const extractorOwners = new Map<string, string>()
    for (const format of formats) {
      for (const ecosystem of format.scanning?.ecosystems ?? []) {
        const owner = ecosystemOwners.get(ecosystem.osv)
        if (owner !== undefined) throw new Error(`the ecosystem '${ecosystem.osv}' is declared by the formats '${owner}' and '${format.id}': one format owns it`)
        if (ecosystem.osv.includes(':')) throw new Error(`the ecosystem '${ecosystem.osv}' of the format '${format.id}' has a release suffix: declare its base name`)
        ecosystemOwners.set(ecosystem.osv, format.id)
        this.ecosystems.set(ecosystem.osv, ecosystem)
      }
      for (const extractor of format.scanning?.extractors ?? []) {
        const owner = extractorOwners.get(extractor.format)
        if (owner !== undefined) throw new Error(`the extractor '${extractor.format}' is declared by the formats '${owner}' and '${format.id}': its id must be unique`)
        extractorOwners.set(extractor.format, format.id)
      }
      if (format.scanning?.xrayPackageType !== undefined) this.xrayTypes.set(format.id, format.scanning.xrayPackageType)
    }
    this.extractors = formats.flatMap((f) => f.scanning?.extractors ?? [])
    this.installed = formats.flatMap((f) => f.scanning?.installed ?? [])
  }

  /** The declared ecosystem of an OSV ecosystem name, release-scoped or not (`Debian:12` → `Debian`). */
  ecosystem(ecosystem: string): Ecosystem | undefined {
    return this.ecosystems.get(splitEcosystem(ecosystem)[0])
  }

  /** The version order of an ecosystem, undefined when no format declares it. */
  comparator(ecosystem: string): VersionComparator | undefined {
    return this.ecosystem(ecosystem)?.compare
  }

  /** A package name as its ecosystem compares it (PyPI: PEP 503); exact for undeclared ecosystems. */
  normalizeName(ecosystem: string, name: string): string {
    const normalize = this.ecosystem(ecosystem)?.normalizeName
    return normalize ? normalize(name) : name
  }

  /** Whether `version` is one version of the ecosystem (any string when it says nothing). */
  isVersion(ecosystem: string, version: string): boolean {
    const isVersion = this.ecosystem(ecosystem)?.isVersion
    return isVersion ? isVersion(version) : true
  }

  /** A component's package URL, when its ecosystem has a purl type. */
  purl(component: { readonly ecosystem: string; readonly name: string; readonly version: string }): string | undefined {
    const [base, release] = splitEcosystem(component.ecosystem)
    return this.ecosystems.get(base)?.purl?.(component.name, component.version, release)
  }

  /** Xray's component id of a component: the ecosystem's own, or `<ecosystem>://<name>:<version>`. */
  xrayComponentId(component: { readonly ecosystem: string; readonly name: string; readonly version: string }): string {
    const [base, release] = splitEcosystem(component.ecosystem)
    const own = this.ecosystems.get(base)?.xrayComponentId
    return own ? own(component.name, component.version, release) : `${base.toLowerCase()}://${component.name}:${component.version}`
  }

  /** Xray's `pkg_type` of a repository's package type (`npm` → `Npm`). */
  xrayPackageType(packageType: string): string {
    return this.xrayTypes.get(packageType) ?? `${packageType.charAt(0).toUpperCase()}${packageType.slice(1)}`
  }
}
