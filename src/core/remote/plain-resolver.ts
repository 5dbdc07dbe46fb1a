import type { ArtifactService, Folder } from '../artifacts/artifact-service.js'
import type { GeneratedFile, PlainLayout, PlainReadContext } from '../artifacts/plain-layout.js'
import { ANONYMOUS, type Principal } from '../auth/principal.js'
import { TroveError, notFound } from '../errors.js'
import type { Repository, RepositoryService } from '../repositories/repository-service.js'
import { servedFrom, type ServedFile } from './downloads.js'
import type { RemoteEngine } from './remote-engine.js'
import { ResolutionEngine, type Reached } from './resolution.js'

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
  | ServedFile
  | { readonly kind: 'folder'; readonly repository: Repository; readonly folder: Folder }
  | { readonly kind: 'generated'; readonly repository: Repository; readonly file: GeneratedFile }

/**
 * Resolves a path of a plain-layout repository (generic, Maven, Helm) whatever its class: a file
 * the format generates, a local repository's own file, a remote's cached or pulled-through file,
 * or, through the {@link ResolutionEngine}, the first member of a virtual repository that has it.
 */
export class PlainResolver {
  constructor(
    private readonly repositories: RepositoryService,
    private readonly artifacts: ArtifactService,
    private readonly remote: RemoteEngine,
    /** The rules of each repository's format, when it has some. */
    private readonly layoutOf: (repository: Repository) => PlainLayout | undefined = () => undefined,
    private readonly resolution: ResolutionEngine = new ResolutionEngine(repositories),
  ) {}

  async resolve(repository: Repository, path: string, isFolderRequest: boolean, options: ResolveOptions = {}): Promise<Resolution> {
    // A virtual's generated files (an index, merged metadata) are the format's merge of its members'.
    if (repository.rclass === 'virtual') {
      const generated = await this.generated(repository, path, isFolderRequest, options)
      if (generated) return generated
    }
    const layout = this.layoutOf(repository)
    const found = await this.resolution.first(
      repository,
      {
        path,
        what: `'${path}'`,
        ...(layout?.isLocalName && path !== '' ? { isLocalName: (local: Repository) => layout.isLocalName!(local, path) } : {}),
      },
      options,
      (member) => this.readMember(member, path, isFolderRequest, options),
    )
    return found.value
  }

  /** Where writes land: a local repository itself, a virtual's defaultDeploymentRepo (the core's rule). */
  deploymentTarget(repository: Repository): Promise<Repository> {
    return this.repositories.deploymentTarget(repository, { verb: 'deploy' })
  }

  /** A file the repository's format generates at `path`, if it generates one there. */
  private async generated(repository: Repository, path: string, isFolderRequest: boolean, options: ResolveOptions): Promise<Resolution | undefined> {
    const layout = this.layoutOf(repository)
    if (!layout?.generate || isFolderRequest || path === '') return undefined
    const file = await layout.generate(repository, path, this.readContext(options))
    return file ? { kind: 'generated', repository, file } : undefined
  }

  /** `path` in one local or remote repository: generated, stored, or (remote) cached or pulled through. */
  private async readMember({ repository }: Reached, path: string, isFolderRequest: boolean, options: ResolveOptions): Promise<Resolution> {
    const generated = await this.generated(repository, path, isFolderRequest, options)
    if (generated) return generated
    const item = await this.artifacts.getItem(repository, path)
    if (item?.kind === 'folder') return { kind: 'folder', repository, folder: item.folder }
    if (item?.kind === 'file' && repository.rclass !== 'remote') return { kind: 'file', repository, asset: item.asset }
    if (repository.rclass === 'remote' && !isFolderRequest) {
      const layout = this.layoutOf(repository)
      const source = await layout?.remoteSource?.(repository, path)
      const result = await this.remote.fetch(repository, path, {
        expectedFromHeaders: declaredChecksums,
        isMetadata: layout?.isMetadata?.(path) ?? false,
        ...(source?.upstreamUrl ? { upstreamUrl: source.upstreamUrl } : {}),
        ...(source?.expected ? { expected: source.expected } : {}),
      })
      return servedFrom(repository, path, result)
    }
    throw notFound(`'${repository.key}/${path}' does not exist`)
  }

  private readContext(options: ResolveOptions): PlainReadContext {
    const caller = { canRead: options.canRead }
    return {
      principal: options.principal ?? ANONYMOUS,
      resolve: (repository, path) => this.resolve(repository, path, false, options),
      canRead: options.canRead ?? (async () => true),
      members: (virtual, request, read) => this.resolution.all(virtual, request, caller, read),
    }
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
