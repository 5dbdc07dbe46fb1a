import type { Readable } from 'node:stream'
import type { Principal } from '../auth/principal.js'
import type { Resolution } from '../remote/plain-resolver.js'
import type { Collected, MemberRead, MemberRequest } from '../remote/resolution.js'
import type { Repository } from '../repositories/repository-service.js'
import type { ExpectedChecksums } from '../digest.js'
import type { Asset, DeployOptions } from './artifact-service.js'

/**
 * The rules of a format whose files live on the core's plain layout (`/artifactory/{repo}/{path}`),
 * such as Maven and Helm. The core streams, stores, resolves (local, remote, virtual) and serves;
 * the format adds meaning where it has some: files it generates instead of storing (checksums,
 * `maven-metadata.xml`, `index.yaml`), checks on what is deployed, and work after a change.
 * Generic repositories have no rules. Every method is optional: without it, the core's default.
 */
export interface PlainLayout {
  /**
   * Whether a remote repository must treat `path` as metadata: re-checked upstream after the
   * metadata TTL (`maven-metadata.xml`) rather than cached for good.
   */
  isMetadata?(path: string): boolean

  /**
   * Answers a `GET`/`HEAD` of a file the format generates rather than stores, before the core
   * looks for a stored file; `undefined` lets the core resolve `path` as usual. Called for every
   * class of repository: a virtual's generated file is typically merged from its members with
   * {@link PlainReadContext.resolve}.
   */
  generate?(repository: Repository, path: string, context: PlainReadContext): Promise<GeneratedFile | undefined>

  /**
   * Handles a deploy (`PUT` of a file) to a local repository (a virtual's deploys arrive here with
   * its default deployment repository). `undefined` lets the core store the body as a plain file.
   * A format that checks content streams the body to the blob store (`BlobStore.put`), reads the
   * stored blob back, and only then records it (`ArtifactService.deployBlob`), so nothing is
   * visible before it is stored and checked; a refused blob is left to garbage collection.
   */
  deploy?(deploy: PlainDeploy): Promise<PlainDeployOutcome | undefined>

  /** Called after a deploy or a delete under `path` has committed (e.g. to queue a reindex). */
  changed?(repository: Repository, path: string, change: 'deployed' | 'deleted'): Promise<void>

  /**
   * For a remote repository: where to fetch `path` upstream when it is not `<url>/<path>` (a Helm
   * chart whose URL the upstream `index.yaml` names), and what it must hash to. `undefined`: the
   * default URL, no expected checksums. Called before the engine looks at its cache, so it should
   * be cheap for a path already cached.
   */
  remoteSource?(repository: Repository, path: string): Promise<RemoteSource | undefined>

  /**
   * For the dependency-confusion guard of virtual repositories: whether the local repository
   * `local` holds the package that `path` belongs to (a Helm chart's name). When one does, no
   * remote member is asked for `path` (see `ResolutionEngine`). Without it, paths name no package
   * (generic, Maven) and the guard does not apply to them.
   */
  isLocalName?(local: Repository, path: string): Promise<boolean>
}

/** See {@link PlainLayout.remoteSource}. */
export interface RemoteSource {
  readonly upstreamUrl?: string | undefined
  readonly expected?: ExpectedChecksums | undefined
}

export interface PlainReadContext {
  readonly principal: Principal
  /** Resolves a path in a repository as a plain `GET` would, honouring the caller's read rights on virtual members. */
  resolve(repository: Repository, path: string): Promise<Resolution>
  /** Whether the caller may read a repository (members of a virtual the caller may not read are skipped). */
  canRead(repoKey: string): Promise<boolean>
  /**
   * Reads every member of a virtual repository for a document the format merges (an index,
   * `maven-metadata.xml`), under the engine's rules: member order, each repository once, the
   * members the caller may read, the guard, the fall-through of failures (`ResolutionEngine.all`).
   */
  members<T>(virtual: Repository, request: MemberRequest, read: MemberRead<T>): Promise<Collected<T>>
}

/** A small generated document (metadata, checksums, an index): built in memory, bounded by its nature. */
export interface GeneratedFile {
  readonly body: string | Buffer
  readonly contentType: string
  /** When what it was generated from last changed, for `Last-Modified`; now when unknown. */
  readonly modifiedAt?: number
}

export interface PlainDeploy {
  readonly repository: Repository
  readonly path: string
  readonly body: Readable
  readonly options: DeployOptions
  readonly principal: Principal
}

export type PlainDeployOutcome =
  /** Stored and recorded: answered like any deploy. */
  | { readonly kind: 'stored'; readonly asset: Asset }
  /** Accepted without storing anything (e.g. a checksum file that matches the generated one): 201, no body. */
  | { readonly kind: 'accepted' }
