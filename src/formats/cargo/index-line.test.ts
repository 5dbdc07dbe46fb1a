import { describe, expect, it } from 'vitest'
import { indexLineOf, lineFromPieces, linePieces, parseIndexFile, readPublishMetadata, renderIndexFile } from './index-line.js'

const CKSUM = 'a'.repeat(64)

describe('Cargo index lines', () => {
  it('turns cargo publish JSON into the index line cargo reads (renamed deps, features2)', () => {
    const metadata = readPublishMetadata({
      name: 'app',
      vers: '1.0.0',
      deps: [
        { name: 'serde', version_req: '^1.0', features: ['derive'], optional: false, default_features: true, target: null, kind: 'normal' },
        { name: 'rand', version_req: '^0.8', features: [], optional: true, default_features: false, target: 'cfg(unix)', kind: 'dev', explicit_name_in_toml: 'random', registry: 'https://example.test/index' },
      ],
      features: { default: ['std'], std: [], fast: ['dep:rand'], weak: ['serde?/std'] },
      links: null,
      rust_version: '1.70',
      description: 'ignored by the index',
    })
    const line = indexLineOf(metadata, CKSUM)
    expect(line).toEqual({
      name: 'app',
      vers: '1.0.0',
      deps: [
        { name: 'serde', req: '^1.0', features: ['derive'], optional: false, default_features: true, target: null, kind: 'normal' },
        { name: 'random', package: 'rand', req: '^0.8', features: [], optional: true, default_features: false, target: 'cfg(unix)', kind: 'dev', registry: 'https://example.test/index' },
      ],
      cksum: CKSUM,
      features: { default: ['std'], std: [] },
      features2: { fast: ['dep:rand'], weak: ['serde?/std'] },
      v: 2,
      yanked: false,
      links: null,
      rust_version: '1.70',
    })
  })

  it('refuses what is not a publish document', () => {
    expect(() => readPublishMetadata([])).toThrow(/JSON object/)
    expect(() => readPublishMetadata({ name: '../x', vers: '1.0.0' })).toThrow(/invalid crate name/)
    expect(() => readPublishMetadata({ name: 'x', vers: '1.0' })).toThrow(/SemVer/)
    expect(() => readPublishMetadata({ name: 'x', vers: '1.0.0', deps: [{ name: 'y' }] })).toThrow(/version_req/)
    expect(() => readPublishMetadata({ name: 'x', vers: '1.0.0', deps: [{ name: 'y', version_req: '1', kind: 'weird' }] })).toThrow(/unknown kind/)
    expect(() => readPublishMetadata({ name: 'x', vers: '1.0.0', features: { a: 'b' } })).toThrow(/list of strings/)
  })

  it('keeps a long line in short numbered pieces that come back in any order, with the yanked flag', () => {
    const features = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`feature-${i}`, [`dep-${i}/x`, 'ünïcödé']]))
    const line = indexLineOf(readPublishMetadata({ name: 'big', vers: '2.0.0', features }), CKSUM)
    const pieces = linePieces(line)
    expect(pieces.length).toBeGreaterThan(3)
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(505)
    expect(lineFromPieces([...pieces].reverse(), true)).toEqual({ ...line, yanked: true })
  })

  it('parses an upstream index file, skipping broken lines, and renders one JSON line per version', () => {
    const text = `${JSON.stringify({ name: 'a', vers: '1.0.0', cksum: CKSUM, deps: [], features: {}, yanked: false })}\n{broken\n\n${JSON.stringify({ name: 'a', vers: '1.1.0', cksum: CKSUM, deps: [], features: {}, yanked: true })}\n`
    const lines = parseIndexFile(text)
    expect(lines.map((l) => l.vers)).toEqual(['1.0.0', '1.1.0'])
    expect(renderIndexFile(lines).split('\n')).toHaveLength(3)
  })
})
