/**
 * Upgrading to per-repository scan results (migration 012): a database written before it, with one
 * result per blob, keeps every report (each result is carried to every repository that holds the
 * blob, with its components and findings), queues images to be scanned again, keeps the jobs it
 * had, and the carried results go with their repository.
 */
import { sql, type Kysely } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import type { MetadataStore } from '../database.js'
import { storeMigratedTo } from '../../../test/helpers/migrated-store.js'

const backends = await metadataBackends()

const MANIFEST = 'a'.repeat(64)
const POM = 'b'.repeat(64)
const UNSCANNED = 'c'.repeat(64)

describe.each(backends)('migration 012-scans-per-repository (%s)', (backend) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  const storeAt010 = (): Promise<MetadataStore> => storeMigratedTo(backend, '010-scan-policies', cleanups)

  /** What the scanner wrote before migration 012: results, components and findings per blob. */
  async function writeOldData(db: Kysely<unknown>): Promise<void> {
    const now = 1_700_000_000_000
    for (const [key, type] of [['docker-local', 'docker'], ['generic-a', 'generic'], ['generic-b', 'generic']]) {
      await sql`INSERT INTO repositories (key, rclass, package_type, config, created_at, updated_at) VALUES (${key}, 'local', ${type}, '{}', ${now}, ${now})`.execute(db)
    }
    const files: [string, string, string][] = [
      ['docker-local', 'app/1.0/manifest.json', MANIFEST],
      ['docker-local', 'app/sha256__' + MANIFEST + '/manifest.json', MANIFEST],
      ['generic-a', 'lib/x-1.0.pom', POM],
      ['generic-b', 'copy/x-1.0.pom', POM],
      ['generic-b', 'other.txt', UNSCANNED],
    ]
    for (const [repo, path, sha256] of files) {
      const folder = path.slice(0, path.lastIndexOf('/'))
      await sql`INSERT INTO assets (repo_key, path, folder, name, sha256, sha1, md5, size, content_type, original_checksums, created_at, created_by, modified_at, modified_by)
        VALUES (${repo}, ${path}, ${folder}, ${path.slice(folder.length + 1)}, ${sha256}, 's1', 'm5', 10, 'application/octet-stream', '{}', ${now}, 'admin', ${now}, 'admin')`.execute(db)
    }
    for (const [sha256, format] of [[MANIFEST, 'oci'], [POM, 'maven-pom']]) {
      await sql`INSERT INTO scan_results (sha256, format, status, reason, component_count, scanned_at, matched_at) VALUES (${sha256}, ${format}, 'done', NULL, 1, ${now}, ${now})`.execute(db)
      await sql`INSERT INTO scan_components (sha256, seq, ecosystem, name, display_name, version, relation, location)
        VALUES (${sha256}, 0, 'npm', 'lodash', 'lodash', '4.17.15', 'installed', 'here')`.execute(db)
      await sql`INSERT INTO scan_findings (sha256, seq, vuln_id) VALUES (${sha256}, 0, 'GHSA-p6mc-m468-83gw')`.execute(db)
    }
    // A scan an earlier version queued and had not run yet.
    await sql`INSERT INTO jobs (id, kind, payload, status, dedupe_key, run_at, attempts, created_at, updated_at)
      VALUES ('old-job', 'scan', ${JSON.stringify({ sha256: UNSCANNED, format: 'maven-pom' })}, 'queued', ${`scan:${UNSCANNED}`}, ${now}, 0, ${now}, ${now})`.execute(db)
  }

  it('carries each result to every repository holding its blob, and queues images to be scanned again', async () => {
    const store = await storeAt010()
    await writeOldData(store.db as unknown as Kysely<unknown>)
    await store.migrate()
    const db = store.db

    const results = await db.selectFrom('scan_results').select(['repo_key', 'sha256', 'format', 'status', 'skipped', 'matched_at']).orderBy('repo_key').execute()
    expect(results).toEqual([
      { repo_key: 'docker-local', sha256: MANIFEST, format: 'oci', status: 'done', skipped: null, matched_at: 1_700_000_000_000 },
      { repo_key: 'generic-a', sha256: POM, format: 'maven-pom', status: 'done', skipped: null, matched_at: 1_700_000_000_000 },
      { repo_key: 'generic-b', sha256: POM, format: 'maven-pom', status: 'done', skipped: null, matched_at: 1_700_000_000_000 },
    ])
    const components = await db.selectFrom('scan_components').select(['repo_key', 'sha256', 'name']).orderBy('repo_key').execute()
    expect(components).toEqual(results.map((r) => ({ repo_key: r.repo_key, sha256: r.sha256, name: 'lodash' })))
    const findings = await db.selectFrom('scan_findings').select(['repo_key', 'sha256', 'vuln_id']).orderBy('repo_key').execute()
    expect(findings).toEqual(results.map((r) => ({ repo_key: r.repo_key, sha256: r.sha256, vuln_id: 'GHSA-p6mc-m468-83gw' })))

    // The image is queued to be scanned again; the job queued before the upgrade is still there.
    const jobs = await db.selectFrom('jobs').select(['kind', 'payload', 'status', 'dedupe_key']).orderBy('dedupe_key').execute()
    expect(jobs).toEqual([
      { kind: 'scan', payload: JSON.stringify({ sha256: MANIFEST, format: 'oci' }), status: 'queued', dedupe_key: `scan:${MANIFEST}` },
      { kind: 'scan', payload: JSON.stringify({ sha256: UNSCANNED, format: 'maven-pom' }), status: 'queued', dedupe_key: `scan:${UNSCANNED}` },
    ])

    // Results go with their repository; another repository's copy stays.
    await db.deleteFrom('assets').where('repo_key', '=', 'generic-a').execute()
    await db.deleteFrom('repositories').where('key', '=', 'generic-a').execute()
    expect(await db.selectFrom('scan_results').select('repo_key').where('sha256', '=', POM).execute()).toEqual([{ repo_key: 'generic-b' }])
    expect(await db.selectFrom('scan_components').select('repo_key').where('sha256', '=', POM).execute()).toEqual([{ repo_key: 'generic-b' }])
    expect(await db.selectFrom('scan_findings').select('repo_key').where('sha256', '=', POM).execute()).toEqual([{ repo_key: 'generic-b' }])
  })

  it('migrates an empty database the same way', async () => {
    const store = await storeAt010()
    await store.migrate()
    expect(await store.db.selectFrom('scan_results').selectAll().execute()).toEqual([])
    expect(await store.db.selectFrom('jobs').selectAll().execute()).toEqual([])
  })
})
