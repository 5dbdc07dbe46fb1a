import { purlVersion } from '../../src/core/scanning/ecosystem.js'
import { ScanningRegistry, type ScanningContributor } from '../../src/core/scanning/scanning-registry.js'
import { compareSemver } from '../../src/core/scanning/versions/index.js'
import { FORMATS } from '../../src/formats/index.js'

/**
 * The Go ecosystem as the coming Go format will declare it (no Go format exists yet, so the server
 * has no ordering for Go advisories' `ECOSYSTEM` ranges): SemVer, module paths compared exactly,
 * purl-spec's `golang` type. The suites whose fixtures hold Go advisories declare it here.
 */
export const GO_STANDIN: ScanningContributor = {
  id: 'go',
  scanning: {
    ecosystems: [{ osv: 'Go', compare: compareSemver, purl: (name, version) => `pkg:golang/${name.split('/').map(encodeURIComponent).join('/')}${purlVersion(version)}` }],
  },
}

/** The registry of Trove's formats and the Go stand-in. */
export function scanningRegistryWithGo(): ScanningRegistry {
  return new ScanningRegistry([...FORMATS, GO_STANDIN])
}
