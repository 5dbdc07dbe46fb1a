import type { Kysely, Migration } from 'kysely'

/**
 * Projects (members, shares, usage counter), groups, permission targets and service accounts
 * (issue #7). A project's usage is a counter kept in the same transactions that record and delete
 * assets (see core/auth/quota.ts); it is never recomputed on the hot path.
 */
export const access: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('projects')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      // -1: no quota (Artifactory's convention).
      .addColumn('storage_quota_bytes', 'bigint', (c) => c.notNull())
      .addColumn('used_bytes', 'bigint', (c) => c.notNull())
      .addColumn('admin_privileges', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('project_members')
      .addColumn('project_key', 'text', (c) => c.notNull().references('projects.key').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('project_members_pk', ['project_key', 'kind', 'name'])
      .execute()
    await db.schema.createIndex('project_members_name').on('project_members').columns(['kind', 'name']).execute()

    await db.schema
      .createTable('project_shares')
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      // A project key, or '*' for every project.
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('project_shares_pk', ['repo_key', 'target'])
      .execute()

    await db.schema
      .createTable('groups')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('group_members')
      .addColumn('group_name', 'text', (c) => c.notNull().references('groups.name').onDelete('cascade'))
      .addColumn('user_name', 'text', (c) => c.notNull().references('users.name').onDelete('cascade'))
      .addPrimaryKeyConstraint('group_members_pk', ['group_name', 'user_name'])
      .execute()
    await db.schema.createIndex('group_members_user').on('group_members').column('user_name').execute()

    await db.schema
      .createTable('permission_targets')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('service_accounts')
      .addColumn('name', 'text', (c) => c.primaryKey().references('users.name').onDelete('cascade'))
      .addColumn('project_key', 'text', (c) => c.notNull().references('projects.key').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()

    // Refresh tokens (Artifactory's `refresh_token` + `grant_type=refresh_token`): sha256 like the token.
    await db.schema.alterTable('tokens').addColumn('refresh_hash', 'text').execute()
    await db.schema.createIndex('tokens_refresh_hash').on('tokens').column('refresh_hash').execute()
  },
}
