import { sql, type Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import type { ChartMetadata } from './chart.js'

/** A chart archive stored in a repository, with its Chart.yaml when it has been read. */
export interface StoredChart {
  readonly path: string
  readonly sha256: string
  readonly createdAt: number
  readonly modifiedAt: number
  /** Undefined when the blob's Chart.yaml was never read (a checksum deploy, or a crash in between). */
  readonly metadata: ChartMetadata | undefined
}

export interface IndexState {
  readonly revision: number
  readonly builtRevision: number
  readonly body: string | null
  readonly builtAt: number | null
}

/** The Helm tables (migration 007-helm). */
export class HelmStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Remembers a chart blob's Chart.yaml. Idempotent: the same blob always has the same Chart.yaml. */
  async recordChart(sha256: string, chart: ChartMetadata): Promise<void> {
    await this.db
      .insertInto('helm_charts')
      .values({ sha256, name: chart.name, version: chart.version, metadata: JSON.stringify(chart), created_at: Date.now() })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .execute()
  }

  /** Every `.tgz` file of a repository with its Chart.yaml, ordered by path. */
  async chartsOf(repoKey: string): Promise<StoredChart[]> {
    const rows = await this.db
      .selectFrom('assets')
      .leftJoin('helm_charts', 'helm_charts.sha256', 'assets.sha256')
      .select(['assets.path', 'assets.sha256', 'assets.created_at', 'assets.modified_at', 'helm_charts.metadata'])
      .where('assets.repo_key', '=', repoKey)
      .where(sql<boolean>`assets.name like '%.tgz'`)
      .orderBy('assets.path')
      .execute()
    return rows.map((r) => ({
      path: r.path,
      sha256: r.sha256,
      createdAt: r.created_at,
      modifiedAt: r.modified_at,
      metadata: r.metadata ? (JSON.parse(r.metadata) as ChartMetadata) : undefined,
    }))
  }

  /** Chart names stored in any of `repoKeys` (for the dependency-confusion guard). */
  async chartNames(repoKeys: readonly string[]): Promise<Set<string>> {
    if (repoKeys.length === 0) return new Set()
    const rows = await this.db
      .selectFrom('assets')
      .innerJoin('helm_charts', 'helm_charts.sha256', 'assets.sha256')
      .select('helm_charts.name')
      .distinct()
      .where('assets.repo_key', 'in', repoKeys)
      .execute()
    return new Set(rows.map((r) => r.name))
  }

  async indexState(repoKey: string): Promise<IndexState | undefined> {
    const row = await this.db.selectFrom('helm_indexes').selectAll().where('repo_key', '=', repoKey).executeTakeFirst()
    return row ? { revision: row.revision, builtRevision: row.built_revision, body: row.body, builtAt: row.built_at } : undefined
  }

  /** Marks the repository's index out of date (after a deploy or a delete has committed). */
  async bumpRevision(repoKey: string): Promise<void> {
    await this.db
      .insertInto('helm_indexes')
      .values({ repo_key: repoKey, revision: 1, built_revision: -1, body: null, built_at: null })
      .onConflict((oc) => oc.column('repo_key').doUpdateSet({ revision: sql`helm_indexes.revision + 1` }))
      .execute()
  }

  /** The revision the next build starts from (creating the row for a repository that never changed). */
  async currentRevision(repoKey: string): Promise<number> {
    await this.db
      .insertInto('helm_indexes')
      .values({ repo_key: repoKey, revision: 0, built_revision: -1, body: null, built_at: null })
      .onConflict((oc) => oc.column('repo_key').doNothing())
      .execute()
    return (await this.indexState(repoKey))!.revision
  }

  /** Stores a built index unless one built from a later revision is there already. */
  async storeIndex(repoKey: string, revision: number, body: string, builtAt: number): Promise<void> {
    await this.db
      .updateTable('helm_indexes')
      .set({ body, built_revision: revision, built_at: builtAt })
      .where('repo_key', '=', repoKey)
      .where('built_revision', '<', revision)
      .execute()
  }
}
