import { describe, expect, it } from 'vitest'
import { fallbackLatest, mergePackuments, renderPackument, resolveVersion, type Packument, type PackumentVersion } from './packument.js'

const version = (v: string, publishedAt: number, extra: Record<string, unknown> = {}, repoKey = 'local'): PackumentVersion => ({
  version: v,
  manifest: { name: 'pkg', version: v, description: `v${v}`, dependencies: { a: '1' }, scripts: { postinstall: 'x' }, readme: undefined as never, main: 'index.js', dist: { shasum: 'abc' }, ...extra },
  deprecated: null,
  publishedAt,
  tarball: { repoKey, path: `pkg/-/pkg-${v}.tgz` },
})

const packument = (overrides: Partial<Packument> = {}): Packument => ({
  name: 'pkg',
  revision: '3-x',
  distTags: { latest: '1.1.0', next: '2.0.0-rc.1' },
  versions: [version('1.0.0', 1000), { ...version('1.1.0', 2000), deprecated: 'use 2' }, version('2.0.0-rc.1', 3000)],
  createdAt: 1000,
  modifiedAt: 3000,
  readme: '# pkg',
  ...overrides,
})

const url = (v: PackumentVersion) => `http://t/${v.tarball.repoKey}/${v.tarball.path}`

describe('renderPackument', () => {
  it('renders the full document with times, hoisted fields and tarball URLs', () => {
    const doc = renderPackument(packument(), { abbreviated: false, tarballUrl: url })
    expect(doc).toMatchObject({
      _id: 'pkg',
      _rev: '3-x',
      name: 'pkg',
      description: 'v1.1.0',
      readme: '# pkg',
      'dist-tags': { latest: '1.1.0', next: '2.0.0-rc.1' },
      time: { created: new Date(1000).toISOString(), modified: new Date(3000).toISOString(), '1.0.0': new Date(1000).toISOString() },
    })
    const versions = doc.versions as Record<string, Record<string, unknown>>
    expect(Object.keys(versions)).toEqual(['1.0.0', '1.1.0', '2.0.0-rc.1'])
    expect(versions['1.1.0']).toMatchObject({ deprecated: 'use 2', main: 'index.js', dist: { shasum: 'abc', tarball: 'http://t/local/pkg/-/pkg-1.1.0.tgz' } })
  })

  it('renders the abbreviated document with only what installers need', () => {
    const doc = renderPackument(packument(), { abbreviated: true, tarballUrl: url })
    expect(Object.keys(doc).sort()).toEqual(['dist-tags', 'modified', 'name', 'versions'])
    const versions = doc.versions as Record<string, Record<string, unknown>>
    expect(versions['1.1.0']).toEqual({
      name: 'pkg',
      version: '1.1.0',
      deprecated: 'use 2',
      dependencies: { a: '1' },
      dist: { shasum: 'abc', tarball: 'http://t/local/pkg/-/pkg-1.1.0.tgz' },
      hasInstallScript: true,
    })
  })
})

describe('mergePackuments', () => {
  it('lets the first member win each version and tag, as a virtual repository resolves', () => {
    const local = packument({ revision: 'a', distTags: { latest: '1.1.0' }, versions: [version('1.1.0', 2000, { description: 'ours' })], readme: 'ours' })
    const remote = packument({
      revision: 'b',
      distTags: { latest: '2.0.0', beta: '9.9.9' },
      versions: [version('1.0.0', 1000, {}, 'remote'), version('1.1.0', 2100, { description: 'theirs' }, 'remote'), version('2.0.0', 4000, {}, 'remote')],
      createdAt: 500,
      modifiedAt: 4000,
      readme: 'theirs',
    })
    const merged = mergePackuments([local, remote])!
    expect(merged.versions.map((v) => [v.version, v.tarball.repoKey, v.manifest.description])).toEqual([
      ['1.0.0', 'remote', 'v1.0.0'],
      ['1.1.0', 'local', 'ours'],
      ['2.0.0', 'remote', 'v2.0.0'],
    ])
    expect(merged.distTags).toEqual({ latest: '1.1.0' }) // beta points at a version no member has
    expect(merged).toMatchObject({ revision: 'a+b', createdAt: 500, modifiedAt: 4000, readme: 'ours' })
    expect(mergePackuments([])).toBeUndefined()
  })
})

describe('versions', () => {
  it('resolves tags and versions', () => {
    expect(resolveVersion(packument(), 'next')?.version).toBe('2.0.0-rc.1')
    expect(resolveVersion(packument(), '1.0.0')?.version).toBe('1.0.0')
    expect(resolveVersion(packument(), 'v1.0.0')?.version).toBe('1.0.0')
    expect(resolveVersion(packument(), '3.0.0')).toBeUndefined()
  })

  it('moves latest to the highest release left', () => {
    expect(fallbackLatest(['1.0.0', '1.2.0', '2.0.0-rc.1', '1.10.0'])).toBe('1.10.0')
    expect(fallbackLatest(['2.0.0-rc.1', '2.0.0-rc.2'])).toBe('2.0.0-rc.2')
    expect(fallbackLatest([])).toBeUndefined()
  })
})
