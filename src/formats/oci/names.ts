import { assertRepositoryKey, TroveError } from '../../core/index.js'
import { OciError } from './errors.js'

/**
 * An image in a Trove repository. Under `/v2/` the registry name is `<repo-key>/<image>` (the
 * repository path method); under `/artifactory/api/docker/<repo-key>/v2/` it is `<image>` alone.
 */
export interface ImageName {
  readonly repoKey: string
  /** The image path inside the repository, e.g. `team/app`. */
  readonly image: string
  /** The registry name as the client writes it in this URL space (what `tags/list` echoes). */
  readonly name: string
}

export type Reference = { readonly kind: 'tag'; readonly tag: string } | { readonly kind: 'digest'; readonly hex: string }

/**
 * A manifest reference that is neither a tag nor a digest, with the error a push is refused with.
 * No manifest has such a reference, so a read or delete answers `MANIFEST_UNKNOWN` instead.
 */
export interface InvalidReference {
  readonly kind: 'invalid'
  readonly error: OciError
}

export type Endpoint =
  | { readonly kind: 'base' }
  | { readonly kind: 'catalog' }
  | { readonly kind: 'tags'; readonly name: ImageName }
  | { readonly kind: 'manifest'; readonly name: ImageName; readonly reference: Reference | InvalidReference }
  | { readonly kind: 'blob'; readonly name: ImageName; readonly hex: string }
  | { readonly kind: 'uploads'; readonly name: ImageName }
  | { readonly kind: 'upload'; readonly name: ImageName; readonly uuid: string }
  | { readonly kind: 'referrers'; readonly name: ImageName; readonly hex: string }

/** Where a request's registry API lives: `/v2` or `/artifactory/api/docker/<repo>/v2`, and its repository if fixed. */
export interface RegistryBase {
  readonly prefix: string
  readonly repoKey?: string | undefined
}

export interface ParsedRegistryUrl extends RegistryBase {
  readonly endpoint: Endpoint
}

/** A path component of a registry name (distribution-spec v1.1, "Pulling manifests"). */
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/
/** Distribution-spec: the whole name, slashes included, is shorter than 256 characters. */
const MAX_NAME_LENGTH = 255
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/
const SHA256 = /^sha256:([a-f0-9]{64})$/
/** The digest grammar of the image specification: `algorithm ":" encoded`. */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const DOCKER_API_PREFIX = '/artifactory/api/docker/'

/**
 * Parses the path of a registry request (the raw URL, still percent-encoded). Returns `undefined`
 * for a path outside the registry's URL space; throws `NAME_INVALID` or `DIGEST_INVALID` for
 * malformed names and blob digests. A malformed manifest reference is returned as an
 * {@link InvalidReference}, for the handler to answer by method. Routes end in fixed suffixes
 * (`/manifests/<ref>`, `/blobs/<digest>`, …), so the name is everything before the last one.
 */
export function parseRegistryUrl(rawUrl: string): ParsedRegistryUrl | undefined {
  const query = rawUrl.indexOf('?')
  const pathname = query === -1 ? rawUrl : rawUrl.slice(0, query)
  const base = registryBaseOf(pathname)
  if (!base) return undefined
  const rest = pathname.slice(base.prefix.length)
  if (rest === '' || rest === '/') return { ...base, endpoint: { kind: 'base' } }
  const path = rest.slice(1)
  if (path === '_catalog') return { ...base, endpoint: { kind: 'catalog' } }
  let match: RegExpExecArray | null
  if ((match = /^(.+)\/tags\/list$/.exec(path))) {
    return { ...base, endpoint: { kind: 'tags', name: parseName(match[1]!, base.repoKey) } }
  }
  if ((match = /^(.+)\/manifests\/([^/]+)$/.exec(path))) {
    return { ...base, endpoint: { kind: 'manifest', name: parseName(match[1]!, base.repoKey), reference: manifestReference(decode(match[2]!)) } }
  }
  if ((match = /^(.+)\/blobs\/uploads\/?$/.exec(path))) {
    return { ...base, endpoint: { kind: 'uploads', name: parseName(match[1]!, base.repoKey) } }
  }
  if ((match = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(path))) {
    const uuid = decode(match[2]!)
    if (!UUID.test(uuid)) throw new OciError('BLOB_UPLOAD_UNKNOWN', `'${uuid}' is not an upload session id`)
    return { ...base, endpoint: { kind: 'upload', name: parseName(match[1]!, base.repoKey), uuid } }
  }
  if ((match = /^(.+)\/blobs\/([^/]+)$/.exec(path))) {
    return { ...base, endpoint: { kind: 'blob', name: parseName(match[1]!, base.repoKey), hex: parseDigest(decode(match[2]!)) } }
  }
  if ((match = /^(.+)\/referrers\/([^/]+)$/.exec(path))) {
    return { ...base, endpoint: { kind: 'referrers', name: parseName(match[1]!, base.repoKey), hex: parseDigest(decode(match[2]!)) } }
  }
  throw new OciError('UNSUPPORTED', `no registry endpoint at ${pathname}`, { status: 404 })
}

