/**
 * Whether a database error means the database has no room left: SQLite's `SQLITE_FULL` (its disk,
 * or `max_page_count`) and PostgreSQL's `disk_full` (SQLSTATE 53100). The core says so to the
 * client (507) instead of an internal error.
 */
export function isMetadataFull(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
  return code === 'SQLITE_FULL' || code === '53100'
}
