import { allOf, patternAccess, type PathAccess } from '../auth/path-access.js'
import { repositoryPatterns, type Repository, type RepositoryService } from '../repositories/repository-service.js'
import { ResolutionEngine } from '../remote/resolution.js'
import type { ArtifactService, Asset, Children, Folder, SearchPage } from './artifact-service.js'

/** The quick searches' result limit (Artifactory's default). */
const SEARCH_LIMIT = 1000

/** Rows a search reads at a time. */
const SEARCH_PAGE = 1000

/** A repository whose stored files a view shows, with the paths of it the caller may read. */
export interface ViewSource {
  readonly repository: Repository
  readonly access: PathAccess
}

/**
 * What one caller sees of a repository when browsing or searching it: its own files, or, for a
 * virtual repository, the merged files of the members the caller may read.
 */
export interface RepositoryView {
  readonly repository: Repository
  /** The paths the caller may read in the repository itself (for a virtual: by its own rights). */
  readonly access: PathAccess
  /**
   * Where the files come from, in order: the repository itself, or a virtual's members (nested
   * virtuals flattened, each repository once) with the paths the caller may read through the
   * virtual there: what the caller may read in the member and in every virtual on the way, and
   * what those virtuals' include/exclude patterns let through. A path found in several sources
   * is the first one's, as resolution answers it.
   */
  readonly sources: readonly ViewSource[]
}

/** A file or folder of a view, and the repository it is stored in. */
export type ViewItem =
  | { readonly kind: 'file'; readonly asset: Asset; readonly source: Repository }
  | { readonly kind: 'folder'; readonly folder: Folder; readonly source: Repository }

/** The caller's read access to the paths of a repository (see `Authorizer.pathAccess`). */
export type ReadAccess = (repoKey: string) => Promise<PathAccess>

/**
 * Browsing and searching repositories as one caller may: a file is listed only where the caller
 * may read it, a folder only where something in it may be readable, and a virtual repository shows
 * what its readable members store (a remote member: its cache), never a name from a member the
 * caller may not read.
 */
export class RepositoryBrowser {
  constructor(
    repositories: RepositoryService,
    private readonly artifacts: ArtifactService,
    private readonly resolution: ResolutionEngine = new ResolutionEngine(repositories),
  ) {}

  async view(repository: Repository, readAccess: ReadAccess): Promise<RepositoryView> {
    const access = await readAccess(repository.key)
    if (access.isNowhere) return { repository, access, sources: [] }
    if (repository.rclass !== 'virtual') return { repository, access, sources: [{ repository, access }] }
    return { repository, access, sources: await this.members(repository, access, readAccess) }
  }

  /** The file or folder at `path` (`''`: the root) as the view shows it; `undefined` when none is readable there. */
  async item(view: RepositoryView, path: string): Promise<ViewItem | undefined> {
    if (path === '') {
      const root = await this.artifacts.getItem(view.repository, '')
      return root?.kind === 'folder' ? { kind: 'folder', folder: root.folder, source: view.repository } : undefined
    }
    for (const { repository, access } of view.sources) {
      const item = await this.artifacts.getItem(repository, path)
      if (item?.kind === 'file' && access.file(path)) return { kind: 'file', asset: item.asset, source: repository }
      if (item?.kind === 'folder' && access.folder(path)) return { kind: 'folder', folder: item.folder, source: repository }
    }
    return undefined
  }

  /** The readable direct children of a folder, ordered by path. */
  async children(view: RepositoryView, folder: string): Promise<Children> {
    const merged = new Merged()
    for (const { repository, access } of view.sources) {
      if (!access.folder(folder)) continue
      const { folders, files } = await this.artifacts.children(repository.key, folder)
      for (const path of folders) if (access.folder(path)) merged.add(path, path)
      for (const asset of files) if (access.file(asset.path)) merged.add(asset.path, asset)
    }
    const entries = merged.sorted()
    return { folders: entries.filter((e): e is string => typeof e === 'string'), files: entries.filter((e): e is Asset => typeof e !== 'string') }
  }

  /** Every readable file and folder below `folder`, at any depth, ordered by path. */
  async listDeep(view: RepositoryView, folder: string): Promise<{ folders: Folder[]; files: Asset[] }> {
    const merged = new Merged<Folder | Asset>()
    for (const { repository, access } of view.sources) {
      if (!access.folder(folder)) continue
      const below = await this.artifacts.listDeep(repository.key, folder)
      for (const f of below.folders) if (access.folder(f.path)) merged.add(f.path, f)
      for (const asset of below.files) if (access.file(asset.path)) merged.add(asset.path, asset)
    }
    const entries = merged.sorted()
    return { folders: entries.filter((e): e is Folder => !('sha256' in e)), files: entries.filter((e): e is Asset => 'sha256' in e) }
  }

