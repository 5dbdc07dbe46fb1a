import { sql, type Kysely, type SelectQueryBuilder } from 'kysely'
import type { AssetTable, Database } from '../../metadata/schema.js'
import type { Asset, SearchPage } from './artifact-types.js'
import { toAsset } from './asset-rows.js'

type AssetQuery = SelectQueryBuilder<Database, 'assets', AssetTable>

/**
 * The quick searches' queries (Artifactory's artifact and checksum searches), a page at a time in
 * (repository, path) order, so that a caller who filters what it finds can read on until it has
 * enough without ever loading more than a page.
 */
export class ArtifactSearch {
  constructor(private readonly db: Kysely<Database>) {}

  /** Files of `repoKeys` whose name matches a pattern with `*` and `?` wildcards, case-insensitively. */
  byName(pattern: string, repoKeys: readonly string[], page: SearchPage): Promise<Asset[]> {
    const like = pattern.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_')
    return this.page(repoKeys, page, (query) => query.where(sql<boolean>`lower(name) like ${like} escape '\\'`))
  }

  /** Files of `repoKeys` whose content has this checksum. */
  byChecksum(algorithm: 'sha256' | 'sha1' | 'md5', value: string, repoKeys: readonly string[], page: SearchPage): Promise<Asset[]> {
    return this.page(repoKeys, page, (query) => query.where(algorithm, '=', value.toLowerCase()))
  }

  private async page(repoKeys: readonly string[], page: SearchPage, filter: (query: AssetQuery) => AssetQuery): Promise<Asset[]> {
    if (repoKeys.length === 0) return []
    let query = filter(this.db.selectFrom('assets').selectAll().where('repo_key', 'in', repoKeys))
    const after = page.after
    if (after) {
      query = query.where((eb) => eb.or([eb('repo_key', '>', after.repoKey), eb.and([eb('repo_key', '=', after.repoKey), eb('path', '>', after.path)])]))
    }
    const rows = await query.orderBy('repo_key').orderBy('path').limit(page.limit).execute()
    return rows.map(toAsset)
  }
}
