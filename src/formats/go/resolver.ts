import { type ArtifactService, BytesCache, type Asset, type MemberRequest, readLimited, type RemoteEngine, type RemoteResult, type Repository, type RepositoryService, type ResolutionCaller, type ResolutionEngine, type ServedFile, servedFrom, TroveError } from '../../core/index.js'
import { compareGoSemver, isCanonicalVersion, isPrerelease } from './go-semver.js'
import type { GoStore } from './go-store.js'
import { filePath, type ModuleFileExt } from './module-path.js'

/** An upstream `@v/list` or `@latest` larger than this is refused (the longest real lists are a few KiB). */
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
/**
 * How many bytes of cached upstream documents (`@v/list`, `@latest`) are kept read, by their
 * sha256: a warm remote answers a list from the cache's row alone, without opening the blob each
 * time. Keyed by content, so a re-fetched list is never served old.
 */
const MEMO_BYTES = 8 * 1024 * 1024


/** What a module file request is answered with: a stored or upstream file, or a generated `.info`. */
export type ModuleFileAnswer =
  | { readonly kind: 'file'; readonly served: ServedFile }
  | { readonly kind: 'generated'; readonly repository: Repository; readonly body: string; readonly contentType: string }

export interface ModuleRef {
  readonly module: string
  readonly escaped: string
}

/**
 * The GOPROXY answers of any class of repository. Local: from the stored layout (go-store.ts).
 * Remote: the upstream proxy through the core's RemoteEngine — `@v/list` and `@latest` cached as
 * metadata (re-checked after the metadata TTL, served stale when the upstream fails), version
 * files cached for good on first download. Virtual: the members through the ResolutionEngine, with
 * the dependency-confusion guard (a module a local member has is never taken from a remote one):
 * `@v/list` is the union of the members' lists, a version file the first member's that has it.
 */
export class GoResolver {
  private readonly documents = new BytesCache(MEMO_BYTES)

  constructor(
    private readonly repositories: RepositoryService,
    private readonly artifacts: ArtifactService,
    private readonly engine: RemoteEngine,
    private readonly store: GoStore,
    private readonly resolution: ResolutionEngine,
  ) {}

  /** The module's versions, merged over a virtual's members, in Go's order. NOT_FOUND when no (readable) member has any. */
  async list(repository: Repository, ref: ModuleRef, caller: ResolutionCaller = {}): Promise<string[]> {
    const collected = await this.resolution.all(repository, this.request(ref), caller, async ({ repository: member }) => {
      const versions = member.rclass === 'remote' ? await this.remoteList(member, ref) : await this.store.listed(member.key, ref.escaped)
      return versions.length > 0 ? versions : undefined
    })
    if (collected.found.length === 0) throw await collected.missing()
    return [...new Set(collected.found.flatMap((f) => f.value))].sort(compareGoSemver)
  }

  /**
   * `@latest`: the `.info` of the highest release (else the highest prerelease) a member lists;
   * a remote whose upstream lists nothing answers with the upstream's own `@latest`.
   */
  async latest(repository: Repository, ref: ModuleRef, caller: ResolutionCaller = {}): Promise<ModuleFileAnswer> {
    const collected = await this.resolution.all(repository, this.request(ref), caller, async ({ repository: member }) => {
      const versions = member.rclass === 'remote' ? await this.remoteList(member, ref) : await this.store.listed(member.key, ref.escaped)
      if (versions.length > 0) return { version: pickLatest(versions) }
      if (member.rclass !== 'remote') return undefined
      return { version: undefined, upstream: await this.remoteDocument(member, `${ref.escaped}/@latest`) }
    })
    const listed = collected.found.flatMap((f) => (f.value.version ? [f.value.version] : []))
    if (listed.length > 0) return this.file(repository, ref, pickLatest(listed), 'info', caller)
    const upstream = collected.found.find((f) => f.value.upstream !== undefined)
    if (!upstream) throw await collected.missing()
    return { kind: 'generated', repository: upstream.repository, body: upstream.value.upstream!.toString('utf8'), contentType: 'application/json' }
  }

