/**
 * Changes to everything below a folder (a folder delete, a recursive property change), made page
 * by page so that memory stays flat however big the folder, and, with a {@link ChangeGuard},
 * refused whole when one item below is outside what the caller may change (docs/access.md).
 */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import { conflict } from '../errors.js'
import type { ChangeGuard } from './artifact-types.js'
import { withinFolder } from './asset-rows.js'

/** Rows read (and changed) at a time. */
const PAGE_SIZE = 500

/** The folders, then the files, strictly below `folder`, a page at a time in path order; each page checked against `guard` (its refusal thrown) before it is given. */
export async function* checkedPagesBelow(
  db: Kysely<Database> | Transaction<Database>,
  repoKey: string,
  folder: string,
  guard: ChangeGuard | undefined,
): AsyncGenerator<{ readonly table: 'folders' | 'assets'; readonly paths: string[] }> {
  for (const table of ['folders', 'assets'] as const) {
    let after: string | undefined
    for (;;) {
      // Keyset paging: each page is one bounded query, whatever was changed in the pages before.
      let query = withinFolder(db.selectFrom(table).select('path').where('repo_key', '=', repoKey), folder)
      if (after !== undefined) query = query.where('path', '>', after)
      const paths = (await query.orderBy('path').limit(PAGE_SIZE).execute()).map((row) => row.path)
      if (guard && !paths.every((path) => guard.allows(path))) throw guard.refusal()
      if (paths.length > 0) yield { table, paths }
      if (paths.length < PAGE_SIZE) break
      after = paths[paths.length - 1]
    }
  }
}

/**
 * Deletes what is below `folder` (not the folder itself) as far as `guard` allows it all, page by
 * page, deleting only paths it checked: a file added meanwhile by another writer is never deleted
 * unchecked; it makes the delete fail (CONFLICT) and undo itself instead. Returns how many files went.
 */
export async function deleteBelow(trx: Transaction<Database>, repoKey: string, folder: string, guard: ChangeGuard): Promise<number> {
  let files = 0
  for await (const { table, paths } of checkedPagesBelow(trx, repoKey, folder, guard)) {
    await trx.deleteFrom('properties').where('repo_key', '=', repoKey).where('path', 'in', paths).execute()
    const deleted = await trx.deleteFrom(table).where('repo_key', '=', repoKey).where('path', 'in', paths).executeTakeFirst()
    if (table === 'assets') files += Number(deleted.numDeletedRows)
  }
  const left =
    (await withinFolder(trx.selectFrom('assets').select('path').where('repo_key', '=', repoKey), folder).limit(1).executeTakeFirst()) ??
    (await withinFolder(trx.selectFrom('folders').select('path').where('repo_key', '=', repoKey), folder).limit(1).executeTakeFirst())
  if (left) throw conflict(`'${repoKey}/${folder}' changed while it was being deleted; try again`)
  return files
}
