import type { Kysely, Migration } from 'kysely'

/** Self-service requests (a project, a remote repository) and security-reviewer grants (docs/operations.md). */
export const operationsRequests: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('service_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('requester', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('request', 'text', (c) => c.notNull())
      .addColumn('granted', 'text')
      .addColumn('reason', 'text')
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('service_requests_status').on('service_requests').columns(['status', 'created_at']).execute()
    await db.schema
      .createTable('security_reviewers')
      .addColumn('principal_kind', 'text', (c) => c.notNull())
      .addColumn('principal_name', 'text', (c) => c.notNull())
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('granted_by', 'text', (c) => c.notNull())
      .addColumn('granted_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('security_reviewers_pk', ['principal_kind', 'principal_name', 'project'])
      .execute()
  },
}
