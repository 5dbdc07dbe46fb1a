import type { Kysely, Migration } from 'kysely'

/** The trash can (docs/lifecycle.md): files deleted from local repositories, kept for the retention period. */
export const lifecycleTrash: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('trash_items')
      .addColumn('repo_key', 'text', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('sha1', 'text', (c) => c.notNull())
      .addColumn('md5', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('original_checksums', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('modified_at', 'bigint', (c) => c.notNull())
      .addColumn('modified_by', 'text', (c) => c.notNull())
      .addColumn('properties', 'text', (c) => c.notNull())
      .addColumn('project_key', 'text')
      .addColumn('deleted_at', 'bigint', (c) => c.notNull())
      .addColumn('deleted_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('trash_items_pk', ['repo_key', 'path'])
      .execute()
    await db.schema.createIndex('trash_items_deleted_at').on('trash_items').column('deleted_at').execute()
    // Garbage collection asks, per blob, whether a trashed file still refers to it.
    await db.schema.createIndex('trash_items_sha256').on('trash_items').column('sha256').execute()
  },
}
