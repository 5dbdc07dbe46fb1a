import type { Kysely, Migration } from 'kysely'

/**
 * The vulnerability database (OSV records) and the scan results (components per blob, and the
 * findings matched to them). Affected packages are rows indexed by ecosystem + normalised name,
 * so that matching a component is one indexed read; ranges stay JSON, evaluated in code with the
 * ecosystem's own ordering (no SQL engine orders Debian or Maven versions).
 */
export const vulndb: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('vuln_records')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('modified', 'text', (c) => c.notNull())
      .addColumn('modified_ms', 'bigint', (c) => c.notNull())
      .addColumn('summary', 'text')
      .addColumn('aliases', 'text', (c) => c.notNull())
      .addColumn('record', 'text', (c) => c.notNull())
      .addColumn('imported_at', 'bigint', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('vuln_aliases')
      .addColumn('vuln_id', 'text', (c) => c.notNull().references('vuln_records.id').onDelete('cascade'))
      .addColumn('alias', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('vuln_aliases_pk', ['vuln_id', 'alias'])
      .execute()
    await db.schema.createIndex('vuln_aliases_alias').on('vuln_aliases').column('alias').execute()

    await db.schema
      .createTable('vuln_affected')
      .addColumn('vuln_id', 'text', (c) => c.notNull().references('vuln_records.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('ecosystem', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('ranges', 'text', (c) => c.notNull())
      .addColumn('versions', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('vuln_affected_pk', ['vuln_id', 'seq'])
      .execute()
    await db.schema.createIndex('vuln_affected_package').on('vuln_affected').columns(['ecosystem', 'name']).execute()

    await db.schema
      .createTable('scan_results')
      .addColumn('sha256', 'text', (c) => c.primaryKey())
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('component_count', 'integer', (c) => c.notNull())
      .addColumn('scanned_at', 'bigint', (c) => c.notNull())
      .addColumn('matched_at', 'bigint', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('scan_components')
      .addColumn('sha256', 'text', (c) => c.notNull().references('scan_results.sha256').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('ecosystem', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('relation', 'text', (c) => c.notNull())
      .addColumn('location', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('scan_components_pk', ['sha256', 'seq'])
      .execute()
    await db.schema.createIndex('scan_components_package').on('scan_components').columns(['ecosystem', 'name']).execute()

    await db.schema
      .createTable('scan_findings')
      .addColumn('sha256', 'text', (c) => c.notNull().references('scan_results.sha256').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('vuln_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('scan_findings_pk', ['sha256', 'seq', 'vuln_id'])
      .execute()
    await db.schema.createIndex('scan_findings_vuln').on('scan_findings').column('vuln_id').execute()
  },
}