  /**
   * The files `find` returns from the views' sources, each shown through the view it was found in
   * (a virtual's key in `repoKey`), once per view, and only where the view shows that very file: a
   * file hidden behind an earlier member's file of the same path is not reported. At most `limit`,
   * counted among what the caller may see: `find` is asked for a page at a time (for all sources
   * at once) until that many are found or no rows are left. Ordered by repository and path.
   */
  async search(
    views: readonly RepositoryView[],
    find: (repoKeys: readonly string[], page: SearchPage) => Promise<Asset[]>,
    limit = SEARCH_LIMIT,
  ): Promise<Asset[]> {
    const keys = [...new Set(views.flatMap((v) => v.sources.map((s) => s.repository.key)))]
    const results: Asset[] = []
    for (let after: SearchPage['after']; ; ) {
      const page = await find(keys, { after, limit: SEARCH_PAGE })
      const bySource = groupByRepository(page)
      for (const view of views) {
        const hits = view.sources.flatMap(({ repository, access }) => (bySource.get(repository.key) ?? []).filter((a) => access.file(a.path)))
        const shown = view.sources.length > 1 && hits.length > 0 ? await this.shownFiles(view, hits) : undefined
        for (const asset of hits) {
          if (shown && shown.get(asset.path) !== asset.repoKey) continue
          shown?.delete(asset.path)
          results.push(asset.repoKey === view.repository.key ? asset : { ...asset, repoKey: view.repository.key })
        }
      }
      const last = page[page.length - 1]
      if (results.length >= limit || page.length < SEARCH_PAGE || !last) break
      after = { repoKey: last.repoKey, path: last.path }
    }
    return results.sort((a, b) => compare(a.repoKey, b.repoKey) || compare(a.path, b.path)).slice(0, limit)
  }

  /** For each path of `hits`: the key of the first source of the view with a readable file there, whose file the view shows. */
  private async shownFiles(view: RepositoryView, hits: readonly Asset[]): Promise<Map<string, string>> {
    const paths = [...new Set(hits.map((a) => a.path))]
    const stored = groupByRepository(await this.artifacts.findFiles({ repoKeys: view.sources.map((s) => s.repository.key), paths }))
    const shown = new Map<string, string>()
    for (const { repository, access } of view.sources) {
      for (const { path } of stored.get(repository.key) ?? []) if (!shown.has(path) && access.file(path)) shown.set(path, repository.key)
    }
    return shown
  }

  /**
   * A virtual's members the caller may read, in order, nested virtuals flattened, each once: the
   * resolution engine's traversal. Browsing names no package, so its dependency-confusion guard
   * does not apply, and every readable member is shown. What the caller may read of a member
   * through the virtual: what it may read there, in every virtual on the way, and what those
   * virtuals' include/exclude patterns let through (as resolution answers).
   */
  private async members(virtual: Repository, above: PathAccess, readAccess: ReadAccess): Promise<ViewSource[]> {
    const accesses = new Map<string, PathAccess>()
    const canRead = async (key: string) => {
      const access = await readAccess(key)
      accesses.set(key, access)
      return !access.isNowhere
    }
    const sources: ViewSource[] = []
    for await (const { repository, via } of this.resolution.members(virtual, {}, { canRead })) {
      const on = via.flatMap((v) => [patternsOf(v), ...(v.key === virtual.key ? [] : [accesses.get(v.key)!])])
      const access = allOf([above, ...on, accesses.get(repository.key)!])
      if (!access.isNowhere) sources.push({ repository, access })
    }
    return sources
  }
}

/** The paths a virtual's include/exclude patterns let through it. */
function patternsOf(virtual: Repository): PathAccess {
  const { includes, excludes } = repositoryPatterns(virtual.config)
  return patternAccess(includes, excludes)
}

/** Entries keyed by path, the first one given for a path kept. */
class Merged<T = string | Asset> {
  private readonly entries = new Map<string, T>()

  add(path: string, entry: T): void {
    if (!this.entries.has(path)) this.entries.set(path, entry)
  }

  sorted(): T[] {
    return [...this.entries.entries()].sort(([a], [b]) => compare(a, b)).map(([, entry]) => entry)
  }
}

function groupByRepository(assets: readonly Asset[]): Map<string, Asset[]> {
  const grouped = new Map<string, Asset[]>()
  for (const asset of assets) {
    const list = grouped.get(asset.repoKey)
    if (list) list.push(asset)
    else grouped.set(asset.repoKey, [asset])
  }
  return grouped
}

/** Byte order, as the metadata store sorts paths. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
