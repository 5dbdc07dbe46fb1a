import { describe, expect, it } from 'vitest'
import { configSectionOf, loadConfig } from '../config/config.js'
import { configSections } from './format.js'
import { FORMATS } from './index.js'
import { npmConfig } from './npm/config.js'
import { ociConfig } from './oci/config.js'

/** The formats' settings kept their YAML keys, variables and defaults when they moved out of the core's schema. */
describe('the formats’ configuration sections', () => {
  const load = (env: NodeJS.ProcessEnv, overrides?: Record<string, unknown>) => loadConfig({ env, overrides, sections: configSections(FORMATS) })

  it('has the documented defaults', () => {
    const config = load({})
    expect(configSectionOf(config, npmConfig)).toEqual({ maxTarballBytes: 256 * 1024 * 1024, maxMetadataBytes: 32 * 1024 * 1024, maxUnpackedBytes: 2 * 1024 * 1024 * 1024 })
    expect(configSectionOf(config, ociConfig)).toEqual({ uploadExpirySecs: 24 * 3600, tokenExpirySecs: 300, maxUploadsPerUser: 1000 })
  })

  it('takes the TROVE_NPM_* and TROVE_OCI_* variables and the npm: and oci: keys', () => {
    const config = load(
      { TROVE_NPM_MAX_TARBALL_BYTES: '1000', TROVE_NPM_MAX_METADATA_BYTES: '2000', TROVE_NPM_MAX_UNPACKED_BYTES: '3000', TROVE_OCI_UPLOAD_EXPIRY_SECS: '120', TROVE_OCI_TOKEN_EXPIRY_SECS: '60' },
      { oci: { maxUploadsPerUser: 5, uploadExpirySecs: 120, tokenExpirySecs: 60 } },
    )
    expect(configSectionOf(config, npmConfig)).toEqual({ maxTarballBytes: 1000, maxMetadataBytes: 2000, maxUnpackedBytes: 3000 })
    expect(configSectionOf(config, ociConfig)).toEqual({ uploadExpirySecs: 120, tokenExpirySecs: 60, maxUploadsPerUser: 5 })
    expect(config.warnings).toEqual([])
  })

  it('validates them as before', () => {
    expect(() => load({ TROVE_OCI_TOKEN_EXPIRY_SECS: '10' })).toThrow(/oci\.tokenExpirySecs: /)
    expect(() => load({}, { npm: { maxTarballBytes: -1 } })).toThrow(/npm\.maxTarballBytes: /)
    expect(() => load({}, { npm: { maxTarbalBytes: 1 } })).toThrow(/npm: .*maxTarbalBytes/)
  })
})
