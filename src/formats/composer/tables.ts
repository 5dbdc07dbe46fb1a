/** The Composer tables (migration 20261207-composer-archives); reached through `FormatContext.tables<ComposerTables>()`. */
export interface ComposerTables {
  composer_archives: ComposerArchiveTable
}

/**
 * The composer.json of a package archive blob, keyed by the blob (content-addressed, so a row never
 * goes stale); the version is the stored path's, as a property may have given it.
 */
export interface ComposerArchiveTable {
  sha256: string
  name: string
  /** JSON: the archive's composer.json as parsed. */
  manifest: string
  created_at: number
}
