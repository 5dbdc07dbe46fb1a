import { describe, expect, it } from 'vitest'
import { crateOfIndexFile, cratePath, indexFileOf, isCrateName, isCrateVersion, parseCratePath, prefixOf, withoutBuild } from './names.js'
import { expandDownloadTemplate } from './cargo-layout.js'

describe('Cargo names and paths', () => {
  it('lays out index files by name length, lower-cased', () => {
    expect(indexFileOf('a')).toBe('1/a')
    expect(indexFileOf('AB')).toBe('2/ab')
    expect(indexFileOf('Syn')).toBe('3/s/syn')
    expect(indexFileOf('serde_json')).toBe('se/rd/serde_json')
    expect(indexFileOf('cargo')).toBe('ca/rg/cargo')
  })

  it('reads a crate name back from an index path only when the path is its own', () => {
    expect(crateOfIndexFile('3/s/syn')).toBe('syn')
    expect(crateOfIndexFile('se/rd/serde')).toBe('serde')
    expect(crateOfIndexFile('se/xx/serde')).toBeUndefined()
    expect(crateOfIndexFile('3/s/Syn')).toBeUndefined()
    expect(crateOfIndexFile('config.json')).toBeUndefined()
    expect(crateOfIndexFile('../../etc/passwd')).toBeUndefined()
  })

  it('takes crate names and SemVer versions as the registries do', () => {
    for (const name of ['a', 'serde_json', 'foo-bar', 'X1']) expect(isCrateName(name)).toBe(true)
    for (const name of ['', '1abc', '-x', 'a/b', 'a.b', 'ä', 'x'.repeat(65)]) expect(isCrateName(name)).toBe(false)
    for (const version of ['1.0.0', '0.1.0-alpha.1', '1.2.3+build.5', '1.0.0-rc.1+x']) expect(isCrateVersion(version)).toBe(true)
    for (const version of ['1.0', 'v1.0.0', '01.0.0', '1.0.0-', '1.0.0/../x', '1.0.0-01']) expect(isCrateVersion(version)).toBe(false)
    expect(withoutBuild('1.0.0+abc')).toBe('1.0.0')
  })

  it('stores crates at <name>/<name>-<version>.crate (lower-cased) and reads the path back', () => {
    expect(cratePath('Serde-JSON', '1.0.0')).toBe('serde-json/serde-json-1.0.0.crate')
    expect(parseCratePath('serde-json/serde-json-1.0.0-beta-2.crate')).toEqual({ name: 'serde-json', version: '1.0.0-beta-2' })
    expect(parseCratePath('serde/other-1.0.0.crate')).toBeUndefined()
    expect(parseCratePath('serde/serde-1.0.crate')).toBeUndefined()
  })

  it('expands dl templates as cargo does, and appends /{crate}/{version}/download to a plain URL', () => {
    expect(prefixOf('Serde')).toBe('Se/rd')
    expect(expandDownloadTemplate('http://h/dl', 'serde', '1.0.0', 'abc')).toBe('http://h/dl/serde/1.0.0/download')
    expect(expandDownloadTemplate('http://h/{prefix}/{lowerprefix}/{crate}-{version}.crate?c={sha256-checksum}', 'Serde', '1.0.0', 'abc')).toBe(
      'http://h/Se/rd/se/rd/Serde-1.0.0.crate?c=abc',
    )
  })
})
