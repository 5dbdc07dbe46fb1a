import { describe, expect, it } from 'vitest'
import { expectAgreesWithVectors } from '../../../test/helpers/version-vectors.js'
import { comparePackagist, isDevVersion, normalizeVersion } from './versions.js'

describe('Composer versions', () => {
  it('orders as OSV Packagist does (osv-scalibr vectors, from PHP version_compare and real Packagist releases)', () => {
    expectAgreesWithVectors(comparePackagist, 'packagist-versions.txt')
    expectAgreesWithVectors(comparePackagist, 'packagist-versions-generated.txt')
  })

  it('normalises as Composer does', () => {
    const cases: Record<string, string> = {
      '1.0.0': '1.0.0.0',
      'v2.1': '2.1.0.0',
      '1.2.3.4': '1.2.3.4',
      '1.0.0-beta2': '1.0.0.0-beta2',
      '1.0.0-b2': '1.0.0.0-beta2',
      '2.0-rc1': '2.0.0.0-RC1',
      '1.0.0-alpha.3': '1.0.0.0-alpha3',
      '1.0.0-pl1': '1.0.0.0-patch1',
      '1.0.0-stable': '1.0.0.0',
      '1.0.0-dev': '1.0.0.0-dev',
      'dev-main': 'dev-main',
      '1.x-dev': '1.9999999.9999999.9999999-dev',
      '2.3.x-dev': '2.3.9999999.9999999-dev',
    }
    expect(Object.fromEntries(Object.keys(cases).map((v) => [v, normalizeVersion(v)]))).toEqual(cases)
    for (const bad of ['', 'latest', '1.0.0/../x', 'dev-a/b', '1..0', '1.0.0 beta']) expect(normalizeVersion(bad), bad).toBeUndefined()
    expect(isDevVersion(normalizeVersion('dev-main')!)).toBe(true)
    expect(isDevVersion(normalizeVersion('1.x-dev')!)).toBe(true)
    expect(isDevVersion(normalizeVersion('1.0.0-RC1')!)).toBe(false)
  })
})
