import type { Readable } from 'node:stream'
import { PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import type { BlobInfo, BlobStore } from '../blobs/blob-store.js'
import { CHECKSUM_PATTERNS, type ExpectedChecksums } from '../digest.js'
import { TroveError, notFound } from '../errors.js'
import type { Repository } from '../repositories/repository-service.js'
import type { Sender } from '../../storage/storage-driver.js'
import type { Asset, Children, FileQuery, Folder, Item } from './artifact-types.js'
import { ArtifactSearch } from './artifact-search.js'
import { toAsset, withinFolder } from './asset-rows.js'

/**
 * Reads of the artifacts of repositories: items, folder trees, properties, file queries, searches,
 * usage, and the bytes of an asset. Nothing here writes; {@link ArtifactService} (the writer)
 * adds the changes. Download statistics are written by core/remote/downloads.ts alone.
 */
export class ArtifactQueries {
  /** The quick searches over these artifacts. */
  readonly search: ArtifactSearch
  /** `repo_key` as a filter SQLite's planner does not take for an index key (`+repo_key`). */
  private readonly repoKeyFilter: RawBuilder<string>

  constructor(
    protected readonly db: Kysely<Database>,
    protected readonly blobs: BlobStore,
  ) {
    this.search = new ArtifactSearch(db)
    this.repoKeyFilter = db.getExecutor().adapter instanceof PostgresAdapter ? sql<string>`repo_key` : sql<string>`+repo_key`
  }

  /**
   * The stored blob a checksum deploy names (its sha256 or sha1, and every other checksum given
   * must agree). Throws NOT_FOUND when no such blob exists.
   */
  async blobByChecksum(expected: ExpectedChecksums): Promise<BlobInfo> {
    const algorithm = (['sha256', 'sha1', 'md5'] as const).find((a) => expected[a] !== undefined)
    if (!algorithm) throw new TroveError('BAD_REQUEST', 'a checksum deploy needs X-Checksum-Sha256 or X-Checksum-Sha1')
    const value = expected[algorithm]!
    if (!CHECKSUM_PATTERNS[algorithm].test(value)) throw new TroveError('DIGEST_INVALID', `invalid ${algorithm} checksum '${value}'`)
    const row = await this.db.selectFrom('blobs').selectAll().where(algorithm, '=', value).executeTakeFirst()
    if (!row || !(await this.blobs.exists(row.sha256))) {
      throw notFound(`checksum deploy failed: no content with ${algorithm} ${value} is stored`)
    }
    for (const other of ['sha256', 'sha1', 'md5'] as const) {
      if (expected[other] !== undefined && expected[other] !== row[other]) {
        throw new TroveError('DIGEST_INVALID', `${other} checksum mismatch: declared ${expected[other]}, stored content has ${row[other]}`)
      }
    }
    return row
  }

  async getAsset(repoKey: string, path: string): Promise<Asset | undefined> {
    const row = await this.db.selectFrom('assets').selectAll().where('repo_key', '=', repoKey).where('path', '=', path).executeTakeFirst()
    return row ? toAsset(row) : undefined
  }

  async getItem(repository: Repository, path: string): Promise<Item | undefined> {
    if (path === '') return { kind: 'folder', folder: this.rootFolder(repository) }
    const asset = await this.getAsset(repository.key, path)
    if (asset) return { kind: 'file', asset }
    const folder = await this.db
      .selectFrom('folders')
      .selectAll()
      .where('repo_key', '=', repository.key)
      .where('path', '=', path)
      .executeTakeFirst()
    return folder
      ? { kind: 'folder', folder: { repoKey: folder.repo_key, path: folder.path, createdAt: folder.created_at, createdBy: folder.created_by } }
      : undefined
  }

  /** Opens an asset's bytes (or a range of them). */
  async open(asset: Asset, range?: { start: number; end: number }): Promise<Readable> {
    return this.blobs.open(asset.sha256, range)
  }

  /** Opens an asset's bytes (or a range) for sending to one destination; see {@link BlobStore.openSender}. */
  async openSender(asset: Asset, range?: { start: number; end: number }): Promise<Sender> {
    return this.blobs.openSender(asset.sha256, range)
  }

  /** Where the client may fetch the asset's bytes straight from the store, if downloads are redirected; see {@link BlobStore.downloadUrl}. */
  async downloadUrl(asset: Asset): Promise<string | undefined> {
    return this.blobs.downloadUrl(asset.sha256, { contentType: asset.contentType, filename: asset.name })
  }

  /** Direct children of a folder. */
  async children(repoKey: string, folder: string): Promise<Children> {
    const [folders, files] = await Promise.all([
      this.db.selectFrom('folders').select('path').where('repo_key', '=', repoKey).where('folder', '=', folder).orderBy('path').execute(),
      this.db.selectFrom('assets').selectAll().where('repo_key', '=', repoKey).where('folder', '=', folder).orderBy('path').execute(),
    ])
    return { folders: folders.map((f) => f.path), files: files.map(toAsset) }
  }

  /** Every file (and, if asked, folder) below `folder`, at any depth. */
  async listDeep(repoKey: string, folder: string): Promise<{ folders: Folder[]; files: Asset[] }> {
    const [folders, files] = await Promise.all([
      withinFolder(this.db.selectFrom('folders').selectAll().where('repo_key', '=', repoKey), folder).orderBy('path').execute(),
      withinFolder(this.db.selectFrom('assets').selectAll().where('repo_key', '=', repoKey), folder).orderBy('path').execute(),
    ])
    return {
      folders: folders.map((f) => ({ repoKey, path: f.path, createdAt: f.created_at, createdBy: f.created_by })),
      files: files.map(toAsset),
    }
  }

  async getProperties(repoKey: string, path: string): Promise<Map<string, string[]>> {
    const rows = await this.db
      .selectFrom('properties')
      .select(['name', 'value'])
      .where('repo_key', '=', repoKey)
      .where('path', '=', path)
      .orderBy('name')
      .orderBy('value')
      .execute()
    const properties = new Map<string, string[]>()
    for (const { name, value } of rows) properties.set(name, [...(properties.get(name) ?? []), value])
    return properties
  }

  /** Per repository: the number of files and the sum of their sizes (what quotas count). */
  async usage(): Promise<Map<string, { files: number; bytes: number }>> {
    const rows = await this.db
      .selectFrom('assets')
      .select(['repo_key', (eb) => eb.fn.countAll<number>().as('files'), (eb) => eb.fn.sum<number>('size').as('bytes')])
      .groupBy('repo_key')
      .execute()
    return new Map(rows.map((r) => [r.repo_key, { files: Number(r.files), bytes: Number(r.bytes ?? 0) }]))
  }

  /** Files matching a query, ordered by repository and path; for formats that index by layout. */
  async findFiles(query: FileQuery): Promise<Asset[]> {
    if (query.repoKeys.length === 0) return []
    for (const list of [query.names, query.sha256, query.paths]) if (list !== undefined && list.length === 0) return []
    // Looked up by name or content anywhere in the repositories, the repositories filter what the
    // (name|sha256, repo_key, path) index finds: given to SQLite's planner as an index key, it
    // would walk each repository whole in path order rather than sort the few files found. Below a
    // folder, the (repo_key, path) range of that folder is the better start, and stays.
    const byKey = (query.names !== undefined || query.sha256 !== undefined) && query.below === undefined && query.paths === undefined
    let select = byKey
      ? this.db.selectFrom('assets').selectAll().where(sql<boolean>`${this.repoKeyFilter} in (${sql.join(query.repoKeys)})`)
      : this.db.selectFrom('assets').selectAll().where('repo_key', 'in', query.repoKeys)
    if (query.names) select = select.where('name', 'in', query.names)
    if (query.sha256) select = select.where('sha256', 'in', query.sha256)
    if (query.paths) select = select.where('path', 'in', query.paths)
    if (query.below !== undefined) select = withinFolder(select, query.below)
    const rows = await select.orderBy('repo_key').orderBy('path').execute()
    return rows.map(toAsset)
  }

  /** Whether any file is stored below `folder` (at any depth). */
  async hasFilesBelow(repoKey: string, folder: string): Promise<boolean> {
    const row = await withinFolder(this.db.selectFrom('assets').select('path').where('repo_key', '=', repoKey), folder).limit(1).executeTakeFirst()
    return row !== undefined
  }

  /** The properties named `names` of every file and folder below `folder`, by path: for formats that list a folder with its annotations in one query. */
  async propertiesBelow(repoKey: string, folder: string, names: readonly string[]): Promise<Map<string, Map<string, string[]>>> {
    const byPath = new Map<string, Map<string, string[]>>()
    if (names.length === 0) return byPath
    const rows = await withinFolder(
      this.db.selectFrom('properties').select(['path', 'name', 'value']).where('repo_key', '=', repoKey).where('name', 'in', names),
      folder,
    ).execute()
    for (const { path, name, value } of rows) {
      const properties = byPath.get(path) ?? new Map<string, string[]>()
      properties.set(name, [...(properties.get(name) ?? []), value])
      byPath.set(path, properties)
    }
    return byPath
  }

  protected rootFolder(repository: Repository): Folder {
    return { repoKey: repository.key, path: '', createdAt: repository.createdAt, createdBy: 'system' }
  }
}
