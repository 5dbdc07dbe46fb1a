import { PostgresAdapter, sql, type Kysely, type RawBuilder, type SelectQueryBuilder } from 'kysely'
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
  /** `lower(name)` as the index `assets_name_lower` holds it (migration 20261208-scale-indexes): byte order on PostgreSQL. */
  private readonly nameKey: RawBuilder<string>
  /**
   * A range of names as the planner should see it: narrow. SQLite (without statistics) guesses a
   * range keeps a quarter of the rows and would rather walk the repository in path order than sort
   * what the range finds; PostgreSQL has statistics.
   */
  private readonly narrow: (condition: RawBuilder<boolean>) => RawBuilder<boolean>

  constructor(private readonly db: Kysely<Database>) {
    const isPostgres = db.getExecutor().adapter instanceof PostgresAdapter
    this.nameKey = isPostgres ? sql<string>`(lower(name) collate "C")` : sql<string>`lower(name)`
    this.narrow = isPostgres ? (condition) => condition : (condition) => sql<boolean>`likelihood(${condition}, 0.001)`
  }

  /**
   * Files of `repoKeys` whose name matches a pattern with `*` and `?` wildcards, case-insensitively.
   * The pattern's literal prefix (all of it when it has no wildcard) bounds an index range of
   * lower-cased names, so that the cost follows what matches, not what is stored; a pattern that
   * starts with a wildcard reads every name.
   */
  byName(pattern: string, repoKeys: readonly string[], page: SearchPage): Promise<Asset[]> {
    const lowered = pattern.toLowerCase()
    const like = lowered.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_')
    const wildcard = lowered.search(/[*?]/)
    const prefix = wildcard < 0 ? lowered : lowered.slice(0, wildcard)
    return this.page(repoKeys, page, (query) => {
      // LIKE stays the rule (and the escape of `%`, `_`, `\`); the range only narrows what it reads.
      let narrowed = query.where(sql<boolean>`lower(name) like ${like} escape '\\'`)
      if (wildcard < 0) return narrowed.where(sql<boolean>`${this.nameKey} = ${prefix}`)
      if (prefix === '') return narrowed
      narrowed = narrowed.where(this.narrow(sql<boolean>`${this.nameKey} >= ${prefix}`))
      const end = successor(prefix)
      return end === undefined ? narrowed : narrowed.where(this.narrow(sql<boolean>`${this.nameKey} < ${end}`))
    })
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

/**
 * The least string above every string that starts with `prefix`, in code point (UTF-8 byte)
 * order: `prefix` with its last code point incremented (the highest one dropped and the one before
 * it incremented); `undefined` when there is none.
 */
function successor(prefix: string): string | undefined {
  const points = [...prefix]
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!
    let next = last + 1
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000 // surrogates are not characters
    if (next <= 0x10ffff) return points.join('') + String.fromCodePoint(next)
  }
  return undefined
}
