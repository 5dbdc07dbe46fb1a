import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import { type FormatContext, type GeneratedFile, isTroveError, notFound, type PlainDeploy, type PlainDeployOutcome, type PlainLayout, type PlainReadContext, readLimited, RemoteEngine, type RemoteSource, type Repository, TroveError } from '../../core/index.js'
import { lineFromPieces, parseIndexFile, renderIndexFile, type IndexLine } from './index-line.js'
import { crateFolder, crateOfIndexFile, indexFileOf, parseCratePath, prefixOf } from './names.js'

/** Where a repository's sparse index is, below the repository: `index/config.json`, `index/3/s/syn`. */
export const INDEX_FOLDER = 'index'
/** A remote's copy of its upstream's `config.json` (where its crates are downloaded from). */
export const UPSTREAM_CONFIG = '.cargo/upstream-config.json'
export const INDEX_CONTENT_TYPE = 'text/plain; charset=utf-8'
export const CRATE_CONTENT_TYPE = 'application/x-tar'

/** The properties a published crate carries: its index line is rebuilt from them. */
export const PROPERTY = {
  name: 'cargo.name',
  version: 'cargo.version',
  cksum: 'cargo.cksum',
  yanked: 'cargo.yanked',
  /** The index line's JSON (without `yanked`), in numbered pieces (see index-line.ts). */
  line: 'cargo.index',
  /** The publish's `description`, for `cargo search` (at most 500 characters). */
  description: 'cargo.description',
  /** On a crate's folder: changes with every publish, yank, unyank and delete (what cached index files are checked against). */
  revision: 'cargo.revision',
} as const

/** Largest upstream index file read (the largest public crates have a few MiB). */
const MAX_UPSTREAM_INDEX_BYTES = 32 * 1024 * 1024
const MAX_UPSTREAM_CONFIG_BYTES = 64 * 1024
/** Rendered index files of local repositories kept in memory (the most recently used). */
const RENDERED_KEPT = 2000
/**
 * How long a rendered index file is served on its folder's revision alone: the revision is written
 * after each change commits, so a process that dies in between could leave another node's copy
 * stale; past this age the file is built again whatever the revision says.
 */
const RENDERED_MAX_AGE_MS = 60_000

interface RenderedIndex {
  readonly revision: string
  readonly body: string
  readonly builtAt: number
}

/**
 * Cargo registries on the core's plain layout. Crates are assets (`<name>/<name>-<version>.crate`,
 * lower-cased name) whose properties hold their index line; the sparse index is generated:
 * - local: an index file is the lines of the crate's stored versions, in publish order, with
 *   their yanked flag;
 * - remote: index files are the upstream's, cached as metadata (re-checked after the metadata
 *   TTL, served stale when the upstream fails); crates are fetched from the upstream's `dl` (read
 *   from its `config.json`) and verified against the `cksum` of their index line;
 * - virtual: the members' lines merged (for one version the first member wins), with the
 *   dependency-confusion guard (a name a local member holds is never answered from a remote).
 * The lines name no URL: clients download from the `dl` of the `config.json` they were given,
 * which always points at the repository they asked (see routes.ts).
 */
export class CargoLayout implements PlainLayout {
  /** `repo\0name` → the index file built at a revision of the crate's folder. */
  private readonly rendered = new Map<string, RenderedIndex>()

  constructor(private readonly services: FormatContext) {}

  isMetadata(path: string): boolean {
    return isIndexPath(path) || path === UPSTREAM_CONFIG
  }

  async generate(repository: Repository, path: string, context: PlainReadContext): Promise<GeneratedFile | undefined> {
    if (!isIndexPath(path)) return undefined
    const name = crateOfIndexFile(path.slice(INDEX_FOLDER.length + 1))
    if (name === undefined) {
      if (path === `${INDEX_FOLDER}/config.json`) return undefined // answered by the routes, which know the URL the client used
      throw notFound(`'${path}' is not an index file of the sparse index`)
    }
    if (repository.rclass === 'remote') return undefined // the upstream's file, through the remote engine
    if (repository.rclass !== 'virtual') {
      const built = await this.localIndexFile(repository, name)
      return { body: built.body, contentType: INDEX_CONTENT_TYPE, modifiedAt: built.builtAt }
    }
    const lines = await this.virtualLines(repository, name, context)
    return { body: renderIndexFile(lines), contentType: INDEX_CONTENT_TYPE, modifiedAt: Date.now() }
  }

