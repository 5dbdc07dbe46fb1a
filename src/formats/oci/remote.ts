import type { FastifyBaseLogger } from 'fastify'
import { finished } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { type Asset, discard, type FormatContext, isTroveError, type MemberRequest, readSmall, REMOTE_DEFAULTS, RemoteEngine, type Repository, TroveError } from '../../core/index.js'
import { OciError } from './errors.js'
import { digestFolder, MANIFEST_FILE, tagFolder, uploadedBlobPath } from './layout.js'
import { MEDIA_TYPES } from './manifests.js'
import { digestOf, type Reference } from './names.js'
import { byteOrder, type LocalRegistry, type StoredManifest } from './registry.js'

/** What Trove asks an upstream registry for: every manifest type it can store. */
const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociArtifact].join(', ')

/** Where a remote caches an image's upstream tag list: outside the image layout (`.docker` is no valid image name). */
export function tagListPath(image: string): string {
  return `.docker/${image}/tags.list.json`
}

/** The largest upstream tag list read (about 100,000 tags). */
const MAX_TAG_LIST_BYTES = 8 * 1024 * 1024
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/

/** A manifest found in some repository (a virtual answers with its member's). */
export interface FoundManifest {
  readonly repoKey: string
  readonly manifest: StoredManifest
}

export type FoundBlob =
  | { readonly kind: 'stored'; readonly repoKey: string; readonly size: number }
  | { readonly kind: 'stream'; readonly repoKey: string; readonly stream: Readable; readonly size: number | undefined }

export interface DockerResolveOptions {
  /** Whether the caller may read the image in a member of a virtual repository (members it may not read are skipped). */
  readonly canRead: (repoKey: string) => Promise<boolean>
}

/**
 * Reads of docker repositories of every class. A local repository answers from its layout; a
 * remote one pulls through the core's remote engine into the same layout (blobs in the image's
 * `_uploads` folder, manifests by digest in their digest folder, tags in their tag folder); a
 * virtual one asks its members in order.
 *
 * Remote settings of the docker format (beside the core's): `dockerLibraryPrefix` (default false)
 * sends a single-segment image name upstream as `library/<name>` (what Docker Hub wants). Virtual
 * settings: `dependencyConfusionGuard` (default true): when an image exists in a local member,
 * remote members are not consulted for it.
 */
