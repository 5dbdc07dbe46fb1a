import { describe, expect, it } from 'vitest'
import { expectAgreesWithVectors } from '../../../test/helpers/version-vectors.js'
import { compareGoSemver, compareGoVersions, isCanonicalVersion, isPrerelease, majorOf } from './go-semver.js'

describe("Go's module version order", () => {
  it("agrees with every line of golang.org/x/mod's semver test table, both ways round", () => {
    expectAgreesWithVectors(compareGoSemver, 'go-semver-versions.txt')
  })

  it("agrees with osv-scalibr's SemVer vectors, which it runs for Go (OSV writes Go versions without the v)", () => {
    expectAgreesWithVectors(compareGoVersions, 'semver-versions.txt')
  })

  it('orders pseudo-versions by their time stamp, below the release they precede', () => {
    const sorted = ['v1.2.0', 'v0.0.0-20220314234659-1baeb1ce4c0b', 'v1.2.1-0.20230101000000-abcdefabcdef', 'v0.0.0-20191109021931-daa7c04131f5', 'v1.2.1'].sort(compareGoSemver)
    expect(sorted).toEqual(['v0.0.0-20191109021931-daa7c04131f5', 'v0.0.0-20220314234659-1baeb1ce4c0b', 'v1.2.0', 'v1.2.1-0.20230101000000-abcdefabcdef', 'v1.2.1'])
    // +incompatible is build metadata: it never counts.
    expect(compareGoVersions('3.2.0+incompatible', 'v3.2.0')).toBe(0)
  })

  it('knows canonical module versions, prereleases and majors', () => {
    for (const v of ['v1.0.0', 'v0.0.0-20191109021931-daa7c04131f5', 'v2.3.4+incompatible', 'v1.2.3-rc.1']) expect(isCanonicalVersion(v), v).toBe(true)
    for (const v of ['1.0.0', 'v1.0', 'v1', 'v1.0.0+meta', 'v01.0.0', 'v1.0.0-01', 'latest', 'v1.0.0/../x']) expect(isCanonicalVersion(v), v).toBe(false)
    expect(isPrerelease('v1.2.3-rc.1')).toBe(true)
    expect(isPrerelease('v1.2.3+incompatible')).toBe(false)
    expect(majorOf('v2.0.1')).toBe('v2')
  })
})
