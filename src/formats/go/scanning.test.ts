import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { scratchExtraction } from '../../../test/helpers/extraction-context.js'
import { zipOf } from '../../../test/helpers/scan-archives.js'
import { DEFAULT_EXTRACTION_LIMITS } from '../../core/scanning/components.js'
import { isAffected } from '../../core/scanning/matcher.js'
import { GO_ECOSYSTEM, GO_MODULE_EXTRACTOR, extractModuleZip } from './scanning.js'

const scratch = scratchExtraction()
const bytes = (b: Buffer) => Readable.from([b])
const GO_MOD = ['module example.com/app', '', 'go 1.19', '', 'require (', '\tgithub.com/dgrijalva/jwt-go v3.2.0+incompatible', '\tgolang.org/x/text v0.3.7 // indirect', ')', ''].join('\n')

describe('Go module scanning', () => {
  it('reads a module zip: the module itself and the requires of its go.mod', async () => {
    const zip = zipOf([
      { name: 'example.com/app@v1.4.0/go.mod', data: GO_MOD },
      { name: 'example.com/app@v1.4.0/main.go', data: 'package main' },
      // A nested module's go.mod is not the module's own.
      { name: 'example.com/app@v1.4.0/tools/go.mod', data: 'module example.com/app/tools\nrequire example.com/ignored v1.0.0\n' },
    ])
    const components = await extractModuleZip(bytes(zip), DEFAULT_EXTRACTION_LIMITS, scratch.context)
    expect(components.map((c) => `${c.name}@${c.version} ${c.relation}`)).toEqual([
      'example.com/app@v1.4.0 self',
      'github.com/dgrijalva/jwt-go@v3.2.0+incompatible dependency',
      'golang.org/x/text@v0.3.7 dependency',
    ])
    expect(components.every((c) => c.ecosystem === 'Go')).toBe(true)
  })

  it('accepts module zips by their proxy path in any repository but docker', () => {
    const repo = (packageType: string) => ({ packageType }) as never
    expect(GO_MODULE_EXTRACTOR.accepts(repo('go'), 'example.com/!acme/app/@v/v1.0.0.zip')).toBe(true)
    expect(GO_MODULE_EXTRACTOR.accepts(repo('generic'), 'mirror/example.com/app/@v/v1.0.0.zip')).toBe(true)
    expect(GO_MODULE_EXTRACTOR.accepts(repo('go'), 'example.com/app/@v/v1.0.0.mod')).toBe(false)
    expect(GO_MODULE_EXTRACTOR.accepts(repo('docker'), 'example.com/app/@v/v1.0.0.zip')).toBe(false)
  })

  it('fails hostile or wrong zips with a reason, under the scanner’s archive limits', async () => {
    const scan = (zip: Buffer, limits = DEFAULT_EXTRACTION_LIMITS) => extractModuleZip(bytes(zip), limits, scratch.context)
    await expect(scan(zipOf([{ name: 'example.com/app@v1.0.0/../../evil.go', data: 'x' }]))).rejects.toThrow(/leaves the archive/)
    await expect(scan(zipOf([{ name: '/etc/evil', data: 'x' }]))).rejects.toThrow(/absolute path/)
    await expect(scan(zipOf([{ name: 'example.com/app@v1.0.0/a.go', data: 'x' }, { name: 'example.com/other@v1.0.0/b.go', data: 'x' }]))).rejects.toThrow(/not below the module root/)
    await expect(scan(zipOf([{ name: 'example.com/app@v1.0.0/zeros', data: Buffer.alloc(50 * 1024 * 1024), deflate: true }]))).rejects.toThrow(/expands more than/)
    const many = zipOf(Array.from({ length: 6000 }, (_, i) => ({ name: `example.com/app@v1.0.0/${i}.go` })))
    await expect(scan(many, { ...DEFAULT_EXTRACTION_LIMITS, maxEntries: 5000 })).rejects.toThrow(/more than 5000 entries/)
    await expect(scan(Buffer.from('not a zip'))).rejects.toThrow(/not a readable zip/)
    await expect(scan(zipOf([{ name: 'README', data: 'x' }]))).rejects.toThrow(/no module root/)
  })

  it("matches OSV's Go advisories, written without the v, against go.mod's versions", () => {
    // As in GO-2020-0017 (jwt-go): every version affected, no fix in this module path.
    const entry = { ecosystem: 'Go', versions: [], ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }
    expect(isAffected(entry, 'v3.2.0+incompatible', GO_ECOSYSTEM.compare)).toBe(true)
    const fixed = { ecosystem: 'Go', versions: [], ranges: [{ type: 'SEMVER', events: [{ introduced: '0.3.0' }, { fixed: '0.3.8' }] }] }
    expect(isAffected(fixed, 'v0.3.7', GO_ECOSYSTEM.compare)).toBe(true)
    expect(isAffected(fixed, 'v0.3.8', GO_ECOSYSTEM.compare)).toBe(false)
    expect(isAffected({ ...fixed, ranges: [{ type: 'ECOSYSTEM', events: fixed.ranges[0]!.events }] }, 'v0.3.10', GO_ECOSYSTEM.compare)).toBe(false)
    expect(GO_ECOSYSTEM.purl!('github.com/Azure/go-autorest', 'v14.2.0+incompatible', undefined)).toBe('pkg:golang/github.com/Azure/go-autorest@v14.2.0%2Bincompatible')
  })
})
