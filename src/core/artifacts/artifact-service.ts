import type { Readable } from 'node:stream'
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import type { StorageQuota } from '../auth/quota.js'
import type { BlobInfo, BlobStore } from '../blobs/blob-store.js'
import { TroveError, conflict, notFound } from '../errors.js'
import { ancestorsOf, nameOf, parentOf } from '../paths.js'
import type { Repository } from '../repositories/repository-service.js'
import type { ChangeTransaction } from '../format-context.js'
import type { Asset, AssetChanges, ChangeGuard, DeployOptions, Folder, Properties } from './artifact-types.js'
import { ArtifactQueries } from './artifact-queries.js'
import { assetRow, sizeOf, upsertAsset, withinFolder, writeProperties } from './asset-rows.js'
import { checkedPagesBelow, deleteBelow } from './folder-changes.js'
import type { TrashCan } from '../lifecycle/trash.js'

export type * from './artifact-types.js'

/**
 * Asked in the transaction of every change that may remove or overwrite files, before it writes:
 * `touched` lists the existing files it removes or replaces with other content. Throwing undoes
 * the change (immutability rules, src/core/lifecycle/immutability.ts).
 */
export type ChangeCheck = (repository: Repository, trx: Kysely<Database>, touched: () => Promise<readonly { path: string }[]>) => Promise<void>

/** Told of committed files; must not throw (it runs after the commit, on the writer's path). */
export type StoredListener = (repository: Repository, files: readonly { path: string; sha256: string }[]) => void

/** The files one change writes, removes or annotates (properties), as a {@link ChangeRecorder} is told of them. */
export interface RecordedChange {
  readonly written: readonly string[]
  readonly removed: readonly string[]
  readonly annotated: readonly string[]
}

/**
 * Writes rows of its own in the transaction of every change of files of the repositories it
 * `wants` (the federation's outbox), so that they commit or roll back with the change. Not told of
 * changes applied with `{ replicated: true }` (they came from another instance).
 */
export interface ChangeRecorder {
  wants(repository: Repository): boolean
  record(trx: Transaction<Database>, repository: Repository, change: RecordedChange): Promise<void>
}

/**
 * Told that a repository's content changed (files, folders' contents or properties), after the
 * commit; awaited by the writer, so that what depends on the content (rendered documents) is
 * forgotten before the change is answered. Must not throw.
 */
export type ChangeListener = (repository: Repository) => Promise<void>

/**
 * The writer of artifacts (assets, folders, properties) of repositories; its reads are
 * {@link ArtifactQueries}'. Owns the rule that an asset becomes visible only after its blob is
 * stored and verified: the metadata row is written last. Every change is one transaction that also
 * charges the project's quota, and upload sessions that a change completes end in it
 * (`AssetChanges.finishUploads`).
 */
export class ArtifactService extends ArtifactQueries {
  private readonly storedListeners: StoredListener[] = []
  private readonly recorders: ChangeRecorder[] = []
  private changeCheck: ChangeCheck | undefined
  private readonly changeListeners: ChangeListener[] = []

  constructor(
    db: Kysely<Database>,
    blobs: BlobStore,
    /** Project quotas: charged in every transaction below that adds or removes assets. */
    private readonly quota?: StorageQuota,
    /** Where {@link delete} keeps what it deletes from local repositories (src/core/lifecycle/trash.ts). */
    private readonly trash?: Pick<TrashCan, 'keepsFrom' | 'keep' | 'keepFiles'>,
  ) {
    super(db, blobs)
  }

  /** Calls `listener` after files are committed (every deploy, remote caching, applyChanges), e.g. to queue scans. */
  onStored(listener: StoredListener): void {
    this.storedListeners.push(listener)
  }

  /** Adds a recorder of changes, called inside their transactions (see {@link ChangeRecorder}). */
  addRecorder(recorder: ChangeRecorder): void {
    this.recorders.push(recorder)
  }

  private isRecorded(repository: Repository): boolean {
    return this.recorders.some((r) => r.wants(repository))
  }

