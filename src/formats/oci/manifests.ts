import { parseJson } from '../../core/index.js'
import { isForeignLayer } from './image-components.js'
import { OciError } from './errors.js'
import { parseDigest } from './names.js'

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  /** The artifact manifest of the image-spec 1.1 release candidates, still pushed by some tools. */
  ociArtifact: 'application/vnd.oci.artifact.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const

const IMAGE_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociArtifact])
const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList])
const SCHEMA1_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
])
/** Content types that say nothing about which manifest it is: the body's structure decides. */
const GENERIC_TYPES: ReadonlySet<string> = new Set(['', 'application/json', 'application/octet-stream'])

/** Distribution-spec: registries should accept manifests of at least 4 MiB; this is the limit. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

export interface Descriptor {
  readonly mediaType: string
  readonly digest: string
  readonly hex: string
  readonly size: number
  readonly urls?: readonly string[]
  readonly artifactType?: string
  readonly annotations?: Readonly<Record<string, string>>
  readonly platform?: { readonly architecture?: string; readonly os?: string; readonly variant?: string }
}

export interface ParsedManifest {
  readonly mediaType: string
  readonly kind: 'image' | 'index'
  /** Blobs the manifest needs in the same image: config and layers (foreign layers excepted). */
  readonly blobs: readonly Descriptor[]
  /**
   * Foreign layers: a non-distributable or Docker foreign media type with `urls`. The image must
   * hold them too, unless its repository allows foreign layers (`allowForeignLayers`); Trove never
   * fetches their `urls`.
   */
  readonly foreignLayers: readonly Descriptor[]
  /** Manifests an index needs in the same image. */
  readonly manifests: readonly Descriptor[]
  readonly subject?: Descriptor
  /** What the referrers API lists: `artifactType`, else an image manifest's config media type. */
  readonly artifactType?: string
  readonly annotations?: Readonly<Record<string, string>>
}

export function isIndexType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType)
}

/**
 * Parses and validates a pushed manifest: JSON, schema version 2, one of the media types Trove
 * serves (OCI image manifest and index, Docker schema 2 manifest and list, OCI artifact manifest),
 * consistent with `Content-Type`, and well-formed descriptors. Throws `MANIFEST_INVALID`.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let body: unknown
  try {
    body = parseJson(bytes.toString('utf8'), 'the manifest')
  } catch (err) {
    throw invalid((err as Error).message)
  }
  if (!isObject(body)) throw invalid('the manifest must be a JSON object')
  const declared = bareType(contentType)
  if (SCHEMA1_TYPES.has(declared) || body.schemaVersion === 1) {
    throw invalid('Docker schema 1 manifests are not supported: push a schema 2 or OCI manifest')
  }
  if (body.schemaVersion !== 2) throw invalid(`schemaVersion must be 2, not ${JSON.stringify(body.schemaVersion)}`)
  const field = body.mediaType
  if (field !== undefined && typeof field !== 'string') throw invalid('mediaType must be a string')
  if (field !== undefined && !GENERIC_TYPES.has(declared) && field.toLowerCase() !== declared) {
    throw invalid(`the manifest's mediaType '${field}' differs from its Content-Type '${declared}'`)
  }
  const mediaType = field ?? (GENERIC_TYPES.has(declared) ? inferType(body) : declared)
  if (!IMAGE_TYPES.has(mediaType) && !INDEX_TYPES.has(mediaType)) {
    throw invalid(`unsupported manifest media type '${mediaType}'`, { mediaType })
  }
  const artifactType = optionalString(body, 'artifactType')
  const annotations = parseAnnotations(body.annotations, 'annotations')
  const subject = body.subject === undefined ? undefined : parseDescriptor(body.subject, 'subject')

  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(body.manifests)) throw invalid('an index needs a manifests array')
    const manifests = body.manifests.map((d, i) => parseDescriptor(d, `manifests[${i}]`))
    return {
      mediaType,
      kind: 'index',
      blobs: [],
      foreignLayers: [],
      manifests,
      ...(subject ? { subject } : {}),
      ...(artifactType ? { artifactType } : {}),
      ...(annotations ? { annotations } : {}),
    }
  }
  if (mediaType === MEDIA_TYPES.ociArtifact) {
    if (!artifactType) throw invalid('an artifact manifest needs an artifactType')
    const blobs = body.blobs === undefined ? [] : arrayOf(body.blobs, 'blobs').map((d, i) => parseDescriptor(d, `blobs[${i}]`))
    return {
      mediaType,
      kind: 'image',
      ...splitForeign([], blobs),
      manifests: [],
      ...(subject ? { subject } : {}),
      artifactType,
      ...(annotations ? { annotations } : {}),
    }
  }
  const config = parseDescriptor(body.config, 'config')
  const layers = body.layers === undefined ? [] : arrayOf(body.layers, 'layers').map((d, i) => parseDescriptor(d, `layers[${i}]`))
  const type = artifactType || config.mediaType
  return {
    mediaType,
    kind: 'image',
    ...splitForeign([config], layers),
    manifests: [],
    ...(subject ? { subject } : {}),
    ...(type ? { artifactType: type } : {}),
    ...(annotations ? { annotations } : {}),
  }
}

/**
 * Content negotiation (RFC 9110 §12.5.1, as registries practise it): no `Accept`, or one with a
 * wildcard, takes any manifest; otherwise the media type must be listed.
 */