/** The registry base of a path: `/v2` or `/artifactory/api/docker/<repo>/v2`, else `undefined`. */
export function registryBaseOf(pathname: string): RegistryBase | undefined {
  if (pathname === '/v2' || pathname.startsWith('/v2/')) return { prefix: '/v2' }
  if (!pathname.startsWith(DOCKER_API_PREFIX)) return undefined
  const slash = pathname.indexOf('/', DOCKER_API_PREFIX.length)
  if (slash === -1) return undefined
  const repoKey = decode(pathname.slice(DOCKER_API_PREFIX.length, slash))
  const prefix = pathname.slice(0, slash) + '/v2'
  if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) return undefined
  assertKey(repoKey)
  return { prefix, repoKey }
}

/**
 * A registry name: `<repo>/<image>` (or `<image>` when the repository is fixed by the URL), each
 * component as the specification allows, 255 characters at most.
 */
export function parseName(raw: string, fixedRepoKey?: string): ImageName {
  const name = decode(raw)
  if (name.length > MAX_NAME_LENGTH) {
    throw new OciError('NAME_INVALID', `the repository name is longer than ${MAX_NAME_LENGTH} characters`, { detail: { name } })
  }
  const components = name.split('/')
  let repoKey = fixedRepoKey
  if (repoKey === undefined) {
    repoKey = components.shift()!
    assertKey(repoKey)
    if (components.length === 0) {
      throw new OciError('NAME_INVALID', `'${name}' names a repository but no image: use <repository>/<image>`, { detail: { name } })
    }
  }
  for (const component of components) {
    if (component.startsWith('sha256__')) {
      // The repository layout keeps untagged manifests in `<image>/sha256__<hex>` folders.
      throw new OciError('NAME_INVALID', `invalid image name '${name}': components starting with 'sha256__' are reserved`, { detail: { name } })
    }
    if (!NAME_COMPONENT.test(component)) {
      throw new OciError('NAME_INVALID', `invalid image name '${name}': components are lowercase letters and digits, separated by '.', '_', '__' or '-'`, {
        detail: { name },
      })
    }
  }
  return { repoKey, image: components.join('/'), name }
}

export function parseReference(text: string): Reference {
  if (text.includes(':')) return { kind: 'digest', hex: parseDigest(text) }
  if (!TAG.test(text)) throw new OciError('MANIFEST_INVALID', `invalid tag '${text}': up to 128 characters from [A-Za-z0-9_.-], not starting with '.' or '-'`)
  return { kind: 'tag', tag: text }
}

function manifestReference(text: string): Reference | InvalidReference {
  try {
    return parseReference(text)
  } catch (err) {
    if (err instanceof OciError) return { kind: 'invalid', error: err }
    throw err
  }
}

/** The hex of a `sha256:` digest. Other algorithms are valid digests that Trove does not store. */
export function parseDigest(text: string): string {
  const match = SHA256.exec(text)
  if (match) return match[1]!
  if (DIGEST.test(text)) throw new OciError('DIGEST_INVALID', `unsupported digest algorithm in '${text}': Trove stores sha256 digests`, { detail: { digest: text } })
  throw new OciError('DIGEST_INVALID', `'${text}' is not a digest (expected sha256:<64 hex digits>)`, { detail: { digest: text } })
}

export function digestOf(hex: string): string {
  return `sha256:${hex}`
}

function assertKey(repoKey: string): void {
  try {
    assertRepositoryKey(repoKey)
  } catch (err) {
    if (err instanceof TroveError) throw new OciError('NAME_INVALID', err.message, { detail: { repository: repoKey } })
    throw err
  }
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw new OciError('NAME_INVALID', `'${text}' is not valid percent-encoding`)
  }
}
