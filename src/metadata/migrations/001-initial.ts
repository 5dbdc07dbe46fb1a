import { sql, type Kysely, type Migration } from 'kysely'
import type { MetadataEngine } from '../database.js'

/** The spine: repositories, blobs, assets, folders, properties, users, tokens, grants, settings. */
export const initial = (engine: MetadataEngine): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    // Paths are compared as byte strings (range scans below a folder): PostgreSQL's locale
    // collations would order '/' and '0' differently; SQLite's default is already binary.
    const pathType = engine === 'postgres' ? sql`text collate "C"` : sql`text`

    await db.schema
      .createTable('repositories')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('rclass', 'text', (c) => c.notNull())
      .addColumn('package_type', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('blobs')
      .addColumn('sha256', 'text', (c) => c.primaryKey())
      .addColumn('sha1', 'text', (c) => c.notNull())
      .addColumn('md5', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('blobs_sha1').on('blobs').column('sha1').execute()
    await db.schema.createIndex('blobs_md5').on('blobs').column('md5').execute()

    await db.schema
      .createTable('assets')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('path', pathType, (c) => c.notNull())
      .addColumn('folder', pathType, (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
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
      .addColumn('downloaded_at', 'bigint')
      .addColumn('downloaded_by', 'text')
      .addColumn('download_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('assets_pk', ['repo_key', 'path'])
      .execute()
    await db.schema.createIndex('assets_folder').on('assets').columns(['repo_key', 'folder']).execute()
    await db.schema.createIndex('assets_name').on('assets').column('name').execute()
    await db.schema.createIndex('assets_sha256').on('assets').column('sha256').execute()
    await db.schema.createIndex('assets_sha1').on('assets').column('sha1').execute()
    await db.schema.createIndex('assets_md5').on('assets').column('md5').execute()

    await db.schema
      .createTable('folders')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('path', pathType, (c) => c.notNull())
      .addColumn('folder', pathType, (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('folders_pk', ['repo_key', 'path'])
      .execute()
    await db.schema.createIndex('folders_folder').on('folders').columns(['repo_key', 'folder']).execute()

    await db.schema
      .createTable('properties')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('path', pathType, (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('properties_pk', ['repo_key', 'path', 'name', 'value'])
      .execute()

    await db.schema
      .createTable('users')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text')
      .addColumn('password_hash', 'text')
      .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('is_disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('attributes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('subject', 'text', (c) => c.notNull().references('users.name').onDelete('cascade'))
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .execute()
    await db.schema.createIndex('tokens_subject').on('tokens').column('subject').execute()

    await db.schema
      .createTable('repository_grants')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      .addColumn('user_name', 'text', (c) => c.notNull().references('users.name').onDelete('cascade'))
      .addColumn('actions', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('repository_grants_pk', ['repo_key', 'user_name'])
      .execute()

    await db.schema
      .createTable('settings')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()
  },
})
