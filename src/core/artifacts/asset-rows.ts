/**
 * The SQL side of artifacts, shared by the services of this folder: rows of the `assets` table
 * and the query pieces that select them.
 */
import type { SelectQueryBuilder, Transaction } from 'kysely'
import type { AssetTable, Database } from '../../metadata/schema.js'
import type { BlobInfo } from '../blobs/blob-store.js'
import { nameOf, parentOf } from '../paths.js'
import type { Asset, Properties } from './artifact-types.js'

export function assetRow(input: {
  readonly repoKey: string
  readonly path: string
  readonly blob: Pick<BlobInfo, 'sha256' | 'sha1' | 'md5' | 'size'>
  readonly contentType: string
  readonly original: Readonly<Record<string, string | undefined>>
  readonly user: string
  readonly now: number
  readonly source?: { readonly url: string; readonly fetchedAt: number } | undefined
}): AssetTable {
  return {
    repo_key: input.repoKey,
    path: input.path,
    folder: parentOf(input.path),
    name: nameOf(input.path),
    sha256: input.blob.sha256,
    sha1: input.blob.sha1,
    md5: input.blob.md5,
    size: input.blob.size,
    content_type: input.contentType,
    original_checksums: JSON.stringify(input.original),
    created_at: input.now,
    created_by: input.user,
    modified_at: input.now,
    modified_by: input.user,
    downloaded_at: null,
    downloaded_by: null,
    download_count: 0,
    source_url: input.source?.url ?? null,
    fetched_at: input.source?.fetchedAt ?? null,
  }
}

/** Creates a file, or points an existing one at new content (keeping its creation and download history). */
export async function upsertAsset(trx: Transaction<Database>, row: AssetTable): Promise<void> {
  await trx
    .insertInto('assets')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['repo_key', 'path']).doUpdateSet({
        sha256: row.sha256,
        sha1: row.sha1,
        md5: row.md5,
        size: row.size,
        content_type: row.content_type,
        original_checksums: row.original_checksums,
        modified_at: row.modified_at,
        modified_by: row.modified_by,
        source_url: row.source_url ?? null,
        fetched_at: row.fetched_at ?? null,
      }),
    )
    .execute()
}

export async function writeProperties(trx: Transaction<Database>, repoKey: string, path: string, properties: Properties, replaceAll: boolean) {
  let clear = trx.deleteFrom('properties').where('repo_key', '=', repoKey).where('path', '=', path)
  if (!replaceAll) clear = clear.where('name', 'in', [...properties.keys()])
  await clear.execute()
  const rows = [...properties].flatMap(([name, values]) => [...new Set(values)].map((value) => ({ repo_key: repoKey, path, name, value })))
  if (rows.length > 0) await trx.insertInto('properties').values(rows).execute()
}

/**
 * Restricts a query to paths strictly below `folder` with an index-friendly range instead of
 * LIKE: every path below `a/b` sorts between `a/b/` and `a/b0` (`0` follows `/`).
 */
export function withinFolder<Q extends { where: (...args: never[]) => Q }>(query: Q, folder: string): Q {
  if (folder === '') return query
  const q = query as unknown as { where(column: string, op: string, value: string): unknown }
  return (q.where('path', '>=', `${folder}/`) as typeof q).where('path', '<', `${folder}0`) as unknown as Q
}

/** The total size of the assets of `repoKey` a query selects (for quota accounting). */
export async function sizeOf(query: SelectQueryBuilder<Database, 'assets', object>, repoKey: string): Promise<number> {
  const row = await query.select((eb) => eb.fn.sum<number>('size').as('bytes')).where('repo_key', '=', repoKey).executeTakeFirst()
  return Number(row?.bytes ?? 0)
}

export function toAsset(row: AssetTable): Asset {
  return {
    repoKey: row.repo_key,
    path: row.path,
    name: row.name,
    sha256: row.sha256,
    sha1: row.sha1,
    md5: row.md5,
    size: row.size,
    contentType: row.content_type,
    originalChecksums: JSON.parse(row.original_checksums) as Asset['originalChecksums'],
    createdAt: row.created_at,
    createdBy: row.created_by,
    modifiedAt: row.modified_at,
    modifiedBy: row.modified_by,
    downloadedAt: row.downloaded_at,
    downloadedBy: row.downloaded_by,
    downloadCount: row.download_count,
    sourceUrl: row.source_url ?? null,
    fetchedAt: row.fetched_at ?? null,
  }
}
