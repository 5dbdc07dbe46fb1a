/** One component found in an artifact: a package at a version, in an OSV ecosystem. */
export interface Component {
  readonly ecosystem: string
  readonly name: string
  /** An exact version, or for a declared dependency the range as written (matched only when it is exact). */
  readonly version: string
  /**
   * `self` (the artifact's own package), `dependency` (declared), `bundled`, `locked`
   * (lockfile/shrinkwrap), `installed` (in an image's file system: OS packages, node_modules, site-packages, jars).
   */
  readonly relation: 'self' | 'dependency' | 'bundled' | 'locked' | 'installed'
  /** Where in the artifact it was found. */
  readonly location: string
}

/** Limits of one extraction: an archive past any of them ends as a failed scan with the reason. */
export interface ExtractionLimits {
  readonly maxEntries: number
  /** Uncompressed bytes of the whole archive. */
  readonly maxUnpackedBytes: number
  /** Uncompressed / compressed bytes, checked once past the first MiB. */
  readonly maxCompressionRatio: number
  /** One metadata file read (package.json, a lockfile) at most. */
  readonly maxMetadataBytes: number
  /** Components kept at most. */
  readonly maxComponents: number
}

export const DEFAULT_EXTRACTION_LIMITS: ExtractionLimits = {
  maxEntries: 100_000,
  maxUnpackedBytes: 2 * 1024 * 1024 * 1024,
  maxCompressionRatio: 100,
  maxMetadataBytes: 32 * 1024 * 1024,
  maxComponents: 100_000,
}

/** A scan refused by a limit or a malformed archive: the scan is recorded as failed with this reason. */
export class ScanFailure extends Error {}
