import { describe, expect, it } from 'vitest'
import { expectAgreesWithVectors } from '../../../test/helpers/version-vectors.js'
import { compareMavenVersions, highestVersion, sortMavenVersions } from './maven-version.js'

describe('Maven version order', () => {
  it('orders numbers numerically and qualifiers as Maven does', () => {
    const ordered = [
      '1.0-alpha-1',
      '1.0-alpha-2',
      '1.0-beta',
      '1.0-milestone-1',
      '1.0-rc1',
      '1.0-SNAPSHOT',
      '1.0',
      '1.0-sp1',
      '1.0-zebra',
      '1.0.1',
      '1.2',
      '1.9',
      '1.10',
      '2.0',
      '10.0',
      '123456789012345678901234567890',
    ]
    const shuffled = [...ordered].reverse()
    expect(sortMavenVersions(shuffled)).toEqual(ordered)
  })

  it('holds equal what Maven holds equal', () => {
    expect(compareMavenVersions('1.0', '1')).toBe(0)
    expect(compareMavenVersions('1.0.0', '1')).toBe(0)
    expect(compareMavenVersions('1-ga', '1')).toBe(0)
    expect(compareMavenVersions('1.0-final', '1.0')).toBe(0)
    expect(compareMavenVersions('1.0-cr1', '1.0-rc1')).toBe(0)
    expect(compareMavenVersions('1.0a1', '1.0-alpha-1')).toBe(0)
    expect(compareMavenVersions('1.0-RC1', '1.0-rc1')).toBe(0)
  })

  it('picks the highest', () => {
    expect(highestVersion(['1.9', '1.10', '1.10-SNAPSHOT'])).toBe('1.10')
    expect(highestVersion([])).toBeUndefined()
  })

  it.each(['maven-versions.txt', 'maven-versions-generated.txt'])('agrees with every line of %s, both ways round', (file) => {
    expectAgreesWithVectors(compareMavenVersions, file)
  })

  // Trove had two copies of this order (the format's and the scanner's) that disagreed here.
  it('trims the nulls before every hyphen, however they are spelt (`1-ga-1` is `1-1`)', () => {
    // The format's copy, like ComparableVersion, ordered `1-ga-1` below `1-1`; the vectors (line 100) and the POM reference hold them equal.
    expect(compareMavenVersions('1-ga-1', '1-1')).toBe(0)
    expect(compareMavenVersions('1-final-1', '1-release-1')).toBe(0)
    // The scanner's copy dropped only a qualifier between hyphens: `1-ga` = `1-0`, yet `1-ga-1` > `1-0-1` there.
    expect(compareMavenVersions('1-0-1', '1-ga-1')).toBe(0)
    expect(compareMavenVersions('1-ga-1', '1-1-SNAPSHOT')).toBeGreaterThan(0)
    expect(sortMavenVersions(['1-1', '1-ga-2', '1-1-SNAPSHOT', '1-ga-1-SNAPSHOT', '1-final-0'])).toEqual(['1-final-0', '1-1-SNAPSHOT', '1-ga-1-SNAPSHOT', '1-1', '1-ga-2'])
  })

  it('keeps what follows a dropped qualifier in its own list', () => {
    // The scanner's copy read `2-release.final-2` as `2-[null, 2]`, below `2-1`; Maven and the specification agree it is `2-2`.
    expect(compareMavenVersions('2-release.final-2', '2-final-1')).toBeGreaterThan(0)
    expect(compareMavenVersions('2-release.final-2', '2-2')).toBe(0)
    // And `1-final.ga-sp` is `1-sp`, after `1-final` (the scanner's copy held them equal).
    expect(compareMavenVersions('1-final', '1-final.ga-sp')).toBeLessThan(0)
  })
})
