import { createHash } from 'node:crypto'
import type { Transaction } from 'kysely'
import type { ReplicatedFile, DigestTree } from '../../api/federation.js'
import type { Database } from '../../metadata/schema.js'
import type { ChangeRecorder, RecordedChange } from '../artifacts/artifact-service.js'
import type { Repository } from '../repositories/repository-service.js'
import type { HybridClock } from './clock.js'
import type { FederationDb, FederationTrx } from './tables.js'

/** Rows written or read per statement. */
const BATCH = 200

/** The enabled members of a federated repository, as configured. */
export function enabledMembers(repository: Repository): string[] {
  const members = repository.config.members
  if (!Array.isArray(members)) return []
  return members.filter((m: { url?: unknown; enabled?: unknown }) => typeof m.url === 'string' && m.enabled !== false).map((m: { url: string }) => normalizeUrl(m.url))
}

export function isFederated(repository: Repository): boolean {
  return repository.config.rclass === 'federated'
}

export function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, '')
}

/** Leaf of the digest tree a path belongs to. */
export function bucketOf(path: string): number {
  return createHash('sha256').update(path).digest()[0]!
}

/**
 * The outbox, written in the transaction of each change of a federated repository (an
 * {@link ChangeRecorder} of ArtifactService): every path it writes, annotates or removes gets a new
 * clock stamp in `federation_versions` (a tombstone for a removal), and a row for each enabled
 * member in `federation_outbox`, so that a change is never committed without being owed.
 */
export class FederationRecorder implements ChangeRecorder {
  constructor(
    private readonly clock: HybridClock,
    /** Told after the commit that something is owed (the sender wakes up). */
    private readonly onRecorded: (repoKey: string) => void,
  ) {}

  wants(repository: Repository): boolean {
    return isFederated(repository)
  }

  async record(transaction: Transaction<Database>, repository: Repository, change: RecordedChange): Promise<void> {
    const trx = transaction as unknown as FederationTrx
    const key = repository.key
    const now = Date.now()
    const touched = [...new Set([...change.written, ...change.annotated])]
    const contents = new Map<string, string>()
    for (let i = 0; i < touched.length; i += BATCH) {
      const rows = await trx.selectFrom('assets').select(['path', 'sha256']).where('repo_key', '=', key).where('path', 'in', touched.slice(i, i + BATCH)).execute()
      for (const row of rows) contents.set(row.path, row.sha256)
    }
    const versions = [
      ...[...contents].map(([path, sha256]) => ({ path, sha256, deleted: 0 })),
      ...change.removed.filter((p) => !contents.has(p)).map((path) => ({ path, sha256: null, deleted: 1 })),
    ].map((v) => ({ repo_key: key, path: v.path, bucket: bucketOf(v.path), hlc: this.clock.tick(), sha256: v.sha256, deleted: v.deleted, updated_at: now }))
    if (versions.length === 0) return
    await writeVersions(trx, versions)
    const members = enabledMembers(repository)
    for (let i = 0; i < versions.length; i += BATCH) {
      const rows = versions.slice(i, i + BATCH).flatMap((v) => members.map((member) => ({ repo_key: key, member, path: v.path, hlc: v.hlc, created_at: now })))
      if (rows.length === 0) continue
      await trx
        .insertInto('federation_outbox')
        .values(rows)
        .onConflict((oc) => oc.columns(['repo_key', 'member', 'path']).doUpdateSet((eb) => ({ hlc: eb.ref('excluded.hlc') })))
        .execute()
    }
    // Told once the transaction is likely over; a wake-up before the commit finds nothing and the next one (or the interval) sends it.
    setTimeout(() => this.onRecorded(key), 20).unref()
  }
}

export async function writeVersions(trx: FederationTrx, rows: readonly { repo_key: string; path: string; bucket: number; hlc: string; sha256: string | null; deleted: number; updated_at: number }[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    await trx
      .insertInto('federation_versions')
      .values(rows.slice(i, i + BATCH))
      .onConflict((oc) =>
        oc.columns(['repo_key', 'path']).doUpdateSet((eb) => ({
          hlc: eb.ref('excluded.hlc'),
          sha256: eb.ref('excluded.sha256'),
          deleted: eb.ref('excluded.deleted'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute()
  }
}

/** The latest version of each of `paths` here, as sent to a member (paths never seen are left out). */
export async function currentFiles(db: FederationDb, repoKey: string, paths: readonly string[]): Promise<ReplicatedFile[]> {
  const files: ReplicatedFile[] = []
  for (let i = 0; i < paths.length; i += BATCH) {
    const page = paths.slice(i, i + BATCH)
    const versions = await db.selectFrom('federation_versions').selectAll().where('repo_key', '=', repoKey).where('path', 'in', page).execute()
    const assets = new Map(
      (await db.selectFrom('assets').select(['path', 'sha256', 'sha1', 'md5', 'size', 'content_type']).where('repo_key', '=', repoKey).where('path', 'in', page).execute()).map((a) => [a.path, a]),
    )
    const properties = new Map<string, Record<string, string[]>>()
    for (const row of await db.selectFrom('properties').select(['path', 'name', 'value']).where('repo_key', '=', repoKey).where('path', 'in', page).execute()) {
      const of = properties.get(row.path) ?? {}
      ;(of[row.name] ??= []).push(row.value)
      properties.set(row.path, of)
    }
    for (const version of versions) {
      const asset = assets.get(version.path)
      if (version.deleted === 1 || !asset) {
        files.push({ path: version.path, hlc: version.hlc, deleted: true })
        continue
      }
      files.push({
        path: version.path,
        hlc: version.hlc,
        deleted: false,
        blob: { sha256: asset.sha256, sha1: asset.sha1, md5: asset.md5, size: Number(asset.size) },
        contentType: asset.content_type,
        properties: properties.get(version.path) ?? {},
      })
    }
  }
  return files
}

/** The digest tree of a repository's versions: a hash per bucket of (path, stamp) pairs, and of the buckets. */
export async function digestTree(db: FederationDb, repoKey: string): Promise<DigestTree> {
  const hashes = Array.from({ length: 256 }, () => createHash('sha256'))
  let after = ''
  for (;;) {
    const rows = await db.selectFrom('federation_versions').select(['path', 'bucket', 'hlc']).where('repo_key', '=', repoKey).where('path', '>', after).orderBy('path').limit(5000).execute()
    for (const row of rows) hashes[row.bucket]!.update(`${row.path}\0${row.hlc}\n`)
    if (rows.length < 5000) break
    after = rows[rows.length - 1]!.path
  }
  const buckets = hashes.map((h) => h.digest('hex'))
  return { root: createHash('sha256').update(buckets.join('')).digest('hex'), buckets }
}

/** The (path, stamp) pairs of some buckets, for the full sync to compare. */
export async function bucketEntries(db: FederationDb, repoKey: string, buckets: readonly number[]): Promise<Record<string, string>> {
  const entries: Record<string, string> = {}
  if (buckets.length === 0) return entries
  const rows = await db.selectFrom('federation_versions').select(['path', 'hlc']).where('repo_key', '=', repoKey).where('bucket', 'in', [...buckets]).execute()
  for (const row of rows) entries[row.path] = row.hlc
  return entries
}
