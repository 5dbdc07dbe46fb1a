/** The Helm tables (migration 007-helm); reached through `FormatContext.tables<HelmTables>()`. */
export interface HelmTables {
  helm_charts: HelmChartTable
  helm_indexes: HelmIndexTable
}

/** The `Chart.yaml` of a Helm chart blob (migration 007-helm); keyed by the blob, so never stale. */
export interface HelmChartTable {
  sha256: string
  name: string
  version: string
  /** JSON: the chart's Chart.yaml as parsed. */
  metadata: string
  created_at: number
}

/** A local Helm repository's generated `index.yaml` and the change revision it was built from. */
export interface HelmIndexTable {
  repo_key: string
  /** Bumped after every deploy or delete of a chart. */
  revision: number
  /** The revision the stored body was built from (-1: never built). */
  built_revision: number
  body: string | null
  built_at: number | null
}
