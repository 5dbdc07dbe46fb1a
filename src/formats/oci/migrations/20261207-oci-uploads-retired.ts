import { sql, type Kysely, type Migration } from 'kysely'

/**
 * The container registry's upload sessions before the core's resumable uploads
 * (`oci_uploads`, `oci_upload_chunks`, migration 003-oci) kept each chunk as a blob of its own and
 * an asset in the image's `_uploads` folder. They cannot be resumed by the core's upload service
 * (their hash state was never kept), so they are reclaimed: the chunks' assets (and their
 * properties) go, each project's usage loses their bytes, `_uploads` folders left empty go, and
 * both tables are dropped. The chunks' blobs are then unreferenced and garbage collection removes
 * them. A client pushing across the upgrade gets `BLOB_UPLOAD_UNKNOWN` and starts that blob again,
 * as it does after a session expired.
 */
export const ociUploadsRetired: Migration = {
  async up(db: Kysely<any>): Promise<void> {
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
