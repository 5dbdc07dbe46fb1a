import { describe, expect, it } from 'vitest'
import { assertPublishableName, parsePackageName, parsePackagePath, tarballPath } from './names.js'

describe('package names', () => {
  it('splits scoped and plain names', () => {
    expect(parsePackageName('@babel/core')).toEqual({ full: '@babel/core', scope: 'babel', bare: 'core' })
    expect(parsePackageName('lodash')).toEqual({ full: 'lodash', scope: undefined, bare: 'lodash' })
    for (const bad of ['', '@', '@/x', '@scope/', '@a/b/c', 'a/b']) expect(() => parsePackageName(bad)).toThrow(/invalid package name/)
  })

  it('stores tarballs where Artifactory does', () => {
    expect(tarballPath(parsePackageName('@babel/core'), '7.0.0')).toBe('@babel/core/-/core-7.0.0.tgz')
    expect(tarballPath(parsePackageName('lodash'), '4.17.21')).toBe('lodash/-/lodash-4.17.21.tgz')
  })

  it('refuses names npm refuses for new packages', () => {
    expect(() => assertPublishableName(parsePackageName('ok-name'))).not.toThrow()
    for (const bad of ['Upper', '.dot', '_under', 'with space', 'node_modules', 'x'.repeat(215), '@scope/ÿ']) {
      expect(() => assertPublishableName(parsePackageName(bad)), bad).toThrow(/invalid package name/)
    }
  })
})

describe('parsePackagePath', () => {
  it('reads a scoped name encoded (npm) or not (yarn) the same way', () => {
    expect(parsePackagePath('@scope%2fpkg')).toMatchObject({ name: { full: '@scope/pkg' }, rest: [] })
    expect(parsePackagePath('@scope%2Fpkg/1.0.0')).toMatchObject({ name: { full: '@scope/pkg' }, rest: ['1.0.0'] })
    expect(parsePackagePath('@scope/pkg/-/pkg-1.0.0.tgz')).toMatchObject({ name: { full: '@scope/pkg' }, rest: ['-', 'pkg-1.0.0.tgz'] })
    expect(parsePackagePath('pkg/-rev/3-abc')).toMatchObject({ name: { full: 'pkg' }, rest: ['-rev', '3-abc'] })
  })

  it('refuses encoded slashes past the name and empty segments', () => {
    expect(() => parsePackagePath('pkg/a%2fb')).toThrow(/invalid registry path/)
    expect(() => parsePackagePath('pkg//x')).toThrow(/invalid registry path/)
    expect(() => parsePackagePath('pkg/%zz')).toThrow(/percent-encoding/)
  })
})
