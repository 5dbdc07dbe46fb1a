import type { Readable } from 'node:stream'
import { sql, type Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database } from '../../metadata/schema.js'
import type { ArtifactService, Asset, DownloadCount } from '../artifacts/artifact-service.js'
import type { Repository } from '../repositories/repository-service.js'
import type { DownloadPolicies } from '../scanning/policies.js'
import type { Sender } from '../../storage/storage-driver.js'
import type { RemoteResult } from './remote-engine.js'

/**
 * A file a resolution found for a download, with the repository that holds it: the repository
 * asked, or the member of a virtual that answered. Its policies apply, and its file is counted.
 */
export type ServedFile =
  | { readonly kind: 'file'; readonly repository: Repository; readonly asset: Asset }
  /**
   * Streaming in from the remote `repository`'s upstream while it is cached at `path` (see
   * {@link RemoteResult}): not scanned yet, counted once the stream has ended (the file is then
   * committed).
   */
  | {
      readonly kind: 'stream'
      readonly repository: Repository
      readonly path: string
      readonly stream: Readable
      readonly size: number | undefined
      readonly contentType: string
    }

/** Something stored that a download serves without sending it as a file (an OCI manifest, sent from its bytes). */
export interface StoredDownload {
  readonly kind: 'stored'
  /** The repository that holds it, or its key. */
  readonly repository: Repository | string
  readonly path: string
  readonly sha256: string
}

export interface AdmitOptions {
  /** How a refusal names the artifact (default: the path's last segment). */
  readonly label?: string | undefined
  /** Whether the scanner reads such files (default: the scanner's extractors decide). */
  readonly isScannable?: boolean | undefined
}

/** What the remote engine answered for `path` in the remote `repository`, as a file to serve. */
export function servedFrom(repository: Repository, path: string, result: RemoteResult): ServedFile {
  return result.kind === 'cached'
    ? { kind: 'file', repository, asset: result.asset }
    : { kind: 'stream', repository, path, stream: result.stream, size: result.size, contentType: result.contentType }
}

/**
 * The one download path of every format: what a resolution found is checked against the download
 * policies once, before its first byte, with the repository that holds it and the one the client
 * asked (a virtual's policies apply to what its members serve); and each download is counted once,
 * on the file of the member that served it. Counts are written behind the downloads, in one
 * transaction for those that arrive while the previous write runs, so that a burst of pulls costs
 * a few writes rather than one each. This is the one place that writes download statistics.
 */
export class Downloads {
  private pending = new Map<string, DownloadCount>()
  private writing: Promise<void> | undefined

  constructor(
    private readonly deps: {
      readonly policies: Pick<DownloadPolicies, 'assertDownloadAllowed'>
      /** Where download statistics are written (the files' `download_count`, `downloaded_at`, `downloaded_by`): only here. */
      readonly db: Kysely<Database>
      readonly artifacts: Pick<ArtifactService, 'openSender' | 'downloadUrl'>
      readonly logger: Pick<Logger, 'warn'>
    },
  ) {}

  /**
   * Throws `DENIED` when a download policy of the holding repository or of `asked` blocks the file
   * (see `DownloadPolicies.assertDownloadAllowed`). A refused stream is drained into the cache, so
   * that it gets scanned and a later request is decided by its scan.
   */
  async admit(asked: Repository, served: ServedFile | StoredDownload, options: AdmitOptions = {}): Promise<void> {
    await this.deps.policies.assertDownloadAllowed({
      repository: served.repository,
      via: asked,
      path: served.kind === 'file' ? served.asset.path : served.path,
      sha256: served.kind === 'file' ? served.asset.sha256 : served.kind === 'stored' ? served.sha256 : undefined,
      stream: served.kind === 'stream' ? served.stream : undefined,
      label: options.label,
      isScannable: options.isScannable,
    })
  }

  /** Where the client may fetch a stored file straight from the object store, when downloads are redirected; see `BlobStore.downloadUrl`. */
  downloadUrl(asset: Asset): Promise<string | undefined> {
    return this.deps.artifacts.downloadUrl(asset)
  }

  /** Opens a stored file (or a range of it) to send; see `BlobStore.openSender`. */
  openSender(asset: Asset, range?: { start: number; end: number }): Promise<Sender> {
    return this.deps.artifacts.openSender(asset, range)
  }

  /**
   * Counts one download by `user` (a `HEAD`, a `304` or a refusal is none: call this when the
   * body goes out). A stream is counted when it has ended, on the file its download committed;
   * one that never ends (the client went away, the upstream failed) is not counted.
   */
  count(served: ServedFile | StoredDownload, user: string): void {
    if (served.kind === 'stream') {
      served.stream.once('end', () => this.add(served.repository.key, served.path, user))
      return
    }
    if (served.kind === 'file') this.add(served.asset.repoKey, served.asset.path, user)
    else this.add(typeof served.repository === 'string' ? served.repository : served.repository.key, served.path, user)
  }

  /** Writes the counts still pending (at shutdown). */
  async close(): Promise<void> {
    while (this.writing) await this.writing
  }

  private add(repoKey: string, path: string, user: string): void {
    const key = `${repoKey}\0${path}`
    const known = this.pending.get(key)
    this.pending.set(key, { repoKey, path, user, at: Date.now(), count: (known?.count ?? 0) + 1 })
    this.writing ??= this.write()
  }

  /** Writes batches until none is pending; a failed write is logged and its counts dropped, not retried. */
  private async write(): Promise<void> {
    // Downloads answered in the same turn join the first batch.
    await new Promise((resolve) => setImmediate(resolve))
    while (this.pending.size > 0) {
      const batch = [...this.pending.values()]
      this.pending = new Map()
      try {
        await this.record(batch)
      } catch (err) {
        this.deps.logger.warn({ err, entries: batch.length }, 'could not record downloads')
      }
    }
    this.writing = undefined
  }

  /** Adds a batch of counts to the files' statistics, in one transaction. */
  private async record(batch: readonly DownloadCount[]): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      for (const d of batch) {
        await trx
          .updateTable('assets')
          .set({ download_count: sql`download_count + ${d.count}`, downloaded_at: d.at, downloaded_by: d.user })
          .where('repo_key', '=', d.repoKey)
          .where('path', '=', d.path)
          .execute()
      }
    })
  }
}
