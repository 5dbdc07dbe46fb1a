import type { Kysely, Migration } from 'kysely'

/**
 * The container registry (issue 3): resumable upload sessions and their chunks, and the
 * `subject` facts of referrer manifests. Tags, manifests, layers and chunks themselves are assets.
 */
export const oci: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('oci_uploads')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('image', 'text', (c) => c.notNull())
      // Bytes received so far: the sum of the chunks' sizes.
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('oci_uploads_updated').on('oci_uploads').column('updated_at').execute()
    await db.schema.createIndex('oci_uploads_created_by').on('oci_uploads').column('created_by').execute()

    await db.schema
      .createTable('oci_upload_chunks')
      .addColumn('upload_id', 'text', (c) => c.notNull().references('oci_uploads.id').onDelete('cascade'))
      .addColumn('start_offset', 'bigint', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      // Each chunk is a blob of its own, kept by an asset at `path` (the image's uploads folder).
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      // One chunk per offset: of two writers racing for the same range, one insert fails.
      .addPrimaryKeyConstraint('oci_upload_chunks_pk', ['upload_id', 'start_offset'])
      .execute()

    await db.schema
      .createTable('oci_referrers')
      .addColumn('digest', 'text', (c) => c.primaryKey())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('artifact_type', 'text')
      .addColumn('annotations', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('oci_referrers_subject').on('oci_referrers').column('subject').execute()
  },
}
