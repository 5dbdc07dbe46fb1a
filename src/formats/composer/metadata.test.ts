import { describe, expect, it } from 'vitest'
import { expand, minify, renderP2, sortEntries, upstreamVersions, versionEntry, type VersionEntry } from './metadata.js'

const entry = (version: string, normalized: string, extra: Record<string, unknown> = {}): VersionEntry =>
  versionEntry({ name: 'acme/x', version: '9', require: { php: '>=8.1' }, repositories: [{}], ...extra }, 'acme/x', version, normalized, { url: `http://t/${version}.zip`, shasum: 'a'.repeat(40) }, 0)

describe('Composer p2 documents', () => {
  it('keeps the package fields, drops the root-only ones, and sets version, dist and time', () => {
    const e = entry('1.0.0', '1.0.0.0', { autoload: { 'psr-4': { 'Acme\\': 'src/' } } })
    expect(e).toEqual({
      name: 'acme/x',
      version: '1.0.0',
      version_normalized: '1.0.0.0',
      require: { php: '>=8.1' },
      autoload: { 'psr-4': { 'Acme\\': 'src/' } },
      dist: { type: 'zip', url: 'http://t/1.0.0.zip', reference: 'a'.repeat(40), shasum: 'a'.repeat(40) },
      time: '1970-01-01T00:00:00+00:00',
    })
  })

  it('minifies newest first and expands back to the same entries', () => {
    const entries = sortEntries([entry('1.0.0', '1.0.0.0', { description: 'old' }), entry('1.10.0', '1.10.0.0'), entry('1.2.0-RC1', '1.2.0.0-RC1')])
    expect(entries.map((e) => e.version)).toEqual(['1.10.0', '1.2.0-RC1', '1.0.0'])
    const minified = minify(entries)
    expect(minified[1]).toEqual({ version: '1.2.0-RC1', version_normalized: '1.2.0.0-RC1', dist: entries[1]!.dist })
    expect(minified[2]).toMatchObject({ description: 'old' })
    expect(expand(minified)).toEqual(entries)
    const document = JSON.parse(renderP2('acme/x', entries))
    expect(document.minified).toBe('composer/2.0')
    expect(upstreamVersions(document, 'acme/x')).toEqual(entries)
    // A field the previous version had and this one lacks is unset.
    expect(minify([entries[2]!, entries[0]!])[1]).toMatchObject({ description: '__unset' })
  })
})
