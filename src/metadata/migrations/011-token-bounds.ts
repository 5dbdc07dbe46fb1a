import type { Kysely, Migration } from 'kysely'

/**
 * What a token may hand on (docs/access.md, "Tokens"): `not_after`, the expiry of the credential
 * that created a token, which its refreshed successors never pass; `is_session`, set on the web
 * console's sessions, which stand for the password or single sign-on login that created them.
 * Rows written before keep working: no bound, and not a session (a console session from before
 * the upgrade creates tokens within its own lifetime until the user signs in again).
 */
export const tokenBounds: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('tokens').addColumn('not_after', 'bigint').execute()
    await db.schema.alterTable('tokens').addColumn('is_session', 'integer', (c) => c.notNull().defaultTo(0)).execute()
  },
}