  /** A version's `.info`, `.mod` or `.zip`, from the first member that has it. */
  async file(repository: Repository, ref: ModuleRef, version: string, ext: ModuleFileExt, caller: ResolutionCaller = {}): Promise<ModuleFileAnswer> {
    const path = filePath(ref.escaped, version, ext)
    const found = await this.resolution.first(repository, { ...this.request(ref), path, what: `${ref.module}@${version} (${ext})` }, caller, async ({ repository: member }) => {
      if (member.rclass === 'remote') {
        return { kind: 'file', served: servedFrom(member, path, await this.engine.fetch(member, path, { upstreamUrl: upstreamUrl(member, path), contentType: contentTypeOf(ext) })) } as const
      }
      const asset = await this.artifacts.getAsset(member.key, path)
      if (asset) return { kind: 'file', served: { kind: 'file', repository: member, asset } } as const
      if (ext !== 'info') return undefined
      // Older jf go-publish and other uploaders send no .info: it is made from the zip's upload time.
      const zip = await this.artifacts.getAsset(member.key, filePath(ref.escaped, version, 'zip'))
      return zip ? ({ kind: 'generated', repository: member, body: infoOf(version, zip), contentType: 'application/json' } as const) : undefined
    })
    return found.value
  }

  /** Where uploads land: a local repository itself, a virtual's defaultDeploymentRepo (the core's rule). */
  deploymentTarget(repository: Repository): Promise<Repository> {
    return this.repositories.deploymentTarget(repository, { verb: 'publish', title: 'Go' })
  }


  private async remoteList(repository: Repository, ref: ModuleRef): Promise<string[]> {
    const text = (await this.remoteDocument(repository, `${ref.escaped}/@v/list`)).toString('utf8')
    return [...new Set(text.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((v) => isCanonicalVersion(v)))]
  }

  /** A small mutable upstream document, through the engine (cached as metadata, stale if the upstream fails). */
  private async remoteDocument(repository: Repository, path: string): Promise<Buffer> {
    const result: RemoteResult = await this.engine.fetch(repository, path, { isMetadata: true, upstreamUrl: upstreamUrl(repository, path), contentType: 'text/plain; charset=utf-8' })
    const tooLarge = () => new TroveError('UPSTREAM_UNAVAILABLE', `the upstream of '${repository.key}' sent more than ${MAX_DOCUMENT_BYTES} bytes for ${path}`)
    if (result.kind === 'cached') {
      const memo = this.documents.get(result.asset.sha256)
      if (memo) return memo
      const body = await readLimited(await this.artifacts.open(result.asset), MAX_DOCUMENT_BYTES, tooLarge)
      this.documents.set(result.asset.sha256, body)
      return body
    }
    return readLimited(result.stream, MAX_DOCUMENT_BYTES, tooLarge)
  }

  /** The guard's question for a module: does a local repository hold any file of it? */
  private request(ref: ModuleRef): MemberRequest {
    return { what: `module ${ref.module}`, isLocalName: (local) => this.store.hasModule(local.key, ref.escaped) }
  }
}

/** `<url>/<path>`: module paths are already case-encoded and made of URL-safe characters (`@`, `!` and `+` kept as the protocol writes them). */
function upstreamUrl(repository: Repository, path: string): string {
  return `${(repository.config.url ?? '').replace(/\/+$/, '')}/${path}`
}

/** The highest release, else the highest prerelease (as the go command picks `@latest` from a list). */
export function pickLatest(versions: readonly string[]): string {
  const sorted = [...versions].sort(compareGoSemver)
  const releases = sorted.filter((v) => !isPrerelease(v))
  return (releases.length > 0 ? releases : sorted)[(releases.length > 0 ? releases : sorted).length - 1]!
}

export function infoOf(version: string, zip: Pick<Asset, 'createdAt'>): string {
  return `${JSON.stringify({ Version: version, Time: new Date(zip.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z') })}\n`
}

function contentTypeOf(ext: ModuleFileExt): string {
  return ext === 'zip' ? 'application/zip' : ext === 'info' ? 'application/json' : 'text/plain; charset=utf-8'
}
