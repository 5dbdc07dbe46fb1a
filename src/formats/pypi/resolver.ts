import { type ArtifactService, type MemberRequest, notFound, readLimited, type RemoteEngine, type Repository, type RepositoryService, type ResolutionEngine, type ServedFile, servedFrom, TroveError } from '../../core/index.js'
import { isDistributionFilename, parseDistributionFilename } from './names.js'
import type { PypiStore } from './pypi-store.js'
import { parseProjectPage, type IndexFile, type ProjectPage } from './simple-page.js'

/** Artifactory's field for the path of the simple index below a remote's URL. */
export const SUFFIX_FIELD = 'pyPIRepositorySuffix'

/** An upstream project page larger than this is refused (the largest on public indexes are a few MiB). */
const MAX_PAGE_BYTES = 32 * 1024 * 1024
const MAX_PARSED = 500
const UPSTREAM_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1'

export interface PypiReadOptions {
  /** Whether the caller may read a member of a virtual; members it may not read are skipped. */
  readonly canRead?: (repoKey: string) => Promise<boolean>
}

/** A remote's upstream page, parsed: files with their upstream (absolute) URLs. */
interface UpstreamPage {
  readonly page: ProjectPage
  readonly byFilename: ReadonlyMap<string, IndexFile>
}

/**
 * Project pages and files of any class of repository. Local: built from the stored layout.
 * Remote: the upstream's page through the core's RemoteEngine (cached under the metadata TTL,
 * stale if the upstream fails), with file URLs pointing back to Trove; files and their metadata
 * cached on first download and verified against the upstream's sha256. Virtual: the members'
 * pages merged in order (the first member with a file name wins), with the dependency-confusion
 * guard: a project that a local member has is never taken from a remote member.
 *
 * Stored paths: local `<project>/<version>/<file>`, remote `<project>/<file>` (and
 * `.pypi/<project>/index` for the cached page); a page's file URLs are `../../packages/<path>`.
 */
export class PypiResolver {
  private readonly parsed = new Map<string, { readonly sha256: string; readonly value: UpstreamPage }>()

  constructor(
    private readonly repositories: RepositoryService,
    private readonly artifacts: ArtifactService,
    private readonly engine: RemoteEngine,
    private readonly store: PypiStore,
    private readonly resolution: ResolutionEngine,
  ) {}

  /** Where a remote caches a project's upstream page. */
  static pagePath(project: string): string {
    return `.pypi/${project}/index`
  }

  /**
   * A project's page (`project` normalised) with URLs relative to the page; a virtual's members'
   * pages merged in order (the first member with a file name wins). NOT_FOUND when no (readable)
   * member has it.
   */
  async page(repository: Repository, project: string, options: PypiReadOptions = {}): Promise<ProjectPage> {
    const collected = await this.resolution.all(repository, this.request(project), options, ({ repository: member }) =>
      member.rclass === 'remote' ? this.remotePage(member, project) : this.localPage(member, project),
    )
    const [first] = collected.found
    if (!first) throw await collected.missing()
    const files = new Map<string, IndexFile>()
    for (const { value } of collected.found) for (const file of value.files) if (!files.has(file.filename)) files.set(file.filename, file)
    return { name: first.value.name, files: [...files.values()] }
  }

  /** A file below `packages/`: a distribution or its `.metadata`, with the repository that holds it. */
  async file(repository: Repository, path: string, options: PypiReadOptions = {}): Promise<ServedFile> {
    const project = path.split('/')[0] ?? ''
    const found = await this.resolution.first(repository, { ...this.request(project), path, what: `'${path}'` }, options, async ({ repository: member }) => {
      if (member.rclass === 'remote') return this.remoteFile(member, project, path)
      const asset = await this.artifacts.getAsset(member.key, path)
      if (!asset) throw notFound(`'${path}' is not in '${member.key}'.`)
      return { kind: 'file', repository: member, asset } as const
    })
    return found.value
  }

  /** Projects of a repository: a local's, a remote's cached ones, a virtual's members' merged. */
  async projects(repository: Repository, options: PypiReadOptions = {}): Promise<string[]> {
    const collected = await this.resolution.all(repository, {}, options, ({ repository: member }) =>
      this.store.folders(member.key, member.rclass === 'remote' ? '.pypi' : ''),
    )
    return [...new Set(collected.found.flatMap((f) => f.value))].sort()
  }

  /** Where writes land: a local repository itself, a virtual's defaultDeploymentRepo (the core's rule). */
  deploymentTarget(repository: Repository): Promise<Repository> {
    return this.repositories.deploymentTarget(repository, { verb: 'upload', title: 'PyPI' })
  }

  private async localPage(repository: Repository, project: string): Promise<ProjectPage> {
    const files = await this.store.distributions(repository.key, project)
    if (files.length === 0) throw notFound(`No project '${project}' in '${repository.key}'.`)
    return {
      name: project,
      files: files.map((f) => ({
        filename: f.filename,
        url: `../../packages/${encodePath(f.path)}`,
        version: f.version,
        sha256: f.sha256,
        requiresPython: f.requiresPython,
        yanked: f.yanked,
        coreMetadata: f.metadataSha256 ? { sha256: f.metadataSha256 } : undefined,
        size: f.size,
        uploadTime: f.createdAt,
      })),
    }
  }