export class DockerResolver {
  constructor(
    private readonly services: FormatContext,
    private readonly registry: LocalRegistry,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** The manifest a tag or digest names: in the repository, or in the first member of a virtual that has it. */
  async manifest(repository: Repository, image: string, reference: Reference, options: DockerResolveOptions): Promise<FoundManifest | undefined> {
    const found = await notFoundAsUndefined(
      this.services.resolution.first(repository, this.request(image), options, async ({ repository: member }) => {
        const manifest = member.rclass === 'remote' ? await this.remoteManifest(member, image, reference) : await this.registry.resolve(member.key, image, reference)
        return manifest && { repoKey: member.key, manifest }
      }),
    )
    return found?.value
  }

  /** A blob the image holds: in the repository, or in the first member of a virtual that has it (a remote pulls it through). */
  async blob(repository: Repository, image: string, hex: string, options: DockerResolveOptions): Promise<FoundBlob | undefined> {
    const found = await notFoundAsUndefined(
      this.services.resolution.first(repository, this.request(image), options, async ({ repository: member }): Promise<FoundBlob | undefined> => {
        const held = await this.registry.blob(member.key, image, hex)
        if (held) return { kind: 'stored', repoKey: member.key, size: held.size }
        if (member.rclass !== 'remote') return undefined
        const path = uploadedBlobPath(image, hex)
        const result = await notFoundAsUndefined(
          this.services.remote.fetch(member, path, { upstreamUrl: this.upstreamUrl(member, image, 'blobs', digestOf(hex)), expected: { sha256: hex } }),
        )
        if (!result) return undefined
        if (result.kind === 'cached') return { kind: 'stored', repoKey: member.key, size: result.asset.size }
        return { kind: 'stream', repoKey: member.key, stream: result.stream, size: result.size }
      }),
    )
    return found?.value
  }

  /**
   * Tags of an image: a local repository's, a remote's upstream list (see {@link remoteTags}), a
   * virtual's members' merged. `undefined` when no repository knows the image.
   */
  async tags(repository: Repository, image: string, options: DockerResolveOptions): Promise<string[] | undefined> {
    const collected = await this.services.resolution.all(repository, this.request(image), options, ({ repository: member }) =>
      member.rclass === 'remote' ? this.remoteTags(member, image) : this.registry.tags(member.key, image),
    )
    if (collected.found.length === 0) return undefined
    return [...new Set(collected.found.flatMap((f) => f.value))].sort(byteOrder)
  }

  /** The local and remote repositories whose images a repository lists (a virtual's readable members, recursively). */
  async listedKeys(repository: Repository, options: DockerResolveOptions): Promise<string[]> {
    const keys: string[] = []
    for await (const { repository: member } of this.services.resolution.members(repository, {}, options)) keys.push(member.key)
    return keys
  }

  // ---- remote ----

  private async remoteManifest(repository: Repository, image: string, reference: Reference): Promise<StoredManifest | undefined> {
    if (reference.kind === 'digest') {
      const held = await this.registry.resolve(repository.key, image, reference)
      if (held) return held
      const path = `${digestFolder(image, reference.hex)}/${MANIFEST_FILE}`
      const result = await notFoundAsUndefined(
        this.services.remote.fetch(repository, path, {
          upstreamUrl: this.upstreamUrl(repository, image, 'manifests', digestOf(reference.hex)),
          headers: { accept: MANIFEST_ACCEPT },
          expected: { sha256: reference.hex },
          contentType: MEDIA_TYPES.ociManifest,
        }),
      )
      if (!result) return undefined
      if (result.kind === 'streaming') {
        if (repository.config.storeArtifactsLocally === false) {
          discard(result.stream)
          throw new OciError('UNSUPPORTED', `docker remote '${repository.key}' must store artifacts locally (storeArtifactsLocally)`)
        }
        await drain(result.stream)
      }
      return this.registry.resolve(repository.key, image, reference)
    }

    const path = `${tagFolder(image, reference.tag)}/${MANIFEST_FILE}`
    const upstreamUrl = this.upstreamUrl(repository, image, 'manifests', reference.tag)
    const cached = await this.services.artifacts.getAsset(repository.key, path)
    if (cached && !isFresh(repository, cached) && (await this.services.remote.isOnline(repository))) {
      // Past its cache period: a HEAD tells whether the tag still names the same manifest.
      const unchanged = await this.isUnchanged(repository, upstreamUrl, cached)
      if (unchanged !== false) {
        if (unchanged === true) await this.services.artifacts.markFetched(repository.key, path, Date.now())
        return toManifest(cached)
      }
    }
    const result = await notFoundAsUndefined(
      this.services.remote.fetch(repository, path, {
        isMetadata: true,
        upstreamUrl,
        headers: { accept: MANIFEST_ACCEPT },
        contentType: MEDIA_TYPES.ociManifest,
        expectedFromHeaders: (headers) => {
          const digest = headers['docker-content-digest']?.trim().toLowerCase()
          return digest && /^sha256:[a-f0-9]{64}$/.test(digest) ? { sha256: digest.slice(7) } : {}
        },
      }),
    )
    if (!result) return undefined
    if (result.kind === 'streaming') {
      discard(result.stream)
      throw new OciError('UNSUPPORTED', `docker remote '${repository.key}' must store artifacts locally (storeArtifactsLocally)`)
    }
    return toManifest(result.asset)
  }

  /**
   * A remote's tags of an image: the upstream's `tags/list`, fetched through the remote engine as
   * metadata (cached under `retrievalCachePeriodSecs`, served stale when the upstream fails), so
   * that a client can see tags it never pulled. When the upstream fails and no list is cached, the
   * tags cached in the layout (those a pull can be served from) answer instead. Only the first page
   * of an upstream that paginates its list (a `Link` header) is read.
   */
  private async remoteTags(repository: Repository, image: string): Promise<string[] | undefined> {
    let upstreamTags: string[] | undefined
    try {
      const result = await this.services.remote.fetch(repository, tagListPath(image), {
        isMetadata: true,
        upstreamUrl: this.upstreamUrl(repository, image, 'tags', 'list'),
        headers: { accept: 'application/json' },
        contentType: 'application/json',
      })
      const body = result.kind === 'cached' ? await this.services.artifacts.open(result.asset) : result.stream
      upstreamTags = parseTagList(await readSmall(body, MAX_TAG_LIST_BYTES))
      if (upstreamTags === undefined) {
        throw new TroveError('UPSTREAM_UNAVAILABLE', `the upstream of '${repository.key}' sent a tag list for '${image}' that is not {"name","tags"} JSON`)
      }
    } catch (err) {
      if (!isTroveError(err)) throw err
      const cached = await this.registry.tags(repository.key, image)
      // Not found upstream: what is cached is all there is (and can still be pulled from the cache).
      if (err.code === 'NOT_FOUND') return cached
      if (err.code !== 'UPSTREAM_UNAVAILABLE' && err.code !== 'UPSTREAM_TIMEOUT') throw err
      if (cached === undefined) throw err
      this.logger.warn({ repo: repository.key, image, err: err.message }, 'listing the cached tags of an image: the upstream tag list failed')
      return cached
    }
    return upstreamTags.sort(byteOrder)
  }

  /**
   * Asks the upstream with a HEAD whether a cached tag still names the same manifest: `true` when
   * unchanged, `false` when changed or gone (download it), `'failed'` when the upstream failed
   * (the cached one is served stale).
   */
  private async isUnchanged(repository: Repository, url: string, cached: Asset): Promise<boolean | 'failed'> {
    try {
      const response = await this.services.upstream.request(RemoteEngine.upstreamOf(repository), { url, method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } })
      discard(response.body)
      if (response.status === 404 || response.status === 410) return false
      if (response.status < 200 || response.status >= 300) throw new Error(`upstream answered ${response.status}`)
      const digest = response.headers['docker-content-digest']?.trim().toLowerCase()
      return digest === digestOf(cached.sha256)
    } catch (err) {
      this.services.metrics.staleServed.inc({ repo: repository.key })
      this.logger.warn({ repo: repository.key, path: cached.path, err: (err as Error).message }, 'serving a cached tag past its cache period: the upstream failed')
      return 'failed'
    }
  }

