import type { Readable } from 'node:stream'
import type { ArtifactService, Asset, Folder } from '../artifacts/artifact-service.js'
import type { GeneratedFile, PlainLayout, PlainReadContext } from '../artifacts/plain-layout.js'
import { ANONYMOUS, type Principal } from '../auth/principal.js'
import { TroveError, isTroveError, notFound } from '../errors.js'
import type { Repository, RepositoryService } from '../repositories/repository-service.js'
import type { RemoteEngine } from './remote-engine.js'

export interface ResolveOptions {
  /**
   * Whether the caller may read a member of a virtual repository. Reading through a virtual needs
   * the right to read there too (as in Artifactory): a virtual must not open up what its members
   * keep private. Members the caller may not read are skipped.
   */
  readonly canRead?: (repoKey: string) => Promise<boolean>
  /** Who asks, for the generated files of a format's {@link PlainLayout}. */
  readonly principal?: Principal
}

export type Resolution =
  | { readonly kind: 'file'; readonly repository: Repository; readonly asset: Asset }
  | { readonly kind: 'folder'; readonly repository: Repository; readonly folder: Folder }
  | { readonly kind: 'generated'; readonly repository: Repository; readonly file: GeneratedFile }
  | {
      readonly kind: 'stream'
      readonly repository: Repository
      readonly stream: Readable
      readonly size: number | undefined
      readonly contentType: string
    }

/**
 * Resolves a path of a plain-layout repository (generic, Maven, Helm) whatever its class: a file
 * the format generates, a local repository's own file, a remote's cached or pulled-through file,
 * or the first member of a virtual repository that has it, in the listed order.
 */
export class PlainResolver {
  constructor(
    private readonly repositories: RepositoryService,
    private readonly artifacts: ArtifactService,
    private readonly remote: RemoteEngine,
    /** The rules of each repository's format, when it has some. */
    private readonly layoutOf: (repository: Repository) => PlainLayout | undefined = () => undefined,
  ) {}

  async resolve(repository: Repository, path: string, isFolderRequest: boolean, options: ResolveOptions = {}): Promise<Resolution> {
    return this.resolveIn(repository, path, isFolderRequest, new Set(), options)
  }

  /** Where a deploy to `repository` lands: itself when local, a virtual's default deployment repository. */
  async deploymentTarget(repository: Repository): Promise<Repository> {
    if (repository.rclass === 'local') return repository
    if (repository.rclass === 'virtual') {
      const key = repository.config.defaultDeploymentRepo
      if (!key) {
        throw new TroveError('UNSUPPORTED', `virtual repository '${repository.key}' has no defaultDeploymentRepo; deploy to a local repository`)
      }
      return this.repositories.require(key)
    }
    throw new TroveError('UNSUPPORTED', `'${repository.key}' is a ${repository.rclass} repository; deploy to a local repository`)
  }

  private async resolveIn(
    repository: Repository,
    path: string,
    isFolderRequest: boolean,
    seen: Set<string>,
    options: ResolveOptions,
  ): Promise<Resolution> {
    seen.add(repository.key)
    const layout = this.layoutOf(repository)
    if (layout?.generate && !isFolderRequest && path !== '') {
      const file = await layout.generate(repository, path, this.readContext(options))
      if (file) return { kind: 'generated', repository, file }
    }
    if (repository.rclass === 'virtual') return this.resolveVirtual(repository, path, isFolderRequest, seen, options)
    const item = await this.artifacts.getItem(repository, path)
    if (item?.kind === 'folder') return { kind: 'folder', repository, folder: item.folder }
    if (item?.kind === 'file' && repository.rclass !== 'remote') return { kind: 'file', repository, asset: item.asset }
    if (repository.rclass === 'remote' && !isFolderRequest) {
      const source = await layout?.remoteSource?.(repository, path)
      const result = await this.remote.fetch(repository, path, {
        expectedFromHeaders: declaredChecksums,
        isMetadata: layout?.isMetadata?.(path) ?? false,
        ...(source?.upstreamUrl ? { upstreamUrl: source.upstreamUrl } : {}),
        ...(source?.expected ? { expected: source.expected } : {}),
      })
      return result.kind === 'cached'
        ? { kind: 'file', repository, asset: result.asset }
        : { kind: 'stream', repository, stream: result.stream, size: result.size, contentType: result.contentType }
    }
    throw notFound(`'${repository.key}/${path}' does not exist`)
  }

  private readContext(options: ResolveOptions): PlainReadContext {
    return {
      principal: options.principal ?? ANONYMOUS,
      resolve: (repository, path) => this.resolve(repository, path, false, options),
      canRead: options.canRead ?? (async () => true),
    }
  }

  private async resolveVirtual(
    virtual: Repository,
    path: string,
    isFolderRequest: boolean,
    seen: Set<string>,
    options: ResolveOptions,
  ): Promise<Resolution> {
    // A virtual's own patterns narrow what it resolves (an admin's guard against names that must not come from its remotes).
    if (path !== '' && !virtual.isPathAllowed(path)) {
      throw notFound(`'${path}' is excluded from virtual repository '${virtual.key}' by its include/exclude patterns`)
    }
    let upstreamFailure: TroveError | undefined
    for (const key of virtual.config.repositories ?? []) {
      if (seen.has(key)) continue
      const member = await this.repositories.get(key)
      if (!member) continue
      if (options.canRead && !(await options.canRead(key))) continue
      try {
        return await this.resolveIn(member, path, isFolderRequest, seen, options)
      } catch (err) {
        if (!isTroveError(err)) throw err
        if (err.code === 'UPSTREAM_UNAVAILABLE' || err.code === 'UPSTREAM_TIMEOUT') upstreamFailure ??= err
        else if (err.code !== 'NOT_FOUND') throw err
      }
    }
    // Nothing had it: when a remote member failed, say so rather than claim it does not exist.
    if (upstreamFailure) throw upstreamFailure
    throw notFound(`'${path}' is in no member of virtual repository '${virtual.key}'`)
  }
}

/** What an Artifactory-like upstream declares about a file it serves, verified while streaming. */
function declaredChecksums(headers: Readonly<Record<string, string>>) {
  const pick = (name: string, pattern: RegExp) => {
    const value = headers[name]?.trim().toLowerCase()
    return value && pattern.test(value) ? value : undefined
  }
  return {
    sha256: pick('x-checksum-sha256', /^[a-f0-9]{64}$/),
    sha1: pick('x-checksum-sha1', /^[a-f0-9]{40}$/),
    md5: pick('x-checksum-md5', /^[a-f0-9]{32}$/),
  }
}
