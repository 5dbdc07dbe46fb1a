import type { Kysely, Migration } from 'kysely'

/**
 * Federated repositories (docs/federation.md): the version of every path (last writer by hybrid
 * logical clock, tombstones for deletes), the outbox of changes still owed to each member, and
 * each member's delivery state.
 */
export const federationTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('federation_versions')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('bucket', 'integer', (c) => c.notNull())
      .addColumn('hlc', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text')
      .addColumn('deleted', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('federation_versions_pk', ['repo_key', 'path'])
      .execute()
    await db.schema.createIndex('federation_versions_bucket').on('federation_versions').columns(['repo_key', 'bucket']).execute()
    await db.schema
      .createTable('federation_outbox')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('member', 'text', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('hlc', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('federation_outbox_pk', ['repo_key', 'member', 'path'])
      .execute()
    await db.schema.createIndex('federation_outbox_age').on('federation_outbox').columns(['repo_key', 'member', 'created_at']).execute()
    await db.schema
      .createTable('federation_members')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('paused', 'integer', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('last_error_at', 'bigint')
      .addColumn('last_sent_at', 'bigint')
      .addColumn('last_full_sync_at', 'bigint')
      .addColumn('full_sync_wanted', 'integer', (c) => c.notNull())
      .addColumn('overflowed_at', 'bigint')
      .addPrimaryKeyConstraint('federation_members_pk', ['repo_key', 'url'])
      .execute()
  },
}
