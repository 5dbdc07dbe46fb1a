import { describe, expect, it } from 'vitest'
import { expectAgreesWithVectors } from '../../../test/helpers/version-vectors.js'
import { compareGemVersions, isGemVersion, isPrerelease } from './gem-version.js'

describe('Gem::Version order', () => {
  it("agrees with osv-scalibr's RubyGems vectors (hand-written and generated from published versions)", () => {
    expectAgreesWithVectors(compareGemVersions, 'rubygems-versions.txt')
    expectAgreesWithVectors(compareGemVersions, 'rubygems-versions-generated.txt')
  })

  it("agrees with rubygems' own test_gem_version.rb cases", () => {
    expectAgreesWithVectors(compareGemVersions, 'rubygems-gem-version-cases.txt')
  })

  it('follows the canonical segments of rubygems 3.3 (trailing zeros of each part ignored; checked with Debian ruby 3.1)', () => {
    expect(compareGemVersions('1.0', '1.0.0')).toBe(0)
    expect(compareGemVersions('1.8.2', '0.0.0')).toBe(1)
    expect(compareGemVersions('1.0.0.a', '1.0.0')).toBe(-1)
    expect(compareGemVersions('1.0.b1', '1.0.a.2')).toBe(1)
    expect(compareGemVersions('0.beta.1', '0.0.beta.1')).toBe(0)
    expect(compareGemVersions('1.0-1', '1.0.pre.1')).toBe(0)
    expect(compareGemVersions('5.a', '5.0.0.rc2')).toBe(-1)
    expect(compareGemVersions('5.x', '5.0.0.rc2')).toBe(1)
  })

  it('tells versions and prereleases', () => {
    expect(isGemVersion('1.2.3')).toBe(true)
    expect(isGemVersion('1.2.3.pre-1')).toBe(true)
    expect(isGemVersion('junk/../x')).toBe(false)
    expect(isGemVersion('')).toBe(false)
    expect(isPrerelease('1.0.0.rc1')).toBe(true)
    expect(isPrerelease('1.0.0')).toBe(false)
  })
})