  private async recordChange(trx: Transaction<Database>, repository: Repository, change: Partial<RecordedChange>): Promise<void> {
    const full = { written: change.written ?? [], removed: change.removed ?? [], annotated: change.annotated ?? [] }
    for (const recorder of this.recorders) if (recorder.wants(repository)) await recorder.record(trx, repository, full)
  }

  /** Sets the check every removing or overwriting change passes (see {@link ChangeCheck}). */
  checkChanges(check: ChangeCheck): void {
    this.changeCheck = check
  }

  /** Calls `listener` after every committed change of a repository's content (see {@link ChangeListener}). */
  onChanged(listener: ChangeListener): void {
    this.changeListeners.push(listener)
  }

  private notifyStored(repository: Repository, files: readonly { path: string; sha256: string }[]): void {
    for (const listener of this.storedListeners) listener(repository, files)
  }

  private async notifyChanged(repository: Repository): Promise<void> {
    for (const listener of this.changeListeners) await listener(repository)
  }

  /** Streams `source` into the blob store, then records the asset. Overwrites an existing file. */
  async deploy(repository: Repository, path: string, source: Readable, options: DeployOptions): Promise<Asset> {
    await this.assertDeployable(repository, path)
    // A size known up front (expected, or announced by the client) is refused before any byte is stored.
    await this.admitUpload(repository, options.expected?.size ?? options.declaredSize)
    const blob = await this.blobs.put(source, { expected: options.expected, signal: options.signal })
    return this.record(repository, path, blob, options)
  }

  /**
   * Refuses (QUOTA_EXCEEDED) an upload of `bytes` into `repository` that its project's quota has
   * no room for, before any byte is stored: {@link deploy} does, and so do formats that stream
   * uploads their own way when the request declares the length (a container blob).
   * The commit counts again, exactly; this only spares storing what cannot be kept.
   */
  async admitUpload(repository: Repository, bytes: number | undefined): Promise<void> {
    if (bytes !== undefined) await this.quota?.admit(repository, bytes)
  }

  /**
   * Records an asset for content already stored, found by one of its checksums (Artifactory's
   * `X-Checksum-Deploy`). Throws NOT_FOUND when no such blob exists.
   */
  async deployByChecksum(repository: Repository, path: string, options: DeployOptions): Promise<Asset> {
    await this.assertDeployable(repository, path)
    return this.record(repository, path, await this.blobByChecksum(options.expected ?? {}), options)
  }

  /**
   * Records an asset for a blob the caller has just stored with {@link BlobStore.put}: for
   * formats that learn an asset's path only from the content they stream (an npm tarball's
   * version is inside it). Overwrites an existing file, like {@link deploy}.
   */
  async deployBlob(repository: Repository, path: string, blob: BlobInfo, options: DeployOptions): Promise<Asset> {
    await this.assertDeployable(repository, path)
    return this.record(repository, path, blob, options)
  }

  /** Creates a folder (a `PUT` of a path ending in `/`). */
  async createFolder(repository: Repository, path: string, user: string): Promise<Folder> {
    if (path === '') return this.rootFolder(repository)
    const existing = await this.getItem(repository, path)
    if (existing?.kind === 'file') throw conflict(`'${path}' is a file`)
    for (const ancestor of ancestorsOf(path)) {
      if ((await this.getItem(repository, ancestor))?.kind === 'file') throw conflict(`'${ancestor}' is a file`)
    }
    const now = Date.now()
    await this.db.transaction().execute((trx) => this.ensureFolders(trx, repository.key, [...ancestorsOf(path), path], now, user))
    return { repoKey: repository.key, path, createdAt: now, createdBy: user }
  }

