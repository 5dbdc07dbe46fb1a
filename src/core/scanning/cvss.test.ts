import { describe, expect, it } from 'vitest'
import { cvssRating, cvssV3BaseScore } from './cvss.js'
import { FORMATS } from '../../formats/index.js'
import { ScanningRegistry } from './scanning-registry.js'
import { assessSeverity, parseSeverityLevel } from './reports.js'

describe('CVSS v3 base scores', () => {
  // Scores as NVD publishes them for these vectors (FIRST's calculator gives the same).
  it.each([
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H', 7.4], // CVE-2020-8203, lodash
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10.0],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H', 9.0],
    ['CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:L', 8.3],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N', 6.1],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:H', 8.6],
    ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', 1.6],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
    ['CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N', 6.4],
    // Temporal metrics are accepted and do not change the base score.
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C', 9.8],
  ])('%s → %s', (vector, score) => {
    expect(cvssV3BaseScore(vector)?.score).toBe(score)
  })

  it('refuses what is not a complete v3 vector', () => {
    for (const bad of [
      'AV:N/AC:L/Au:N/C:P/I:P/A:P', // CVSS v2
      'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H', // no A
      'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      '',
    ]) {
      expect(cvssV3BaseScore(bad), bad).toBeUndefined()
    }
  })

  it('rates scores with the v3 bands', () => {
    expect([0, 0.1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(cvssRating)).toEqual(['none', 'low', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'critical'])
  })
})

describe('severity of a vulnerability', () => {
  const vector = [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }]
  it("takes the advisory's level first, with the computed score", () => {
    expect(assessSeverity(vector, 'MODERATE')).toMatchObject({ level: 'moderate', levelSource: 'advisory', cvss: { score: 9.8, version: '3.1' } })
  })
  it('falls back to the CVSS bands, then to moderate', () => {
    expect(assessSeverity(vector, null)).toMatchObject({ level: 'critical', levelSource: 'cvss' })
    expect(assessSeverity([{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N' }], null)).toMatchObject({ level: 'low', levelSource: 'cvss' })
    expect(assessSeverity([], null)).toEqual({ level: 'moderate', levelSource: 'default', cvss: null })
  })
  it('reads levels as people write them', () => {
    expect(['LOW', 'Medium', 'moderate', 'HIGH', 'critical', 'severe'].map(parseSeverityLevel)).toEqual(['low', 'moderate', 'moderate', 'high', 'critical', undefined])
  })
})

describe('package URLs', () => {
  const ecosystems = new ScanningRegistry(FORMATS)
  it.each([
    [{ ecosystem: 'npm', name: 'lodash', version: '4.17.15' }, 'pkg:npm/lodash@4.17.15'],
    [{ ecosystem: 'npm', name: '@babel/core', version: '7.0.0' }, 'pkg:npm/%40babel/core@7.0.0'],
    [{ ecosystem: 'npm', name: 'lodash', version: '^4.17.0' }, 'pkg:npm/lodash'],
    [{ ecosystem: 'PyPI', name: 'Django_Rest', version: '1.0' }, 'pkg:pypi/django-rest@1.0'],
    [{ ecosystem: 'Maven', name: 'org.apache.logging.log4j:log4j-core', version: '2.14.1' }, 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1'],
    [{ ecosystem: 'Debian:12', name: 'openssl', version: '3.0.11-1~deb12u1' }, 'pkg:deb/debian/openssl@3.0.11-1~deb12u1?distro=debian-12'],
    [{ ecosystem: 'Alpine:v3.19', name: 'musl', version: '1.2.4-r2' }, 'pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.19'],
    [{ ecosystem: 'Go', name: 'github.com/dgrijalva/jwt-go', version: '3.2.0' }, 'pkg:golang/github.com/dgrijalva/jwt-go@3.2.0'],
  ])('%j → %s', (component, purl) => {
    expect(ecosystems.purl(component)).toBe(purl)
  })
})
