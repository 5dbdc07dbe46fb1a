import { describe, expect, it } from 'vitest'
import { infoLine, legacyTuples, md5, parseInfo, parseVersions, renderInfo, renderNames, renderVersions } from './compact-index.js'
import { gemNameOf } from './resolver.js'

const gem = (version: string, platform = 'ruby', dependencies = '', requirements = '') => ({ name: 'demo', version, platform, dependencies, requirements, sha256: 'a'.repeat(64) })

describe('the compact index', () => {
  it('writes info lines as bundler reads them: dependencies, checksum, then ruby and rubygems requirements', () => {
    expect(infoLine(gem('1.0.0'))).toBe(`1.0.0 |checksum:${'a'.repeat(64)}`)
    expect(infoLine(gem('1.0.0', 'java', 'rack:>= 2, < 3&json:>= 0', 'ruby:>= 2.7&rubygems:>= 3'))).toBe(`1.0.0-java rack:>= 2, < 3&json:>= 0|checksum:${'a'.repeat(64)},ruby:>= 2.7,rubygems:>= 3`)
    const info = renderInfo([gem('1.0.0'), gem('1.1.0')])
    expect(info.startsWith('---\n1.0.0 ')).toBe(true)
    expect([...parseInfo(info).keys()]).toEqual(['1.0.0', '1.1.0'])
  })

  it('versions: names sorted, the info md5 per gem; appended lines and yanks of another server are followed', () => {
    const text = renderVersions(new Map([['zeta', { versions: ['1.0'], infoMd5: md5('x') }], ['alpha', { versions: ['1.0', '2.0-java'], infoMd5: md5('y') }]]), new Date(0))
    expect(text).toBe(`created_at: 1970-01-01T00:00:00Z\n---\nalpha 1.0,2.0-java ${md5('y')}\nzeta 1.0 ${md5('x')}\n`)
    const upstream = `created_at: 2024-01-01T00:00:00Z\n---\nrack 1.0,1.1 ${'0'.repeat(32)}\nrack 1.2 ${'1'.repeat(32)}\nrack -1.1 ${'2'.repeat(32)}\n`
    expect(parseVersions(upstream).get('rack')).toEqual({ versions: ['1.0', '1.2'], infoMd5: '2'.repeat(32) })
    expect(renderNames(['b', 'a', 'b'])).toBe('---\na\nb\n')
  })

  it('legacy tuples: releases, the newest release per platform, prereleases', () => {
    const gems = [gem('1.0.0'), gem('1.10.0'), gem('1.9.0'), gem('2.0.0.rc1'), gem('1.0.0', 'java')]
    expect(legacyTuples(gems, 'specs').map((g) => `${g.version}-${g.platform}`)).toEqual(['1.0.0-java', '1.0.0-ruby', '1.9.0-ruby', '1.10.0-ruby'])
    expect(legacyTuples(gems, 'latest_specs').map((g) => `${g.version}-${g.platform}`)).toEqual(['1.0.0-java', '1.10.0-ruby'])
    expect(legacyTuples(gems, 'prerelease_specs').map((g) => g.version)).toEqual(['2.0.0.rc1'])
  })

  it("names the gem of a file", () => {
    expect(gemNameOf('gems/rack-test-2.0.0.gem')).toBe('rack-test')
    expect(gemNameOf('quick/Marshal.4.8/nokogiri-1.15.0-x86_64-linux.gemspec.rz')).toBe('nokogiri')
    expect(gemNameOf('gems/noversion.gem')).toBeUndefined()
  })
})