  /**
   * Deletes a file, or a folder and everything below it (`''`: the whole repository's content).
   * Returns how many files went. Blobs stay for garbage collection. With a `guard`, the item and
   * everything below it must be allowed, else nothing goes (see {@link deleteBelow}). In a local
   * repository with the trash can on, the files go to the trash in the same transaction (their
   * bytes stay on the project's quota until the trash lets them go); `user` is recorded as who
   * deleted them.
   */
  async delete(repository: Repository, path: string, guard?: ChangeGuard, user = 'system'): Promise<number> {
    const item = await this.getItem(repository, path)
    if (!item) throw notFound(`'${repository.key}/${path}' does not exist`)
    if (guard && !guard.allows(path)) throw guard.refusal()
    const key = repository.key
    const isTrashed = this.trash?.keepsFrom(repository) === true
    const files = await this.db.transaction().execute(async (trx) => {
      await this.changeCheck?.(repository, trx, async () =>
        item.kind === 'file' ? [{ path }] : withinFolder(trx.selectFrom('assets').select('path').where('repo_key', '=', key), path).execute(),
      )
      const replaced = isTrashed ? await this.trash!.keep(trx, repository, path, item.kind, user) : 0
      await this.quota?.charge(
        trx,
        repository,
        async () => (isTrashed ? replaced : sizeOf(item.kind === 'file' ? trx.selectFrom('assets').where('path', '=', path) : withinFolder(trx.selectFrom('assets'), path), key)),
        0,
      )
      if (item.kind === 'file') {
        await trx.deleteFrom('properties').where('repo_key', '=', key).where('path', '=', path).execute()
        await trx.deleteFrom('assets').where('repo_key', '=', key).where('path', '=', path).execute()
        await this.recordChange(trx, repository, { removed: [path] })
        return 1
      }
      if (this.isRecorded(repository)) {
        const below = await withinFolder(trx.selectFrom('assets').select('path').where('repo_key', '=', key), path).execute()
        await this.recordChange(trx, repository, { removed: below.map((row) => row.path) })
      }
      let files: number
      if (guard) {
        files = await deleteBelow(trx, key, path, guard)
      } else {
        files = Number((await withinFolder(trx.deleteFrom('assets').where('repo_key', '=', key), path).executeTakeFirst()).numDeletedRows)
        await withinFolder(trx.deleteFrom('folders').where('repo_key', '=', key), path).execute()
        await withinFolder(trx.deleteFrom('properties').where('repo_key', '=', key), path).execute()
      }
      if (path !== '') {
        await trx.deleteFrom('folders').where('repo_key', '=', key).where('path', '=', path).execute()
        await trx.deleteFrom('properties').where('repo_key', '=', key).where('path', '=', path).execute()
      }
      return files
    })
    await this.notifyChanged(repository)
    return files
  }

  /**
   * Sets the given properties (replacing those names' values) on an item, and on everything below
   * it if `recursive`; with a `guard`, on all of it or, when one item is not allowed, on nothing.
   */
  async setProperties(repository: Repository, path: string, properties: Properties, recursive: boolean, guard?: ChangeGuard): Promise<void> {
    await this.changeProperties(repository, path, recursive, guard, async (trx, paths) => {
      for (const target of paths) await writeProperties(trx, repository.key, target, properties, false)
    })
  }

  /** Deletes the properties named `names` of an item, and below it if `recursive`; a `guard` as for {@link setProperties}. */
  async deleteProperties(repository: Repository, path: string, names: readonly string[], recursive: boolean, guard?: ChangeGuard): Promise<void> {
    await this.changeProperties(repository, path, recursive, guard, async (trx, paths) => {
      if (names.length === 0) return
      await trx.deleteFrom('properties').where('repo_key', '=', repository.key).where('path', 'in', paths).where('name', 'in', names).execute()
    })
  }

  /** Remote repositories: the upstream confirmed a cached file is current (its cache period starts again). */
  async markFetched(repoKey: string, path: string, at: number): Promise<void> {
    await this.db.updateTable('assets').set({ fetched_at: at }).where('repo_key', '=', repoKey).where('path', '=', path).execute()
  }