  /** After a delete through the plain layout: the crate's index file changes. */
  async changed(repository: Repository, path: string): Promise<void> {
    const folder = path.split('/')[0]!
    if (repository.rclass === 'local' && folder !== '') await this.touch(repository, folder)
  }

  /**
   * Gives a crate's folder a new revision, after a change to its versions has committed (and, by
   * the publisher, before it too): cached index files of older revisions are built again, on
   * every node. A folder that is gone (its last file deleted) needs none.
   */
  async touch(repository: Repository, name: string): Promise<void> {
    const folder = crateFolder(name)
    this.rendered.delete(`${repository.key}\0${folder}`)
    try {
      await this.services.artifacts.setProperties(repository, folder, new Map([[PROPERTY.revision, [randomUUID()]]]), false)
    } catch (err) {
      if (!isTroveError(err) || err.code !== 'NOT_FOUND') throw err
    }
  }

  /** A local repository's index file of a crate: the cached one while its folder's revision is unchanged, else built. */
  private async localIndexFile(repository: Repository, name: string): Promise<RenderedIndex> {
    const folder = crateFolder(name)
    const key = `${repository.key}\0${folder}`
    const revision = (await this.services.artifacts.getProperties(repository.key, folder)).get(PROPERTY.revision)?.[0] ?? ''
    const cached = this.rendered.get(key)
    if (cached && revision !== '' && cached.revision === revision && Date.now() - cached.builtAt < RENDERED_MAX_AGE_MS) {
      this.rendered.delete(key) // re-inserted last: the map is in order of use
      this.rendered.set(key, cached)
      return cached
    }
    const lines = await this.localLines(repository, name)
    if (lines.length === 0) throw notFound(`crate '${name}' is not in '${repository.key}'`)
    const built = { revision, body: renderIndexFile(lines), builtAt: Date.now() }
    this.rendered.set(key, built)
    for (const oldest of this.rendered.keys()) {
      if (this.rendered.size <= RENDERED_KEPT) break
      this.rendered.delete(oldest)
    }
    return built
  }

  async deploy({ repository, body }: PlainDeploy): Promise<PlainDeployOutcome> {
    body.resume()
    throw new TroveError('BAD_REQUEST', `'${repository.key}' is a Cargo repository: publish crates with cargo publish (its index is generated from them)`)
  }

  async remoteSource(repository: Repository, path: string): Promise<RemoteSource | undefined> {
    if (repository.rclass !== 'remote') return undefined
    if (isIndexPath(path)) return { upstreamUrl: RemoteEngine.urlOf(repository, path.slice(INDEX_FOLDER.length + 1)) }
    if (path === UPSTREAM_CONFIG) return { upstreamUrl: RemoteEngine.urlOf(repository, 'config.json') }
    const crate = parseCratePath(path)
    if (!crate) return undefined
    if (await this.services.artifacts.getAsset(repository.key, path)) return undefined // cached: served without asking anyone
    const line = (await this.remoteLines(repository, crate.name)).find((l) => l.vers === crate.version)
    if (!line) throw notFound(`${crate.name} ${crate.version} is not in the upstream index of '${repository.key}'`)
    return { upstreamUrl: await this.upstreamDownloadUrl(repository, line), expected: { sha256: line.cksum.toLowerCase() } }
  }

  /** Through a virtual, a crate belongs to a local member when that member stores any version of it. */
  async isLocalName(local: Repository, path: string): Promise<boolean> {
    const name = isIndexPath(path) ? crateOfIndexFile(path.slice(INDEX_FOLDER.length + 1)) : parseCratePath(path)?.name
    return name !== undefined && this.hasCrate(local, name)
  }

  async hasCrate(repository: Repository, name: string): Promise<boolean> {
    return this.services.artifacts.hasFilesBelow(repository.key, crateFolder(name))
  }

  // --- local ---------------------------------------------------------------------------------

  /** A local repository's lines for a crate, in publish order. */
  async localLines(repository: Repository, name: string): Promise<IndexLine[]> {
    const folder = crateFolder(name)
    const files = (await this.services.artifacts.findFiles({ repoKeys: [repository.key], below: folder })).filter((f) => parseCratePath(f.path))
    if (files.length === 0) return []
    const properties = await this.services.artifacts.propertiesBelow(repository.key, folder, [PROPERTY.line, PROPERTY.yanked])
    const lines: IndexLine[] = []
    for (const file of [...files].sort((a, b) => a.createdAt - b.createdAt || (a.path < b.path ? -1 : 1))) {
      const own = properties.get(file.path)
      const pieces = own?.get(PROPERTY.line)
      if (!pieces) continue // a .crate not published through the API has no line
      const line = lineFromPieces(pieces, own?.get(PROPERTY.yanked)?.[0] === 'true')
      if (line && line.cksum === file.sha256) lines.push(line)
    }
    return lines
  }

