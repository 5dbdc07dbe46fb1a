import { sql, type Kysely } from 'kysely'
import type { ArtifactService } from '../../core/index.js'
import type { HelmTables } from './tables.js'
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

/** Bound parameters per lookup of charts by blob. */
const LOOKUP_BATCH = 500

/** The Helm tables (migration 007-helm). */
export class HelmStore {
  constructor(
    private readonly db: Kysely<HelmTables>,
    /** The chart files themselves are the core's assets, read through its service. */
    private readonly artifacts: ArtifactService,
  ) {}

  /** Remembers a chart blob's Chart.yaml. Idempotent: the same blob always has the same Chart.yaml. */
  async recordChart(sha256: string, chart: ChartMetadata): Promise<void> {
    await this.db
      .insertInto('helm_charts')
      .values({ sha256, name: chart.name, version: chart.version, metadata: JSON.stringify(chart), created_at: Date.now() })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .execute()
  }

  /** Every `.tgz` file of a repository with its Chart.yaml, ordered by path (the files from the core, the charts from here). */
  async chartsOf(repoKey: string): Promise<StoredChart[]> {
    const files = (await this.artifacts.listDeep(repoKey, '')).files.filter((f) => f.name.endsWith('.tgz'))
    const charts = await this.chartsBySha256(files.map((f) => f.sha256))
    return files.map((f) => {
      const metadata = charts.get(f.sha256)?.metadata
      return { path: f.path, sha256: f.sha256, createdAt: f.createdAt, modifiedAt: f.modifiedAt, metadata: metadata ? (JSON.parse(metadata) as ChartMetadata) : undefined }
    })
  }

  /** Chart names stored in any of `repoKeys` (for the dependency-confusion guard). */
  async chartNames(repoKeys: readonly string[]): Promise<Set<string>> {
    const names = new Set<string>()
    for (const repoKey of repoKeys) {
      const files = (await this.artifacts.listDeep(repoKey, '')).files
      for (const chart of (await this.chartsBySha256(files.map((f) => f.sha256))).values()) names.add(chart.name)
    }
    return names
  }

  /** The recorded charts among these blobs, in batches of bound parameters. */
  private async chartsBySha256(sha256s: readonly string[]): Promise<Map<string, { name: string; metadata: string }>> {
    const charts = new Map<string, { name: string; metadata: string }>()
    const unique = [...new Set(sha256s)]
    for (let i = 0; i < unique.length; i += LOOKUP_BATCH) {
      const rows = await this.db.selectFrom('helm_charts').select(['sha256', 'name', 'metadata']).where('sha256', 'in', unique.slice(i, i + LOOKUP_BATCH)).execute()
      for (const row of rows) charts.set(row.sha256, { name: row.name, metadata: row.metadata })
    }
    return charts
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
