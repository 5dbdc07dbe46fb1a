import { describe, it } from 'vitest'
import { expectAgreesWithVectors } from '../../../test/helpers/version-vectors.js'
import { compareCrateVersions } from './versions.js'

describe('crates.io version order', () => {
  it('agrees with the semver crate (Cargo\'s own version type), except for build metadata', () => {
    expectAgreesWithVectors(compareCrateVersions, 'crates-versions.txt', {
      'crates-versions.txt:21': 'the semver crate breaks ties by build metadata; OSV ranges and SemVer precedence ignore it, and a registry holds one of 1.2.3+23 and 1.2.3+42 only',
    })
  })

  it('agrees with the SemVer vectors OSV uses for crates.io', () => {
    expectAgreesWithVectors(compareCrateVersions, 'semver-versions.txt')
  })
})
