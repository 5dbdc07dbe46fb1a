import { sql, type Kysely, type Migration } from 'kysely'

/**
 * Resumable uploads in the core (issue 16, item 5): `upload_sessions`, one row per chunked upload
 * in progress, holding everything another node needs to take the next chunk after a restart (the
 * bytes received, the saved hash state, the blob store's state of the appendable object).
 *
 * The container registry's sessions before this (`oci_uploads`, `oci_upload_chunks`) kept each
 * chunk as a blob of its own and an asset in the image's `_uploads` folder. They cannot be resumed
 * by the new service (their hash state was never kept), so they are reclaimed: the chunks' assets
 * (and their properties) go, each project's usage loses their bytes, `_uploads` folders left empty
 * go, and both tables are dropped. The chunks' blobs are then unreferenced and garbage collection
 * removes them. A client pushing across the upgrade gets `BLOB_UPLOAD_UNKNOWN` and starts that
 * blob again, as it does after a session expired.
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

    // The old sessions' chunk assets, with the project of their repository.
    const chunks: { repo_key: string; path: string; size: number | string | null; config: string }[] = await db
      .selectFrom('oci_upload_chunks as c')
      .innerJoin('oci_uploads as u', 'u.id', 'c.upload_id')
      .innerJoin('repositories as r', 'r.key', 'u.repo_key')
      .leftJoin('assets as a', (join) => join.onRef('a.repo_key', '=', 'u.repo_key').onRef('a.path', '=', 'c.path'))
      .select(['u.repo_key', 'c.path', 'a.size', 'r.config'])
      .execute()
    const freed = new Map<string, number>()
    const folders = new Set<string>()
    for (const chunk of chunks) {
      await db.deleteFrom('properties').where('repo_key', '=', chunk.repo_key).where('path', '=', chunk.path).execute()
      await db.deleteFrom('assets').where('repo_key', '=', chunk.repo_key).where('path', '=', chunk.path).execute()
      folders.add(JSON.stringify([chunk.repo_key, chunk.path.slice(0, chunk.path.lastIndexOf('/'))]))
      const project = projectOf(chunk.config)
      if (project !== undefined && chunk.size !== null) freed.set(project, (freed.get(project) ?? 0) + Number(chunk.size))
    }
    for (const [project, bytes] of freed) {
      await db.updateTable('projects').set({ used_bytes: sql`used_bytes - ${bytes}` }).where('key', '=', project).execute()
    }
    for (const text of folders) {
      const [repoKey, folder] = JSON.parse(text) as [string, string]
      const left = await db.selectFrom('assets').select('path').where('repo_key', '=', repoKey).where('folder', '=', folder).limit(1).executeTakeFirst()
      if (left) continue
      await db.deleteFrom('properties').where('repo_key', '=', repoKey).where('path', '=', folder).execute()
      await db.deleteFrom('folders').where('repo_key', '=', repoKey).where('path', '=', folder).execute()
    }
    await db.schema.dropTable('oci_upload_chunks').execute()
    await db.schema.dropTable('oci_uploads').execute()
  },
}

function projectOf(config: string): string | undefined {
  try {
    const key = (JSON.parse(config) as { projectKey?: unknown }).projectKey
    return typeof key === 'string' && key !== '' ? key : undefined
  } catch {
    return undefined
  }
}