  /**
   * Applies removals, then records files, in one transaction: for formats that lay out several
   * files per push (a container image tag's manifest and layers), so that readers see a folder
   * before or after the change, never half of it. Every blob must already be in the blob store; a
   * blob given by sha256 alone must be known to the metadata store, else `BLOB_UNKNOWN` and nothing
   * changes. Folders that the removals leave empty go too. Callers check paths and permissions.
   * `alongside` runs last in the same transaction, for the caller's own rows (throwing undoes all).
   */
  async applyChanges(
    repository: Repository,
    changes: AssetChanges,
    user: string,
    alongside?: (change: ChangeTransaction) => Promise<void>,
    /** `replicated`: the change came from another instance of a federated repository; no recorder hears of it. */
    options: { readonly replicated?: boolean } = {},
  ): Promise<void> {
    const key = repository.key
    // One order for every writer, so that concurrent changes to the same rows lock them alike (no deadlock on PostgreSQL).
    const puts = [...(changes.put ?? [])].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    const removeFiles = changes.removeFiles ?? []
    const now = Date.now()
    const known = new Map<string, BlobInfo>()
    for (const { blob } of puts) if ('sha1' in blob) known.set(blob.sha256, blob)
    const lookups = [...new Set(puts.map((p) => p.blob.sha256).filter((h) => !known.has(h)))]
    await this.db.transaction().execute(async (trx) => {
      if (lookups.length > 0) {
        for (const row of await trx.selectFrom('blobs').selectAll().where('sha256', 'in', lookups).execute()) known.set(row.sha256, row)
        const missing = lookups.filter((h) => !known.has(h))
        if (missing.length > 0) throw new TroveError('BLOB_UNKNOWN', `blob sha256:${missing[0]} is not stored`, { missing })
      }
      const taken = changes.mustNotExist?.length
        ? await trx.selectFrom('assets').select('path').where('repo_key', '=', key).where('path', 'in', changes.mustNotExist).executeTakeFirst()
        : undefined
      if (taken) throw new TroveError('CONFLICT', `'${key}/${taken.path}' already exists`, { path: taken.path })
      await this.changeCheck?.(repository, trx, async () => {
        const clear = changes.clearFolders ?? []
        const paths = [...removeFiles, ...puts.map((p) => p.path)]
        if (clear.length === 0 && paths.length === 0) return []
        const existing = await trx
          .selectFrom('assets')
          .select(['path', 'sha256'])
          .where('repo_key', '=', key)
          .where((eb) => eb.or([...(clear.length > 0 ? [eb('folder', 'in', clear)] : []), ...(paths.length > 0 ? [eb('path', 'in', paths)] : [])]))
          .execute()
        const replacing = new Map(puts.map((p) => [p.path, p.blob.sha256]))
        return existing.filter((file) => replacing.get(file.path) !== file.sha256)
      })
      // Upload sessions that end here: their bytes were counted while they were open.
      const finishing = changes.finishUploads ?? []
      const sessions = finishing.length > 0 ? await trx.deleteFrom('upload_sessions').where('id', 'in', finishing).where('repo_key', '=', key).returning('size').execute() : []
      const sessionBytes = sessions.reduce((sum, s) => sum + Number(s.size), 0)
      // Trashed removals stay on the quota (the trash holds them); trash rows they replace leave it.
      const isTrashed = changes.trashRemoved !== undefined && removeFiles.length > 0 && this.trash?.keepsFrom(repository) === true
      const replacedTrash = isTrashed ? await this.trash!.keepFiles(trx, repository, removeFiles, changes.trashRemoved!.user) : 0
      // Quota: what the change replaces or removes (and the sessions' bytes), against what it records.
      const putSizes = new Map(puts.map((p) => [p.path, known.get(p.blob.sha256)!.size]))
      await this.quota?.charge(
        trx,
        repository,
        async () => {
          const clear = changes.clearFolders ?? []
          const paths = [...(isTrashed ? [] : removeFiles), ...putSizes.keys()]
          if (clear.length === 0 && paths.length === 0) return sessionBytes + replacedTrash
          // Two index lookups rather than one OR, which SQLite answers by reading the whole repository.
          const cleared = clear.length > 0 ? await sizeOf(trx.selectFrom('assets').where('folder', 'in', clear), key) : 0
          const named = paths.length > 0 ? await sizeOf(trx.selectFrom('assets').where('path', 'in', paths).$if(clear.length > 0, (q) => q.where('folder', 'not in', clear)), key) : 0
          return sessionBytes + replacedTrash + cleared + named
        },
        [...putSizes.values()].reduce((sum, size) => sum + Number(size), 0),
      )
      const isRecorded = !options.replicated && this.isRecorded(repository)
      const removed: string[] = [...removeFiles]
      if (isRecorded && (changes.clearFolders ?? []).length > 0) {
        const cleared = await trx.selectFrom('assets').select('path').where('repo_key', '=', key).where('folder', 'in', changes.clearFolders!).execute()
        removed.push(...cleared.map((row) => row.path))
      }
      const emptied = new Set<string>()
      for (const folder of changes.clearFolders ?? []) {
        const files = trx.selectFrom('assets').select('path').where('repo_key', '=', key).where('folder', '=', folder)
        await trx.deleteFrom('properties').where('repo_key', '=', key).where('path', 'in', files).execute()
        await trx.deleteFrom('assets').where('repo_key', '=', key).where('folder', '=', folder).execute()
        emptied.add(folder)
      }
      if (removeFiles.length > 0) {
        await trx.deleteFrom('properties').where('repo_key', '=', key).where('path', 'in', removeFiles).execute()
        await trx.deleteFrom('assets').where('repo_key', '=', key).where('path', 'in', removeFiles).execute()
        for (const path of removeFiles) emptied.add(parentOf(path))
      }
      const fresh = [...known.values()]
        .filter((b) => puts.some((p) => p.blob.sha256 === b.sha256 && 'sha1' in p.blob))
        .sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1))
      if (fresh.length > 0) {
        await trx
          .insertInto('blobs')
          .values(fresh.map((b) => ({ sha256: b.sha256, sha1: b.sha1, md5: b.md5, size: b.size, created_at: now })))
          .onConflict((oc) => oc.column('sha256').doNothing())
          .execute()
      }
      await this.ensureFolders(trx, key, [...new Set(puts.flatMap((p) => ancestorsOf(p.path)))], now, user)
      for (const put of puts) {
        const blob = known.get(put.blob.sha256)!
        await upsertAsset(
          trx,
          assetRow({ repoKey: key, path: put.path, blob, contentType: put.contentType, original: { sha256: blob.sha256 }, user, now }),
        )
        if (put.properties && put.properties.size > 0) await writeProperties(trx, key, put.path, put.properties, true)
      }
      // Folders left empty go, then their parents if that empties them too.
      for (let folders = [...emptied]; folders.length > 0; ) {
        const next = new Set<string>()
        for (const folder of folders) {
          if (folder === '') continue
          const child =
            (await trx.selectFrom('assets').select('path').where('repo_key', '=', key).where('folder', '=', folder).limit(1).executeTakeFirst()) ??
            (await trx.selectFrom('folders').select('path').where('repo_key', '=', key).where('folder', '=', folder).limit(1).executeTakeFirst())
          if (child) continue
          await trx.deleteFrom('properties').where('repo_key', '=', key).where('path', '=', folder).execute()
          await trx.deleteFrom('folders').where('repo_key', '=', key).where('path', '=', folder).execute()
          next.add(parentOf(folder))
        }
        folders = [...next]
      }
      if (isRecorded) {
        const written = new Set(puts.map((p) => p.path))
        await this.recordChange(trx, repository, { written: [...written], removed: [...new Set(removed)].filter((p) => !written.has(p)) })
      }
      if (alongside) await alongside(trx as unknown as ChangeTransaction)
    })
    await this.notifyChanged(repository)
    if (puts.length > 0) this.notifyStored(repository, puts.map((p) => ({ path: p.path, sha256: p.blob.sha256 })))
  }

  /** Runs `change` in one transaction on the item at `path`, then, if `recursive`, on each page of the items below it. */
  private async changeProperties(
    repository: Repository,
    path: string,
    recursive: boolean,
    guard: ChangeGuard | undefined,
    change: (trx: Transaction<Database>, paths: string[]) => Promise<void>,
  ): Promise<void> {
    const item = await this.getItem(repository, path)
    if (!item) throw notFound(`'${repository.key}/${path}' does not exist`)
    if (guard && !guard.allows(path)) throw guard.refusal()
    await this.db.transaction().execute(async (trx) => {
      await change(trx, [path])
      if (item.kind === 'file') await this.recordChange(trx, repository, { annotated: [path] })
      if (!recursive || item.kind === 'file') return
      for await (const { table, paths } of checkedPagesBelow(trx, repository.key, path, guard)) {
        await change(trx, paths)
        if (table === 'assets') await this.recordChange(trx, repository, { annotated: paths })
      }
    })
    await this.notifyChanged(repository)
  }

  private async assertDeployable(repository: Repository, path: string): Promise<void> {
    if (path === '') throw new TroveError('PATH_INVALID', 'a file needs a path inside the repository')
    if (!repository.isPathAllowed(path)) {
      throw new TroveError('DENIED', `'${path}' is not allowed in '${repository.key}' by its includes/excludes patterns`)
    }
    const folder = await this.db
      .selectFrom('folders')
      .select('path')
      .where('repo_key', '=', repository.key)
      .where('path', '=', path)
      .executeTakeFirst()
    if (folder) throw conflict(`'${path}' is a folder in '${repository.key}'`)
    const ancestors = ancestorsOf(path)
    if (ancestors.length > 0) {
      const file = await this.db
        .selectFrom('assets')
        .select('path')
        .where('repo_key', '=', repository.key)
        .where('path', 'in', ancestors)
        .executeTakeFirst()
      if (file) throw conflict(`'${file.path}' is a file in '${repository.key}', not a folder`)
    }
  }

  private async record(repository: Repository, path: string, blob: BlobInfo, options: DeployOptions): Promise<Asset> {
    const now = Date.now()
    const original = Object.fromEntries(
      (['sha256', 'sha1', 'md5'] as const).filter((a) => options.expected?.[a] !== undefined).map((a) => [a, options.expected![a]]),
    )
    const row = assetRow({
      repoKey: repository.key,
      path,
      blob,
      contentType: options.contentType,
      original,
      user: options.user,
      now,
      source: options.source,
    })
    await this.db.transaction().execute(async (trx) => {
      await this.changeCheck?.(repository, trx, async () =>
        (await trx.selectFrom('assets').select(['path', 'sha256']).where('repo_key', '=', repository.key).where('path', '=', path).execute()).filter((f) => f.sha256 !== blob.sha256),
      )
      await this.quota?.charge(trx, repository, () => sizeOf(trx.selectFrom('assets').where('path', '=', path), repository.key), blob.size)
      await trx
        .insertInto('blobs')
        .values({ sha256: blob.sha256, sha1: blob.sha1, md5: blob.md5, size: blob.size, created_at: now })
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute()
      await this.ensureFolders(trx, repository.key, ancestorsOf(path), now, options.user)
      await upsertAsset(trx, row)
      if (options.properties && options.properties.size > 0) {
        await writeProperties(trx, repository.key, path, options.properties, true)
      }
      await this.recordChange(trx, repository, { written: [path] })
    })
    await this.notifyChanged(repository)
    this.notifyStored(repository, [{ path, sha256: blob.sha256 }])
    return (await this.getAsset(repository.key, path))!
  }

  private async ensureFolders(trx: Transaction<Database>, repoKey: string, paths: readonly string[], now: number, user: string) {
    if (paths.length === 0) return
    await trx
      .insertInto('folders')
      .values(paths.map((p) => ({ repo_key: repoKey, path: p, folder: parentOf(p), name: nameOf(p), created_at: now, created_by: user })))
      .onConflict((oc) => oc.columns(['repo_key', 'path']).doNothing())
      .execute()
  }
}
