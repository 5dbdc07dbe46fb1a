import { describe, expect, it } from 'vitest'
import { expectAgreesWithVectors } from '../../../test/helpers/version-vectors.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { comparePackagist, isDevVersion, normalizeBranch, normalizeVersion } from './versions.js'

/** composer/semver's own normalisation cases (see the file's source and commit). */
const COMPOSER_CASES = JSON.parse(readFileSync(join(import.meta.dirname, '../../../test/fixtures/versions/composer-normalize.json'), 'utf8')) as {
  normalize: [string, string][]
  normalizeFails: string[]
  branches: [string, string][]
}

describe('Composer versions', () => {
  it('orders as OSV Packagist does (osv-scalibr vectors, from PHP version_compare and real Packagist releases)', () => {
    expectAgreesWithVectors(comparePackagist, 'packagist-versions.txt')
    expectAgreesWithVectors(comparePackagist, 'packagist-versions-generated.txt')
  })

  it("normalises as composer/semver's VersionParser tests say", () => {
    expect(COMPOSER_CASES.normalize.length).toBeGreaterThan(50)
    expect(Object.fromEntries(COMPOSER_CASES.normalize.map(([input]) => [input, normalizeVersion(input)]))).toEqual(Object.fromEntries(COMPOSER_CASES.normalize))
    expect(COMPOSER_CASES.normalizeFails.filter((input) => normalizeVersion(input) !== undefined)).toEqual([])
    expect(Object.fromEntries(COMPOSER_CASES.branches.map(([input]) => [input, normalizeBranch(input)]))).toEqual(Object.fromEntries(COMPOSER_CASES.branches))
  })

  it('normalises the versions Trove meets', () => {
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
    for (const bad of ['', 'latest', '1.0.0/../x', '1..0', '1.0.0 beta']) expect(normalizeVersion(bad), bad).toBeUndefined()
    expect(isDevVersion(normalizeVersion('dev-main')!)).toBe(true)
    expect(isDevVersion(normalizeVersion('1.x-dev')!)).toBe(true)
    expect(isDevVersion(normalizeVersion('1.0.0-RC1')!)).toBe(false)
  })
})
