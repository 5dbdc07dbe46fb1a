import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { gzipSync } from 'node:zlib'
import { gemOf, gz, hostileGem, spec, tarOf } from '../../../test/helpers/gem-archives.js'
import { tarOfItems } from '../../../test/helpers/scan-archives.js'
import { extractGem, GEM_EXTRACTOR, lockedGems, RUBYGEMS_ECOSYSTEM } from './scanning.js'

const LIMITS = { maxEntries: 1000, maxUnpackedBytes: 10 * 1024 * 1024, maxCompressionRatio: 100, maxMetadataBytes: 1024 * 1024, maxComponents: 1000 }
const DEPENDENCIES = `dependencies:
- !ruby/object:Gem::Dependency
  name: rack
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - "="
      - !ruby/object:Gem::Version
        version: 2.2.3
  type: :runtime
- !ruby/object:Gem::Dependency
  name: rspec
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - "~>"
      - !ruby/object:Gem::Version
        version: '3.0'
  type: :development`

const LOCK = `GEM
  remote: http://127.0.0.1/
  specs:
    nokogiri (1.13.9-x86_64-linux)
      racc (~> 1.4)
    racc (1.6.0)

PLATFORMS
  x86_64-linux

DEPENDENCIES
  nokogiri
`

describe('scanning a stored gem', () => {
  it('finds the gem, its runtime dependencies (an exact one with its version) and what a Gemfile.lock inside locks', async () => {
    const gem = await gemOf('demo', '1.0.0', [{ name: 'Gemfile.lock', body: Buffer.from(LOCK) }, { name: 'lib/demo.rb', body: Buffer.from('') }], DEPENDENCIES)
    const found = await extractGem(Readable.from([gem]), LIMITS)
    expect(found).toEqual([
      { ecosystem: 'RubyGems', name: 'demo', version: '1.0.0', relation: 'self', location: 'metadata.gz' },
      { ecosystem: 'RubyGems', name: 'rack', version: '2.2.3', relation: 'dependency', location: 'metadata.gz dependencies' },
      { ecosystem: 'RubyGems', name: 'nokogiri', version: '1.13.9', relation: 'locked', location: 'data.tar.gz!/Gemfile.lock' },
      { ecosystem: 'RubyGems', name: 'racc', version: '1.6.0', relation: 'locked', location: 'data.tar.gz!/Gemfile.lock' },
    ])
  })

  it('fails the scan of hostile or broken gems, saying why', async () => {
    await expect(extractGem(Readable.from([await hostileGem('inner-dotdot')]), LIMITS)).rejects.toThrow(/leaves the archive/)
    await expect(extractGem(Readable.from([await hostileGem('extra-entry')]), LIMITS)).rejects.toThrow(/unexpected entry/)
    await expect(extractGem(Readable.from([await tarOf([{ name: 'data.tar.gz', body: await tarOf([{ name: 'lib/x.rb', body: Buffer.from('x') }], true) }])]), LIMITS)).rejects.toThrow(/no metadata.gz/)
    const link = gzipSync(tarOfItems([{ path: 'lib/passwd', type: '2', linkpath: '../../../etc/passwd' }]))
    const linked = await tarOf([{ name: 'metadata.gz', body: await gz(spec('demo')) }, { name: 'data.tar.gz', body: link }])
    await expect(extractGem(Readable.from([linked]), LIMITS)).rejects.toThrow(/links 'lib\/passwd' out of the gem/)
    const many = await gemOf('demo', '1.0.0', Array.from({ length: 50 }, (_, i) => ({ name: `lib/f${i}.rb`, body: Buffer.from('') })))
    await expect(extractGem(Readable.from([many]), { ...LIMITS, maxEntries: 20 })).rejects.toThrow(/more than 20 entries/)
  })

  it('accepts .gem files outside docker repositories; RubyGems order and package URLs', () => {
    const repo = (packageType: string) => ({ packageType }) as Parameters<typeof GEM_EXTRACTOR.accepts>[0]
    expect(GEM_EXTRACTOR.accepts(repo('gems'), 'gems/demo-1.0.0.gem')).toBe(true)
    expect(GEM_EXTRACTOR.accepts(repo('generic'), 'x/demo-1.0.0.gem')).toBe(true)
    expect(GEM_EXTRACTOR.accepts(repo('docker'), 'demo-1.0.0.gem')).toBe(false)
    expect(RUBYGEMS_ECOSYSTEM.compare('1.0.0.rc1', '1.0.0')).toBeLessThan(0)
    expect(RUBYGEMS_ECOSYSTEM.purl!('rack', '2.2.3', undefined)).toBe('pkg:gem/rack@2.2.3')
    expect(lockedGems('    rails (7.0.4)\n      actionpack (= 7.0.4)\n')).toEqual([{ name: 'rails', version: '7.0.4' }])
  })
})
