/** Usage reports (docs/lifecycle.md): `GET /api/v1/usage/repositories/{key}` and `GET /api/v1/usage/projects/{key}`. */

export interface UsageReport {
  readonly repoKey?: string
  readonly projectKey: string | null
  /** A project's report: its repositories. */
  readonly repositories?: readonly string[]
  readonly files: number
  readonly logicalBytes: number
  /** After deduplication: each blob once. */
  readonly storedBytes: number
  /** In the trash can: counted on the project's quota until emptied. */
  readonly trashFiles: number
  readonly trashBytes: number
  readonly packages: number
  readonly largestPackages: readonly { readonly repoKey: string; readonly name: string; readonly files: number; readonly bytes: number }[]
  /** Daily snapshots (UTC days), oldest first. */
  readonly growth: readonly { readonly day: string; readonly files: number; readonly logicalBytes: number; readonly storedBytes: number }[]
  /** The latest cleanups, newest first (`at`: epoch ms; `source`: `policy:<name>`, `trash`, `eviction`, `gc`). */
  readonly freed: readonly { readonly at: number; readonly repoKey: string | null; readonly bytes: number; readonly files: number; readonly source: string }[]
  readonly freedBytesTotal: number
}
