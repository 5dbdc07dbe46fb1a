import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { cargoToml, crateOf } from '../../../test/helpers/crates.js'
import { tarOfItems } from '../../../test/helpers/scan-archives.js'
import { DEFAULT_EXTRACTION_LIMITS, ScanFailure } from '../../core/scanning/components.js'
import { CRATES_ECOSYSTEM, CRATE_EXTRACTOR, extractCrate } from './scanning.js'

const bytes = (b: Buffer) => Readable.from([b])
const LOCK = ['version = 3', '[[package]]', 'name = "tool"', 'version = "0.3.0"', '[[package]]', 'name = "smallvec"', 'version = "1.6.0"', 'source = "registry+https://example.test/index"', '[[package]]', 'name = "local-path"', 'version = "0.0.1"'].join('\n')

describe('components of a .crate', () => {
  it('the crate itself, and what its Cargo.lock pins', async () => {
    const crate = crateOf('tool', '0.3.0', { extra: [{ path: 'tool-0.3.0/Cargo.lock', body: LOCK }] })
    expect(await extractCrate(bytes(crate), DEFAULT_EXTRACTION_LIMITS)).toEqual([
      { ecosystem: 'crates.io', name: 'tool', version: '0.3.0', relation: 'self', location: 'tool-0.3.0/Cargo.toml' },
      { ecosystem: 'crates.io', name: 'smallvec', version: '1.6.0', relation: 'locked', location: 'tool-0.3.0/Cargo.lock' },
      { ecosystem: 'crates.io', name: 'local-path', version: '0.0.1', relation: 'locked', location: 'tool-0.3.0/Cargo.lock' },
    ])
  })

  it('fails the scan of hostile or broken crates (the scanner limits apply)', async () => {
    await expect(extractCrate(bytes(crateOf('x', '1.0.0', { extra: [{ path: '../x', body: 'a' }] })), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(ScanFailure)
    await expect(extractCrate(bytes(gzipSync(tarOfItems([{ path: 'x-1.0.0/src/lib.rs', body: '' }]))), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(/no x-1.0.0\/Cargo.toml/)
    const bomb = gzipSync(tarOfItems([{ path: 'b-1.0.0/Cargo.toml', body: cargoToml('b', '1.0.0') }, { path: 'b-1.0.0/zeros', body: Buffer.alloc(8 * 1024 * 1024) }]))
    await expect(extractCrate(bytes(bomb), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(/compression bomb/)
    await expect(extractCrate(bytes(crateOf('m', '1.0.0', { extra: Array.from({ length: 20 }, (_, i) => ({ path: `m-1.0.0/f${i}`, body: '' })) })), { ...DEFAULT_EXTRACTION_LIMITS, maxEntries: 10 })).rejects.toThrow(/more than 10 entries/)
  })

  it('takes .crate files of any repository but docker ones; crates.io names and purls', () => {
    const repo = (packageType: string) => ({ packageType }) as never
    expect(CRATE_EXTRACTOR.accepts(repo('cargo'), 'serde/serde-1.0.0.crate')).toBe(true)
    expect(CRATE_EXTRACTOR.accepts(repo('generic'), 'x/y.crate')).toBe(true)
    expect(CRATE_EXTRACTOR.accepts(repo('docker'), 'x/y.crate')).toBe(false)
    expect(CRATE_EXTRACTOR.accepts(repo('cargo'), 'index/3/s/syn')).toBe(false)
    expect(CRATES_ECOSYSTEM.osv).toBe('crates.io')
    expect(CRATES_ECOSYSTEM.normalizeName!('Serde-JSON')).toBe('serde_json')
    expect(CRATES_ECOSYSTEM.purl!('serde', '1.0.0', undefined)).toBe('pkg:cargo/serde@1.0.0')
  })
})