export function accepts(accept: string | string[] | undefined, mediaType: string): boolean {
  const values = (Array.isArray(accept) ? accept.join(',') : (accept ?? '')).split(',').map((v) => bareType(v))
  const listed = values.filter((v) => v !== '')
  if (listed.length === 0) return true
  const [type] = mediaType.split('/')
  return listed.some((v) => v === mediaType || v === '*/*' || v === `${type}/*`)
}

/** The index entry a client that cannot read indexes gets instead (what distribution does): linux/amd64. */
export function defaultPlatformEntry(manifests: readonly Descriptor[]): Descriptor | undefined {
  return manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64' && !m.platform.variant)
}

/** The child manifests of an index, for serving one of them: tolerant, since the index was validated on push. */
export function indexEntries(bytes: Buffer): Descriptor[] {
  try {
    const body = JSON.parse(bytes.toString('utf8')) as { manifests?: unknown }
    return Array.isArray(body.manifests) ? body.manifests.map((d, i) => parseDescriptor(d, `manifests[${i}]`)) : []
  } catch {
    return []
  }
}

function inferType(body: Record<string, unknown>): string {
  if (Array.isArray(body.manifests)) return MEDIA_TYPES.ociIndex
  if (body.config !== undefined) return MEDIA_TYPES.ociManifest
  throw invalid('the manifest has no mediaType and is neither an image manifest (config) nor an index (manifests)')
}

function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`)
  const mediaType = value.mediaType
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${where}.mediaType must be a non-empty string`)
  const digest = value.digest
  if (typeof digest !== 'string') throw invalid(`${where}.digest must be a string`)
  let hex: string
  try {
    hex = parseDigest(digest)
  } catch (err) {
    if (err instanceof OciError) throw invalid(`${where}.digest: ${err.message}`)
    throw err
  }
  const size = value.size
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a non-negative integer`)
  const urls = value.urls === undefined ? undefined : arrayOf(value.urls, `${where}.urls`).map((u) => (typeof u === 'string' ? u : badUrl(where)))
  const artifactType = optionalString(value, 'artifactType', where)
  const annotations = parseAnnotations(value.annotations, `${where}.annotations`)
  const platform = isObject(value.platform)
    ? {
        ...(typeof value.platform.architecture === 'string' ? { architecture: value.platform.architecture } : {}),
        ...(typeof value.platform.os === 'string' ? { os: value.platform.os } : {}),
        ...(typeof value.platform.variant === 'string' ? { variant: value.platform.variant } : {}),
      }
    : undefined
  return {
    mediaType,
    digest,
    hex,
    size,
    ...(urls && urls.length > 0 ? { urls } : {}),
    ...(artifactType ? { artifactType } : {}),
    ...(annotations ? { annotations } : {}),
    ...(platform ? { platform } : {}),
  }
}

/**
 * The blobs an image needs (its config, its layers) apart from its foreign layers. Only a layer
 * may be foreign, and only with a non-distributable or foreign media type *and* `urls` (image-spec
 * "Descriptor", `urls`; distribution's `validation.manifests.urls`): `urls` on any other
 * descriptor is no licence to name a blob the repository does not hold.
 */
function splitForeign(config: readonly Descriptor[], layers: readonly Descriptor[]): Pick<ParsedManifest, 'blobs' | 'foreignLayers'> {
  return { blobs: [...config, ...layers.filter((d) => !isForeignLayer(d))], foreignLayers: layers.filter((d) => isForeignLayer(d)) }
}

function parseAnnotations(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) throw invalid(`${where} must map strings to strings`)
  return Object.keys(value).length > 0 ? (value as Record<string, string>) : undefined
}

function optionalString(body: Record<string, unknown>, field: string, where?: string): string | undefined {
  const value = body[field]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw invalid(`${where ? `${where}.` : ''}${field} must be a string`)
  return value || undefined
}

function arrayOf(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be an array`)
  return value
}

function badUrl(where: string): never {
  throw invalid(`${where}.urls must be strings`)
}

/** `application/x; charset=…` → `application/x`: parameters are ignored, as the specification says. */
export function bareType(value: string | undefined): string {
  return (value ?? '').split(';')[0]!.trim().toLowerCase()
}

function invalid(message: string, detail?: unknown): OciError {
  return new OciError('MANIFEST_INVALID', message, detail === undefined ? {} : { detail })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
