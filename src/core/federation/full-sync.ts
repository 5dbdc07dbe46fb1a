import type { MemberClient } from './member-client.js'
import type { FederationDb } from './tables.js'
import { bucketEntries, digestTree } from './versions.js'

/** Buckets compared per request. */
const BUCKETS_PER_REQUEST = 16

/**
 * The full reconciliation of one repository with one member: compare digest trees (one request
 * when they agree), then, bucket by bucket where they differ, the (path, stamp) pairs; every path
 * whose version here is newer than the member's (or that the member lacks) is put back into the
 * member's outbox, so that the ordinary delivery sends it. The member does the same towards this
 * instance, so each side repairs the other with what it has newer: a member restored from an older
 * copy of its data gets back what it lost, and a file it brings back from the past loses to the
 * newer tombstone. Returns how many paths were owed again.
 */
export async function reconcile(db: FederationDb, repoKey: string, url: string, client: MemberClient): Promise<number> {
  const [local, remote] = await Promise.all([digestTree(db, repoKey), client.tree()])
  if (local.root === remote.root) return 0
  const differing = local.buckets.flatMap((hash, index) => (hash !== remote.buckets[index] ? [index] : []))
  let owed = 0
  for (let i = 0; i < differing.length; i += BUCKETS_PER_REQUEST) {
    const buckets = differing.slice(i, i + BUCKETS_PER_REQUEST)
    const [mine, theirs] = await Promise.all([bucketEntries(db, repoKey, buckets), client.entries(buckets)])
    const newer = Object.entries(mine).filter(([path, hlc]) => (theirs[path] ?? '') < hlc)
    const now = Date.now()
    for (let j = 0; j < newer.length; j += 200) {
      const rows = newer.slice(j, j + 200).map(([path, hlc]) => ({ repo_key: repoKey, member: url, path, hlc, created_at: now }))
      await db
        .insertInto('federation_outbox')
        .values(rows)
        .onConflict((oc) => oc.columns(['repo_key', 'member', 'path']).doUpdateSet((eb) => ({ hlc: eb.ref('excluded.hlc') })))
        .execute()
    }
    owed += newer.length
  }
  return owed
}