  private upstreamUrl(repository: Repository, image: string, kind: 'manifests' | 'blobs' | 'tags', reference: string): string {
    const base = (repository.config.url ?? '').replace(/\/+$/, '')
    const name = repository.config.dockerLibraryPrefix === true && !image.includes('/') ? `library/${image}` : image
    return `${base}/v2/${name}/${kind}/${reference}`
  }

  /**
   * A request for `image` through the core's resolution engine: with a virtual's
   * `dependencyConfusionGuard` on (the default), remote members are not asked for an image that a
   * local member holds.
   */
  private request(image: string): MemberRequest {
    return { what: `image '${image}'`, isLocalName: async (local) => (await this.registry.tags(local.key, image)) !== undefined }
  }
}

function isFresh(repository: Repository, asset: Asset): boolean {
  const period = repository.config.retrievalCachePeriodSecs ?? REMOTE_DEFAULTS.retrievalCachePeriodSecs
  return (asset.fetchedAt ?? asset.modifiedAt) + period * 1000 > Date.now()
}

/** The tags of a distribution-spec tag list (`{"name": …, "tags": [...] | null}`); `undefined` when it is not one. */
function parseTagList(text: string): string[] | undefined {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return undefined
  const tags = (document as { tags?: unknown }).tags
  if (tags === null || tags === undefined) return []
  if (!Array.isArray(tags)) return undefined
  // A tag Trove could not serve (malformed, or a name its layout reserves) is not listed.
  return [...new Set(tags.filter((t): t is string => typeof t === 'string' && TAG.test(t)))]
}

function toManifest(asset: Asset): StoredManifest {
  return { hex: asset.sha256, size: asset.size, mediaType: asset.contentType, path: asset.path }
}

async function notFoundAsUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise
  } catch (err) {
    if (isTroveError(err) && err.code === 'NOT_FOUND') return undefined
    throw err
  }
}

async function drain(stream: Readable): Promise<void> {
  stream.resume()
  await finished(stream)
}
