import type { Kysely, Migration } from 'kysely'

/**
 * Single sign-on and login limits (issue #7):
 * - `sso_logins`: sign-ins in flight, between the redirect to the provider and its callback; the
 *   row is deleted by the callback that uses it, so a state is good once.
 * - `sso_identities`: which Trove user an identity of a provider (its `sub`, or a GitHub user id) is.
 * - `sso_user_groups`: the groups a user had at their last sign-in through a provider.
 * - `login_failures`: failed password checks per account and per client address, shared by every node.
 */
export const sso: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('sso_logins')
      .addColumn('state_hash', 'text', (c) => c.primaryKey())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('nonce', 'text', (c) => c.notNull())
      .addColumn('code_verifier', 'text', (c) => c.notNull())
      .addColumn('browser_hash', 'text', (c) => c.notNull())
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('return_to', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('sso_logins_expires').on('sso_logins').column('expires_at').execute()

    await db.schema
      .createTable('sso_identities')
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('user_name', 'text', (c) => c.notNull().references('users.name').onDelete('cascade'))
      .addColumn('email', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_login_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('sso_identities_pk', ['provider', 'subject'])
      .execute()
    await db.schema.createIndex('sso_identities_user').on('sso_identities').column('user_name').execute()

    await db.schema
      .createTable('sso_user_groups')
      .addColumn('user_name', 'text', (c) => c.notNull().references('users.name').onDelete('cascade'))
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('sso_user_groups_pk', ['user_name', 'group_name', 'provider'])
      .execute()
    await db.schema.createIndex('sso_user_groups_group').on('sso_user_groups').column('group_name').execute()

    await db.schema
      .createTable('login_failures')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('window_start', 'bigint', (c) => c.notNull())
      .addColumn('blocked_until', 'bigint', (c) => c.notNull())
      .execute()
  },
}
