import { describe, expect, it } from 'vitest'
import { OciError } from './errors.js'
import { MEDIA_TYPES, accepts, defaultPlatformEntry, parseManifest } from './manifests.js'

const d = (n: string, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip', size = 10) => ({
  mediaType,
  digest: `sha256:${n.repeat(64).slice(0, 64)}`,
  size,
})

function manifest(body: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(body))
}

function failure(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof OciError) return `${err.code}: ${err.message}`
    throw err
  }
  return 'no error'
}

describe('manifest validation', () => {
  const image = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: d('c', 'application/vnd.oci.image.config.v1+json'), layers: [d('1'), d('2')] }

  it('reads an OCI image manifest: its blobs, artifact type, subject and annotations', () => {
    const parsed = parseManifest(
      manifest({ ...image, artifactType: 'application/vnd.example+json', subject: d('f', MEDIA_TYPES.ociManifest), annotations: { a: 'b' } }),
      MEDIA_TYPES.ociManifest,
    )
    expect(parsed.kind).toBe('image')
    expect(parsed.blobs.map((b) => b.hex[0])).toEqual(['c', '1', '2'])
    expect(parsed.subject?.hex).toBe('f'.repeat(64))
    expect(parsed.artifactType).toBe('application/vnd.example+json')
    expect(parsed.annotations).toEqual({ a: 'b' })
  })

  it("uses the config media type as the artifact type when there is none (referrers API)", () => {
    const helm = { ...image, config: d('c', 'application/vnd.cncf.helm.config.v1+json') }
    expect(parseManifest(manifest(helm), MEDIA_TYPES.ociManifest).artifactType).toBe('application/vnd.cncf.helm.config.v1+json')
  })

  it('reads indexes, Docker manifest lists and Docker schema 2 manifests', () => {
    const index = parseManifest(manifest({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [d('a', MEDIA_TYPES.ociManifest)] }), undefined)
    expect(index.kind).toBe('index')
    expect(index.manifests).toHaveLength(1)
    const list = parseManifest(manifest({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerList, manifests: [] }), MEDIA_TYPES.dockerList)
    expect(list.mediaType).toBe(MEDIA_TYPES.dockerList)
    const docker = parseManifest(manifest({ ...image, mediaType: MEDIA_TYPES.dockerManifest }), MEDIA_TYPES.dockerManifest)
    expect(docker.blobs).toHaveLength(3)
  })

  it('infers the type of a manifest without mediaType from a generic Content-Type, and trusts a specific one', () => {
    const { mediaType: _, ...bare } = image
    expect(parseManifest(manifest(bare), 'application/json').mediaType).toBe(MEDIA_TYPES.ociManifest)
    expect(parseManifest(manifest(bare), MEDIA_TYPES.dockerManifest).mediaType).toBe(MEDIA_TYPES.dockerManifest)
  })

  it('sets foreign layers (a non-distributable or foreign media type with urls) apart; urls alone change nothing', () => {
    const urls = ['https://example.test/layer']
    const layers = [
      { ...d('1'), urls },
      { ...d('2', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'), urls },
      { ...d('3', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'), urls },
      d('4', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'),
    ]
    const parsed = parseManifest(manifest({ ...image, config: { ...image.config, urls }, layers }), undefined)
    expect(parsed.blobs.map((b) => b.hex[0])).toEqual(['c', '1', '4'])
    expect(parsed.foreignLayers.map((b) => b.hex[0])).toEqual(['2', '3'])
  })

  it.each([
    ['not JSON', Buffer.from('{nope'), MEDIA_TYPES.ociManifest, /not valid JSON/],
    ['an array', Buffer.from('[]'), MEDIA_TYPES.ociManifest, /JSON object/],
    ['schema 1', manifest({ schemaVersion: 1, name: 'x' }), 'application/vnd.docker.distribution.manifest.v1+prettyjws', /schema 1/],
    ['schemaVersion 3', manifest({ ...image, schemaVersion: 3 }), MEDIA_TYPES.ociManifest, /schemaVersion/],
    ['a mediaType other than its Content-Type', manifest(image), MEDIA_TYPES.dockerManifest, /differs from its Content-Type/],
    ['an unknown media type', manifest({ ...image, mediaType: 'application/x-foo' }), 'application/x-foo', /unsupported manifest media type/],
    ['no config', manifest({ ...image, config: undefined }), MEDIA_TYPES.ociManifest, /config must be a descriptor/],
    ['a bad digest', manifest({ ...image, layers: [{ ...d('1'), digest: 'sha256:xyz' }] }), MEDIA_TYPES.ociManifest, /layers\[0\]\.digest/],
    ['a negative size', manifest({ ...image, layers: [{ ...d('1'), size: -1 }] }), MEDIA_TYPES.ociManifest, /size must be/],
    ['non-string annotations', manifest({ ...image, annotations: { a: 1 } }), MEDIA_TYPES.ociManifest, /annotations/],
    ['an index without manifests', manifest({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex }), MEDIA_TYPES.ociIndex, /manifests array/],
  ])('refuses %s with MANIFEST_INVALID', (_what, bytes, contentType, message) => {
    const result = failure(() => parseManifest(bytes, contentType))
    expect(result).toMatch(/^MANIFEST_INVALID: /)
    expect(result).toMatch(message)
  })
})

describe('content negotiation', () => {
  it('serves any type without Accept or with a wildcard, else only the listed types', () => {
    expect(accepts(undefined, MEDIA_TYPES.ociIndex)).toBe(true)
    expect(accepts('*/*', MEDIA_TYPES.ociIndex)).toBe(true)
    expect(accepts('application/*;q=0.5', MEDIA_TYPES.ociIndex)).toBe(true)
    expect(accepts(`${MEDIA_TYPES.dockerManifest}, ${MEDIA_TYPES.ociManifest}`, MEDIA_TYPES.ociManifest)).toBe(true)
    expect(accepts([MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerList], MEDIA_TYPES.dockerList)).toBe(true)
    expect(accepts(MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociIndex)).toBe(false)
  })

  it('picks linux/amd64 from an index for clients that cannot read indexes', () => {
    const entries = [
      { ...d('a', MEDIA_TYPES.ociManifest), hex: 'a'.repeat(64), platform: { os: 'linux', architecture: 'arm64' } },
      { ...d('b', MEDIA_TYPES.ociManifest), hex: 'b'.repeat(64), platform: { os: 'linux', architecture: 'amd64' } },
    ]
    expect(defaultPlatformEntry(entries)?.hex).toBe('b'.repeat(64))
  })
})
