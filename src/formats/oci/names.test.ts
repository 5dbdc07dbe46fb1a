import { describe, expect, it } from 'vitest'
import { OciError } from './errors.js'
import { parseDigest, parseName, parseReference, parseRegistryUrl } from './names.js'

const HEX = 'a'.repeat(64)

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof OciError) return err.code
    throw err
  }
  return undefined
}

describe('registry URLs', () => {
  it('takes the name before the last fixed suffix, whatever the name holds', () => {
    expect(parseRegistryUrl('/v2/')?.endpoint).toEqual({ kind: 'base' })
    expect(parseRegistryUrl('/v2')?.endpoint).toEqual({ kind: 'base' })
    expect(parseRegistryUrl('/v2/_catalog?n=1')?.endpoint).toEqual({ kind: 'catalog' })
    expect(parseRegistryUrl('/v2/docker-local/team/app/tags/list')?.endpoint).toEqual({
      kind: 'tags',
      name: { repoKey: 'docker-local', image: 'team/app', name: 'docker-local/team/app' },
    })
    // An image may itself be called `blobs` or `manifests`.
    expect(parseRegistryUrl(`/v2/r1/blobs/manifests/manifests/sha256:${HEX}`)?.endpoint).toMatchObject({
      kind: 'manifest',
      name: { image: 'blobs/manifests' },
      reference: { kind: 'digest', hex: HEX },
    })
    expect(parseRegistryUrl('/v2/r1/app/blobs/uploads/')?.endpoint).toMatchObject({ kind: 'uploads' })
    expect(parseRegistryUrl('/v2/r1/app/blobs/uploads')?.endpoint).toMatchObject({ kind: 'uploads' })
    expect(parseRegistryUrl('/v2/r1/app/blobs/uploads/0b6b2d6e-9c1f-4c4e-9b7a-1d2f3e4a5b6c')?.endpoint).toMatchObject({
      kind: 'upload',
      uuid: '0b6b2d6e-9c1f-4c4e-9b7a-1d2f3e4a5b6c',
    })
    expect(parseRegistryUrl(`/v2/r1/app/blobs/sha256%3A${HEX}`)?.endpoint).toMatchObject({ kind: 'blob', hex: HEX })
    expect(parseRegistryUrl(`/v2/r1/app/referrers/sha256:${HEX}?artifactType=x`)?.endpoint).toMatchObject({ kind: 'referrers', hex: HEX })
    expect(parseRegistryUrl('/artifactory/r1/app')).toBeUndefined()
  })

  it('under /artifactory/api/docker/<repo>/v2/ names are images of that repository', () => {
    const parsed = parseRegistryUrl('/artifactory/api/docker/docker-local/v2/app/manifests/latest')
    expect(parsed?.prefix).toBe('/artifactory/api/docker/docker-local/v2')
    expect(parsed?.endpoint).toEqual({
      kind: 'manifest',
      name: { repoKey: 'docker-local', image: 'app', name: 'app' },
      reference: { kind: 'tag', tag: 'latest' },
    })
    expect(parseRegistryUrl('/artifactory/api/docker/docker-local/v2/')?.endpoint).toEqual({ kind: 'base' })
  })

  it('accepts names up to 255 characters, with several slashes', () => {
    const name = `docker-local/${Array(24).fill('abcdefghi').join('/')}/xy`
    expect(name.length).toBe(255)
    expect(parseRegistryUrl(`/v2/${name}/tags/list`)?.endpoint).toMatchObject({ kind: 'tags', name: { name } })
    expect(codeOf(() => parseName(`docker-local/${'a'.repeat(250)}`))).toBe('NAME_INVALID')
  })

  it('refuses names outside the grammar, and a repository without an image', () => {
    for (const bad of ['docker-local/App', 'docker-local/a..b', 'docker-local/-a', 'docker-local/a/', 'docker-local', 'Docker/a', 'docker-local/a b', 'docker-local/a/sha256__b']) {
      expect(codeOf(() => parseName(bad)), bad).toBe('NAME_INVALID')
    }
    for (const good of ['docker-local/a', 'docker-local/a__b', 'docker-local/a---b', 'docker-local/a.b_c/d-e']) {
      expect(codeOf(() => parseName(good)), good).toBeUndefined()
    }
  })

  it('tells tags from digests, and refuses malformed ones', () => {
    expect(parseReference('v1.0_rc-1')).toEqual({ kind: 'tag', tag: 'v1.0_rc-1' })
    expect(parseReference(`sha256:${HEX}`)).toEqual({ kind: 'digest', hex: HEX })
    expect(codeOf(() => parseReference('.hidden'))).toBe('MANIFEST_INVALID')
    expect(codeOf(() => parseReference('a'.repeat(129)))).toBe('MANIFEST_INVALID')
    expect(codeOf(() => parseDigest('sha256:abc'))).toBe('DIGEST_INVALID')
    expect(codeOf(() => parseDigest(`sha512:${'b'.repeat(128)}`))).toBe('DIGEST_INVALID')
    expect(codeOf(() => parseDigest(`SHA256:${HEX}`))).toBe('DIGEST_INVALID')
  })
})
