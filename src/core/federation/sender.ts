import type { Logger } from 'pino'
import type { ReplicatedFile } from '../../api/federation.js'
import type { TroveConfig } from '../../config/config.js'
import type { BlobStore } from '../blobs/blob-store.js'
import type { Repository } from '../repositories/repository-service.js'
import { MemberClient } from './member-client.js'
import type { FederationDb } from './tables.js'
import { currentFiles } from './versions.js'

/** Paths sent per change request. */
const BATCH = 200
/** Batches sent to one member per pass, so that one busy member does not hold the others. */
const BATCHES_PER_PASS = 50
/** Small blobs sent at once to one member. */
const SMALL_BLOBS_AT_ONCE = 8
const SMALL_BLOB_BYTES = 1024 * 1024
const LARGE_BLOBS_AT_ONCE = 2

export type FederationSettings = TroveConfig['federation']

/**
 * Delivers the outbox of one repository to one member: blobs first (only those the member lacks;
 * large ones in resumable chunks), then the files' latest versions; an outbox row goes only when
 * the member has acknowledged the version it was written for (a newer change keeps it owed).
 * A member that does not take its backlog keeps it up to `maxBacklog` rows; past that the backlog
 * is dropped and a full sync (full-sync.ts) repairs the member instead.
 */
export class MemberDelivery {
  constructor(
    private readonly deps: {
      readonly db: FederationDb
      readonly blobs: BlobStore
      readonly settings: FederationSettings
      readonly instanceId: string
      readonly logger: Logger
    },
  ) {}

  client(url: string): MemberClient {
    return new MemberClient(url, this.deps.settings.token)
  }

  /** Makes sure the member has a state row; a new member is owed a full sync. */
  async ensureMember(repoKey: string, url: string): Promise<void> {
    await this.deps.db
      .insertInto('federation_members')
      .values({ repo_key: repoKey, url, paused: 0, last_error: null, last_error_at: null, last_sent_at: null, last_full_sync_at: null, full_sync_wanted: 1, overflowed_at: null })
      .onConflict((oc) => oc.columns(['repo_key', 'url']).doNothing())
      .execute()
  }

  /** Sends what `url` is owed of `repository`; returns whether anything is left. Errors are recorded on the member and thrown. */
  async deliver(repository: Repository, url: string): Promise<boolean> {
    const { db } = this.deps
    const key = repository.key
    await this.boundBacklog(key, url)
    const client = this.client(url)
    for (let n = 0; n < BATCHES_PER_PASS; n++) {
      const owed = await db.selectFrom('federation_outbox').select(['path', 'hlc']).where('repo_key', '=', key).where('member', '=', url).orderBy('created_at').orderBy('path').limit(BATCH).execute()
      if (owed.length === 0) return false
      const files = await currentFiles(db, key, owed.map((o) => o.path))
      await this.sendBlobs(client, files)
      if (files.length > 0) await client.changes({ from: this.deps.instanceId, files })
      // Acknowledged: the rows of the versions sent (a row rewritten since by a newer change stays).
      const sent = new Map(files.map((f) => [f.path, f.hlc]))
      await db.transaction().execute(async (trx) => {
        for (const row of owed) {
          // A path with no version (a dropped repository's) is not owed either.
          await trx
            .deleteFrom('federation_outbox')
            .where('repo_key', '=', key)
            .where('member', '=', url)
            .where('path', '=', row.path)
            .where('hlc', '<=', sent.get(row.path) ?? row.hlc)
            .execute()
        }
      })
      await db.updateTable('federation_members').set({ last_sent_at: Date.now(), last_error: null, last_error_at: null }).where('repo_key', '=', key).where('url', '=', url).execute()
    }
    return true
  }

  private async sendBlobs(client: MemberClient, files: readonly ReplicatedFile[]): Promise<void> {
    const blobs = new Map(files.flatMap((f) => (f.blob ? [[f.blob.sha256, f.blob.size] as const] : [])))
    if (blobs.size === 0) return
    const missing = await client.missing([...blobs.keys()])
    // Blobs in one request each: small ones (latency-bound) 8 at a time, larger ones (bandwidth-bound) 2 at a time;
    // those over chunkBytes one by one, in resumable chunks.
    const whole = missing.filter((sha256) => blobs.get(sha256)! <= this.deps.settings.chunkBytes)
    for (const [queue, width] of [
      [whole.filter((sha256) => blobs.get(sha256)! <= SMALL_BLOB_BYTES), SMALL_BLOBS_AT_ONCE],
      [whole.filter((sha256) => blobs.get(sha256)! > SMALL_BLOB_BYTES), LARGE_BLOBS_AT_ONCE],
    ] as const) {
      await Promise.all(
        Array.from({ length: Math.min(width, queue.length) }, async () => {
          for (let sha256 = queue.shift(); sha256 !== undefined; sha256 = queue.shift()) {
            await client.putBlob(sha256, await this.deps.blobs.open(sha256), blobs.get(sha256)!)
          }
        }),
      )
    }
    for (const sha256 of missing) {
      const size = blobs.get(sha256)!
      if (size <= this.deps.settings.chunkBytes) continue
      // Resumable: the member keeps what it received in an upload session; a retry goes on from there.
      const session = await client.blobSession(sha256)
      let offset = session.size
      while (offset < size) {
        const end = Math.min(offset + this.deps.settings.chunkBytes, size)
        offset = (await client.appendBlob(session.id, offset, await this.deps.blobs.open(sha256, { start: offset, end: end - 1 }), end - offset)).size
      }
      await client.completeBlob(session.id, sha256)
    }
  }

  /**
   * Past `maxBacklog` rows for a member that is not taking them (its last attempt failed), its
   * backlog is dropped and replaced by a full sync. A member that takes them (what a full sync owes
   * it included) keeps them, however many.
   */
  private async boundBacklog(key: string, url: string): Promise<void> {
    const { db, settings } = this.deps
    const member = await db.selectFrom('federation_members').select('last_error').where('repo_key', '=', key).where('url', '=', url).executeTakeFirst()
    if (!member?.last_error) return
    const { count } = await db
      .selectFrom('federation_outbox')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('repo_key', '=', key)
      .where('member', '=', url)
      .executeTakeFirstOrThrow()
    if (Number(count) <= settings.maxBacklog) return
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('federation_outbox').where('repo_key', '=', key).where('member', '=', url).execute()
      await trx.updateTable('federation_members').set({ overflowed_at: Date.now(), full_sync_wanted: 1 }).where('repo_key', '=', key).where('url', '=', url).execute()
    })
    this.deps.logger.warn({ repo: key, member: url, backlog: Number(count) }, 'a federation member\'s backlog passed federation.maxBacklog: dropped, a full sync repairs the member')
  }

  async recordError(key: string, url: string, err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err)
    await this.deps.db.updateTable('federation_members').set({ last_error: message.slice(0, 1000), last_error_at: Date.now() }).where('repo_key', '=', key).where('url', '=', url).execute()
  }
}