  private async remotePage(repository: Repository, project: string): Promise<ProjectPage> {
    const { page } = await this.upstreamPage(repository, project)
    return {
      name: page.name,
      files: page.files.map((f) => ({
        ...f,
        url: `../../packages/${encodePath(`${project}/${f.filename}`)}`,
        version: f.version ?? versionOf(f.filename, project),
      })),
    }
  }

  /** The upstream's page of `project`, through the engine: cached as metadata, stale if the upstream fails. */
  private async upstreamPage(repository: Repository, project: string): Promise<UpstreamPage> {
    const base = (repository.config.url ?? '').replace(/\/+$/, '')
    const suffix = typeof repository.config[SUFFIX_FIELD] === 'string' ? (repository.config[SUFFIX_FIELD] as string).replace(/^\/+|\/+$/g, '') : 'simple'
    const pageUrl = `${base}/${suffix === '' ? '' : `${suffix}/`}${encodeURIComponent(project)}/`
    const result = await this.engine.fetch(repository, PypiResolver.pagePath(project), {
      isMetadata: true,
      upstreamUrl: pageUrl,
      headers: { accept: UPSTREAM_ACCEPT },
      contentType: 'text/html',
    })
    const key = `${repository.key}\0${project}`
    if (result.kind === 'cached') {
      const known = this.parsed.get(key)
      if (known && known.sha256 === result.asset.sha256) return known.value
      const body = await readLimited(await this.artifacts.open(result.asset), MAX_PAGE_BYTES, pageTooLarge)
      const value = parseUpstream(repository, project, body, result.asset.contentType, result.asset.sourceUrl ?? pageUrl)
      this.parsed.delete(key)
      this.parsed.set(key, { sha256: result.asset.sha256, value })
      if (this.parsed.size > MAX_PARSED) this.parsed.delete(this.parsed.keys().next().value!)
      return value
    }
    // storeArtifactsLocally: false: read through, nothing kept.
    return parseUpstream(repository, project, await readLimited(result.stream, MAX_PAGE_BYTES, pageTooLarge), result.contentType, result.upstreamUrl)
  }

  private async remoteFile(repository: Repository, project: string, path: string): Promise<ServedFile> {
    const segments = path.split('/')
    if (segments.length !== 2) throw notFound(`'${path}' is not in '${repository.key}'.`)
    // Files never change once cached: no need to look at the page again.
    const cached = await this.artifacts.getAsset(repository.key, path)
    if (cached) return { kind: 'file', repository, asset: cached }
    const filename = segments[1]!
    const isMetadata = filename.endsWith('.metadata')
    const distribution = isMetadata ? filename.slice(0, -'.metadata'.length) : filename
    const { byFilename } = await this.upstreamPage(repository, project)
    const source = byFilename.get(distribution)
    if (!source) throw notFound(`'${distribution}' is not a file of project '${project}' upstream of '${repository.key}'.`)
    if (isMetadata && !source.coreMetadata) throw notFound(`The upstream of '${repository.key}' announces no metadata file for '${distribution}'.`)
    const url = new URL(source.url)
    if (isMetadata) url.pathname += '.metadata'
    const sha256 = isMetadata ? source.coreMetadata?.sha256 : source.sha256
    const result = await this.engine.fetch(repository, path, {
      upstreamUrl: url.toString(),
      expected: sha256 ? { sha256 } : {},
      contentType: isMetadata ? 'text/plain; charset=utf-8' : 'application/octet-stream',
    })
    return servedFrom(repository, path, result)
  }

  /** A request for `project` through the engine: the dependency-confusion guard asks whether a local repository has it. */
  private request(project: string): MemberRequest {
    return { what: `Project '${project}'`, isLocalName: (local) => this.store.hasProject(local.key, project) }
  }
}

function parseUpstream(repository: Repository, project: string, body: Buffer, contentType: string, pageUrl: string): UpstreamPage {
  let page: ProjectPage
  try {
    page = parseProjectPage(body.toString('utf8'), contentType, pageUrl, project)
  } catch (err) {
    throw new TroveError('UPSTREAM_UNAVAILABLE', `The upstream of '${repository.key}' sent a page for '${project}' that could not be read: ${(err as Error).message}`)
  }
  // Only distributions with a safe file name: it becomes a path in the cache.
  const files = page.files.filter((f) => isDistributionFilename(f.filename) && !f.filename.includes('/') && !f.filename.startsWith('.'))
  const byFilename = new Map<string, IndexFile>()
  for (const file of files) if (!byFilename.has(file.filename)) byFilename.set(file.filename, file)
  return { page: { name: project, files: [...byFilename.values()] }, byFilename }
}

function versionOf(filename: string, project: string): string | undefined {
  try {
    return parseDistributionFilename(filename, project).version
  } catch {
    return undefined
  }
}

export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}

const pageTooLarge = () => new TroveError('UPSTREAM_UNAVAILABLE', `an upstream project page is larger than ${MAX_PAGE_BYTES} bytes`)
