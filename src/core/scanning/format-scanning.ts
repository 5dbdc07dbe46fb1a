import type { Ecosystem } from './ecosystem.js'
import type { Extractor, InstalledPackageReader } from './extractor.js'

/**
 * What one format gives the scanner (`Format.scanning`), declared in the format's own folder:
 * the core holds no table of package types, ecosystems or file names.
 */
export interface FormatScanning {
  /** Extractors of the format's artifacts; asked about every stored file, whatever the repository's type. */
  readonly extractors?: readonly Extractor[]
  /** The OSV ecosystems whose components the format's extractors and readers report. One format per ecosystem. */
  readonly ecosystems?: readonly Ecosystem[]
  /** Readers of the format's packages installed in a file system (found in image layers). */
  readonly installed?: readonly InstalledPackageReader[]
  /** Xray's `pkg_type` for the format's repositories; absent: the format id, capitalised (`npm` → `Npm`). */
  readonly xrayPackageType?: string
}
