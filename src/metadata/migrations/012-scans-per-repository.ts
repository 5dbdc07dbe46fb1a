import { randomUUID } from 'node:crypto'
import { sql, type Kysely, type Migration } from 'kysely'

/**
 * Scan results belong to the repository that holds the scanned file (issue #13): keyed by
 * `(repo_key, sha256)` instead of the blob alone, gone with their repository, and with `skipped`
 * (what the scan did not read, JSON). A scan reads only blobs its repository holds, so one
 * repository's report never reflects another's blobs, and whether it is `done` or `pending` never
 * tells whether the same bytes were scanned elsewhere.
 *
 * The tables are rebuilt (SQLite cannot change a primary key) and every result is carried to each
 * repository that holds its blob, so no report goes back to `pending` on upgrade. An image's old
 * result may have read layers its repository does not hold, so every image is scanned again: one
 * `scan` job per manifest blob, in the form the scanner already queued before this migration
 * (`{sha256, format}`), which it fans out to the repositories holding the blob.
 */
export const scansPerRepository: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('scan_results_next')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('skipped', 'text')
      .addColumn('component_count', 'integer', (c) => c.notNull())
      .addColumn('scanned_at', 'bigint', (c) => c.notNull())
      .addColumn('matched_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('scan_results_repo_pk', ['repo_key', 'sha256'])
      .execute()
    await db.schema
      .createTable('scan_components_next')
      .addColumn('repo_key', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('ecosystem', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('relation', 'text', (c) => c.notNull())
      .addColumn('location', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('scan_components_repo_pk', ['repo_key', 'sha256', 'seq'])
      .addForeignKeyConstraint('scan_components_result_fk', ['repo_key', 'sha256'], 'scan_results_next', ['repo_key', 'sha256'], (c) => c.onDelete('cascade'))
      .execute()
    await db.schema
      .createTable('scan_findings_next')
      .addColumn('repo_key', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('vuln_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('scan_findings_repo_pk', ['repo_key', 'sha256', 'seq', 'vuln_id'])
      .addForeignKeyConstraint('scan_findings_result_fk', ['repo_key', 'sha256'], 'scan_results_next', ['repo_key', 'sha256'], (c) => c.onDelete('cascade'))
      .execute()

    // Each result to every repository holding its blob (one row per repository, however many files).
    await sql`
      INSERT INTO scan_results_next (repo_key, sha256, format, status, reason, skipped, component_count, scanned_at, matched_at)
      SELECT DISTINCT a.repo_key, r.sha256, r.format, r.status, r.reason, NULL, r.component_count, r.scanned_at, r.matched_at
      FROM scan_results r JOIN assets a ON a.sha256 = r.sha256`.execute(db)
    await sql`
      INSERT INTO scan_components_next (repo_key, sha256, seq, ecosystem, name, display_name, version, relation, location)
      SELECT h.repo_key, c.sha256, c.seq, c.ecosystem, c.name, c.display_name, c.version, c.relation, c.location
      FROM scan_components c JOIN scan_results_next h ON h.sha256 = c.sha256`.execute(db)
    await sql`
      INSERT INTO scan_findings_next (repo_key, sha256, seq, vuln_id)
      SELECT h.repo_key, f.sha256, f.seq, f.vuln_id
      FROM scan_findings f JOIN scan_results_next h ON h.sha256 = f.sha256`.execute(db)
    const images = await sql<{ sha256: string }>`SELECT DISTINCT sha256 FROM scan_results_next WHERE format = 'oci'`.execute(db)

    await db.schema.dropTable('scan_findings').execute()
    await db.schema.dropTable('scan_components').execute()
    await db.schema.dropTable('scan_results').execute()
    await db.schema.alterTable('scan_results_next').renameTo('scan_results').execute()
    await db.schema.alterTable('scan_components_next').renameTo('scan_components').execute()
    await db.schema.alterTable('scan_findings_next').renameTo('scan_findings').execute()
    await db.schema.createIndex('scan_components_package').on('scan_components').columns(['ecosystem', 'name']).execute()
    await db.schema.createIndex('scan_findings_vuln').on('scan_findings').column('vuln_id').execute()
    await db.schema.createIndex('scan_results_blob').on('scan_results').column('sha256').execute()

    const now = Date.now()
    for (const { sha256 } of images.rows) {
      // The columns of migration 002-jobs; the dedupe key and payload the scanner used before.
      await sql`
        INSERT INTO jobs (id, kind, payload, status, dedupe_key, run_at, lease_owner, lease_until, attempts, result, created_at, updated_at)
        VALUES (${randomUUID()}, 'scan', ${JSON.stringify({ sha256, format: 'oci' })}, 'queued', ${`scan:${sha256}`}, ${now}, NULL, NULL, 0, NULL, ${now}, ${now})
        ON CONFLICT (dedupe_key) DO NOTHING`.execute(db)
    }
  },
}
