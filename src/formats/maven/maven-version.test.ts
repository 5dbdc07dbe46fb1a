import { describe, expect, it } from 'vitest'
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
})
