import type { Kysely, Migration } from 'kysely'

/**
 * Resumable uploads in the core (issue 16, item 5): `upload_sessions`, one row per chunked upload
 * in progress, holding everything another node needs to take the next chunk after a restart (the
 * bytes received, the saved hash state, the blob store's state of the appendable object).
 * A format's own sessions from before this are the format's to retire (its own migration).
 */
export const uploadsSessions: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('upload_sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('repo_key', 'text', (c) => c.notNull().references('repositories.key').onDelete('cascade'))
      // What the protocol uploads into (an image name); sessions are found by id and checked against it.
      .addColumn('subject', 'text', (c) => c.notNull())
      // Bytes received and durable so far; the next chunk starts here.
      .addColumn('size', 'bigint', (c) => c.notNull())
      // The SHA-256, SHA-1 and MD5 states after `size` bytes (hash-wasm's saved states, base64 JSON).
      .addColumn('hash_state', 'text', (c) => c.notNull())
      // The blob store's state of the appendable object (an S3 multipart upload's id and parts).
      .addColumn('storage_state', 'text')
      // The chunk being appended, if any: `<instance id>.<random>`; a gone instance's claim is void.
      .addColumn('writer', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('upload_sessions_updated').on('upload_sessions').column('updated_at').execute()
    await db.schema.createIndex('upload_sessions_created_by').on('upload_sessions').column('created_by').execute()

  },
}