  // --- remote --------------------------------------------------------------------------------

  /** The upstream's lines for a crate (its index file, cached as metadata); none when the upstream has no such crate. */
  async remoteLines(repository: Repository, name: string): Promise<IndexLine[]> {
    const path = `${INDEX_FOLDER}/${indexFileOf(name)}`
    let text: string
    try {
      text = (await this.readRemote(repository, path, MAX_UPSTREAM_INDEX_BYTES)).toString('utf8')
    } catch (err) {
      if (isTroveError(err) && err.code === 'NOT_FOUND') return []
      throw err
    }
    return parseIndexFile(text).filter((l) => l.name.toLowerCase() === name.toLowerCase())
  }

  private async readRemote(repository: Repository, path: string, limit: number): Promise<Buffer> {
    const source = await this.remoteSource(repository, path)
    const result = await this.services.remote.fetch(repository, path, { isMetadata: true, contentType: INDEX_CONTENT_TYPE, upstreamUrl: source!.upstreamUrl! })
    const stream: Readable = result.kind === 'streaming' ? result.stream : await this.services.artifacts.open(result.asset)
    return readLimited(stream, limit, () => new TroveError('UPSTREAM_UNAVAILABLE', `the upstream's ${path} of '${repository.key}' is larger than ${limit} bytes`))
  }

  /** Where the upstream serves a crate: its `config.json`'s `dl`, a template or a base URL. */
  private async upstreamDownloadUrl(repository: Repository, line: IndexLine): Promise<string> {
    let dl: unknown
    try {
      dl = (JSON.parse((await this.readRemote(repository, UPSTREAM_CONFIG, MAX_UPSTREAM_CONFIG_BYTES)).toString('utf8')) as { dl?: unknown }).dl
    } catch (err) {
      if (isTroveError(err)) throw err
      throw new TroveError('UPSTREAM_UNAVAILABLE', `the upstream config.json of '${repository.key}' is not JSON`)
    }
    if (typeof dl !== 'string' || !/^https?:\/\//.test(dl)) throw new TroveError('UPSTREAM_UNAVAILABLE', `the upstream config.json of '${repository.key}' has no http(s) "dl"`)
    return expandDownloadTemplate(dl, line.name, line.vers, line.cksum)
  }

  // --- virtual -------------------------------------------------------------------------------

  private async virtualLines(virtual: Repository, name: string, context: PlainReadContext): Promise<IndexLine[]> {
    const collected = await context.members(
      virtual,
      { isLocalName: (local) => this.hasCrate(local, name), what: `crate '${name}'` },
      async ({ repository }) => {
        const lines = repository.rclass === 'remote' ? await this.remoteLines(repository, name) : await this.localLines(repository, name)
        return lines.length > 0 ? lines : undefined
      },
    )
    const merged = new Map<string, IndexLine>()
    for (const { value } of collected.found) for (const line of value) if (!merged.has(line.vers)) merged.set(line.vers, line)
    if (merged.size === 0 && collected.found.length === 0) throw await collected.missing(`crate '${name}'`)
    return [...merged.values()]
  }
}

/** A path of the sparse index (`index/…`), not the archive of a crate named `index` (`index/index-1.0.0.crate`). */
function isIndexPath(path: string): boolean {
  return path.startsWith(`${INDEX_FOLDER}/`) && parseCratePath(path) === undefined
}

/** Expands Cargo's `dl` markers; a `dl` without any gets `/{crate}/{version}/download` appended, as cargo does. */
export function expandDownloadTemplate(dl: string, name: string, version: string, cksum: string): string {
  const markers = ['{crate}', '{version}', '{prefix}', '{lowerprefix}', '{sha256-checksum}']
  const template = markers.some((m) => dl.includes(m)) ? dl : `${dl.replace(/\/+$/, '')}/{crate}/{version}/download`
  const prefix = prefixOf(name)
  return template
    .replaceAll('{crate}', encodeURIComponent(name))
    .replaceAll('{version}', encodeURIComponent(version))
    .replaceAll('{prefix}', prefix)
    .replaceAll('{lowerprefix}', prefix.toLowerCase())
    .replaceAll('{sha256-checksum}', cksum)
}
