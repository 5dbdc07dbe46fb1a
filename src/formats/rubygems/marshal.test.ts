import { execFileSync } from 'node:child_process'
import { deflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { requireClients } from '../../../test/helpers/clients.js'
import { parseGemspec, quickSpecMarshal } from './gemspec.js'
import { marshalDump, marshalLoad, RubyHash, RubySymbol, RubyUserMarshal } from './marshal.js'

const hasRuby = await requireClients("the Marshal checks against Ruby's own", ['gem'])

const ruby = (script: string, input: Buffer) => execFileSync('ruby', ['-e', script], { input }).toString('utf8')

const SPEC = `--- !ruby/object:Gem::Specification
name: demo
version: !ruby/object:Gem::Version
  version: 1.2.0.rc1
platform: ruby
authors:
- A. Person
date: 2026-12-07 00:00:00.000000000 Z
dependencies:
- !ruby/object:Gem::Dependency
  name: rack
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - "~>"
      - !ruby/object:Gem::Version
        version: '2.2'
    - - ">="
      - !ruby/object:Gem::Version
        version: 2.2.3
  type: :runtime
  prerelease: false
  version_requirements: !ruby/object:Gem::Requirement
    requirements:
    - - "~>"
      - !ruby/object:Gem::Version
        version: '2.2'
licenses:
- MIT
metadata:
  source_code_uri: http://127.0.0.1/demo
required_ruby_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '2.7'
rubygems_version: 3.3.15
specification_version: 4
summary: A démo
`

describe('Marshal', () => {
  it('reads back what it writes: integers of every width, strings, symbols, hashes, user objects', () => {
    const value = [null, true, false, 0, 1, 122, 123, -1, -123, -124, 255, 256, 65_536, -70_000, 2 ** 30 - 1, 'hé', new RubySymbol('a'), new RubySymbol('a')]
    const back = marshalLoad(marshalDump(value)) as unknown[]
    expect(back.slice(0, 16)).toEqual(value.slice(0, 16))
    expect((back[16] as RubySymbol).name).toBe('a')
    const hash = marshalLoad(marshalDump(new RubyHash([['k', [new RubyUserMarshal('Gem::Version', ['1.0'])]]]))) as RubyHash
    expect(((hash.entries[0]![1] as RubyUserMarshal[])[0]!.data as string[])[0]).toBe('1.0')
  })

  it('refuses truncated data and unknown types', () => {
    expect(() => marshalLoad(Buffer.from([4, 8, 0x5b, 0x07]))).toThrow(/ends early/)
    expect(() => marshalLoad(Buffer.from([4, 8, 0x66, 0x06, 0x31]))).toThrow(/not supported/)
    expect(() => marshalLoad(Buffer.from([4, 9, 0x30]))).toThrow(/not Ruby Marshal/)
  })
})

describe.skipIf(!hasRuby)("Marshal against Ruby's", () => {
  it('Ruby loads what Trove writes, and Trove loads what Ruby writes', () => {
    const written = marshalDump([null, true, 300, -70_000, 'hé', new RubySymbol('x'), new RubySymbol('x'), new RubyHash([['a', 1]])])
    expect(ruby('print Marshal.load($stdin.read).inspect', written)).toBe('[nil, true, 300, -70000, "hé", :x, :x, {"a"=>1}]')
    const fromRuby = execFileSync('ruby', ['-e', 's = "shared"; $stdout.write Marshal.dump([s, s, -1, 123_456, [:k, :k], {"x"=>nil}])'])
    const back = marshalLoad(fromRuby) as unknown[]
    expect(back.slice(0, 4)).toEqual(['shared', 'shared', -1, 123_456])
  })

  it('a quick spec loads in RubyGems as the Gem::Specification it describes', () => {
    const rz = deflateSync(quickSpecMarshal(parseGemspec(SPEC)))
    const script = [
      'require "rubygems"; require "zlib"',
      's = Marshal.load(Zlib::Inflate.inflate($stdin.read))',
      'print [s.name, s.version.to_s, s.platform.to_s, s.dependencies.map { |d| [d.name, d.requirement.to_s, d.type] }, s.required_ruby_version.to_s, s.summary, s.metadata, s.date.year].inspect',
    ].join('\n')
    expect(ruby(script, rz)).toBe('["demo", "1.2.0.rc1", "ruby", [["rack", "~> 2.2, >= 2.2.3", :runtime]], ">= 2.7", "A démo", {"source_code_uri"=>"http://127.0.0.1/demo"}, 2026]')
  })
})
