import type { Kysely, Migration } from 'kysely'

/** The audit log (docs/operations.md): append-only, searched by time, actor, action and project. */
export const operationsAudit: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('actor_via', 'text')
      .addColumn('actor_token', 'text')
      .addColumn('address', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('project', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('status', 'integer')
      .addColumn('details', 'text')
      .execute()
    await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute()
    await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor', 'id']).execute()
    await db.schema.createIndex('audit_events_project').on('audit_events').columns(['project', 'id']).execute()
  },
}
