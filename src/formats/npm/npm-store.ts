import { createHash } from 'node:crypto'
import { sql, type Kysely, type Transaction } from 'kysely'
import { type ChangeTransaction, conflict, type FormatTables, TroveError } from '../../core/index.js'
import type { JsonObject } from './manifest.js'
import { fallbackLatest, type Packument } from './packument.js'
import type { NpmTables } from './tables.js'

/** A version to record, in the transaction that records its tarball. */
export interface NewVersion {
  readonly repoKey: string
  readonly name: string
  readonly version: string
  readonly manifest: JsonObject
  readonly tarballPath: string
  readonly readme: string | null
  readonly publishedBy: string
}

export interface SearchHit {
  readonly name: string
  readonly version: string
  readonly description: string | null
  readonly keywords: readonly string[]
  readonly modifiedAt: number
  readonly publisher: string | null
}

/**
 * Another writer changed the package between this transaction's read and its write. Thrown inside
 * the transaction so that it rolls back (with whatever else it wrote, a tarball's asset row
 * included); {@link retrying} then runs the whole change again.
 */
export class ConcurrentChangeError extends Error {
  constructor() {
    super('the package changed concurrently')
    this.name = 'ConcurrentChangeError'
  }
}

const MAX_ATTEMPTS = 8
const MAX_README_BYTES = 64 * 1024

/** Runs `attempt` again while it fails with {@link ConcurrentChangeError}. */
export async function retrying<T>(name: string, attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt()
    } catch (err) {
      if (!(err instanceof ConcurrentChangeError)) throw err
      if (i >= MAX_ATTEMPTS) throw new TroveError('UNAVAILABLE', `${name} is being changed by too many clients at once; retry`)
    }
  }
}

interface PackageState {
  readonly revision: number
  readonly distTags: Record<string, string>
  readonly versions: ReadonlyMap<string, { readonly deprecated: string | null; readonly tarballPath: string }>
}

type Outcome = { readonly distTags?: Record<string, string> } | 'delete-package' | 'unchanged'

/**
 * The npm tables of the metadata store (migration 004-npm): packages, versions, dist-tags. All SQL
 * of the npm format is here. Every change is optimistic: it reads the package's revision and
 * writes only if that is unchanged, so that concurrent writers on any node never lose an update,
 * and a client naming a stale `_rev` is told so (409). Changes that go with tarball files run
 * inside the core's `ArtifactService.applyChanges` transaction (the `…In(trx)` methods), so that
 * a version and its tarball appear and disappear together.
 */
export class NpmStore {
  private readonly db: Kysely<NpmTables>

  constructor(private readonly tables: FormatTables<NpmTables>) {
    this.db = tables.db
  }

  /**
   * What identifies the package's current state, or `undefined` when it has no version: its
   * revision and creation time (a package unpublished and published again restarts at
   * revision 1). One indexed read.
   */
  async state(repoKey: string, name: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('npm_packages')
      .select(['revision', 'created_at'])
      .where('repo_key', '=', repoKey)
      .where('name', '=', name)
      .executeTakeFirst()
    return row ? stateOf(row.created_at, row.revision) : undefined
  }

  /** The packument of a package of a local repository: two indexed reads. */
  async packument(repoKey: string, name: string): Promise<(Packument & { readonly state: string }) | undefined> {
    const pkg = await this.db.selectFrom('npm_packages').selectAll().where('repo_key', '=', repoKey).where('name', '=', name).executeTakeFirst()
    if (!pkg) return undefined
    const distTags = JSON.parse(pkg.dist_tags) as Record<string, string>
    const latest = distTags.latest ?? ''
    const rows = await this.db
      .selectFrom('npm_versions')
      .select(['version', 'manifest', 'deprecated', 'tarball_path', 'created_at'])
      .select(sql<string | null>`case when version = ${latest} then readme else null end`.as('readme'))
      .where('repo_key', '=', repoKey)
      .where('name', '=', name)
      .orderBy('created_at')
      .orderBy('version')
      .execute()
    if (rows.length === 0) return undefined
    return {
      name,
      revision: revisionString(repoKey, name, pkg.revision, pkg.created_at),
      state: stateOf(pkg.created_at, pkg.revision),
      distTags,
      versions: rows.map((r) => ({
        version: r.version,
        manifest: JSON.parse(r.manifest) as JsonObject,
        deprecated: r.deprecated,
        publishedAt: r.created_at,
        tarball: { repoKey, path: r.tarball_path },
      })),
      createdAt: pkg.created_at,
      modifiedAt: pkg.modified_at,
      readme: rows.find((r) => r.readme !== null)?.readme ?? null,
    }
  }

  async versionExists(repoKey: string, name: string, version: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('npm_versions')
      .select('version')
      .where('repo_key', '=', repoKey)
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst()
    return row !== undefined
  }

  /**
   * Records a version and its dist-tags, in the transaction that records its tarball; creates the
   * package on its first version, which gets `latest` whatever tag it came with (a package always
   * has `latest`). A version that exists is a CONFLICT: the primary key decides, so of two racing
   * publishes exactly one wins, and the loser's transaction (its tarball's asset included) rolls back.
   */
  async publishIn(change: ChangeTransaction, version: NewVersion, tags: readonly string[]): Promise<number> {
    const trx = this.tables.within(change)
    const now = Date.now()
    const inserted = await trx
      .insertInto('npm_versions')
      .values({
        repo_key: version.repoKey,
        name: version.name,
        version: version.version,
        manifest: JSON.stringify(version.manifest),
        tarball_path: version.tarballPath,
        deprecated: null,
        readme: version.readme === null ? null : truncate(version.readme, MAX_README_BYTES),
        published_by: version.publishedBy,
        created_at: now,
        modified_at: now,
      })
      .onConflict((oc) => oc.columns(['repo_key', 'name', 'version']).doNothing())
      .executeTakeFirst()
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) {
      throw conflict(`cannot publish over the previously published version ${version.name}@${version.version}`)
    }
    return this.changeIn(trx, version.repoKey, version.name, undefined, async (state) => {
      const distTags = { ...state.distTags }
      for (const tag of tags) distTags[tag] = version.version
      distTags.latest ??= version.version
      return { distTags }
    }, now)
  }

  /** Points a dist-tag at a version (creates or moves it). */
  async setTag(repoKey: string, name: string, tag: string, version: string): Promise<void> {
    await this.change(repoKey, name, async (state) => {
      if (!state.versions.has(version)) throw new TroveError('NOT_FOUND', `${name}@${version} does not exist`)
      return { distTags: { ...state.distTags, [tag]: version } }
    })
  }

  async removeTag(repoKey: string, name: string, tag: string): Promise<void> {
    await this.change(repoKey, name, async (state) => {
      if (tag === 'latest') throw new TroveError('BAD_REQUEST', "the 'latest' tag cannot be removed; point it at another version instead")
      if (!(tag in state.distTags)) throw new TroveError('NOT_FOUND', `${name} has no dist-tag '${tag}'`)
      const distTags = { ...state.distTags }
      delete distTags[tag]
      return { distTags }
    })
  }

  /** Sets (string) or clears (`null`) the deprecation message of versions; unchanged ones are skipped. */
  async deprecate(repoKey: string, name: string, messages: ReadonlyMap<string, string | null>, expectedRevision?: string): Promise<void> {
    await this.change(
      repoKey,
      name,
      async (state, trx, now) => {
        let changed = false
        for (const [version, message] of messages) {
          const current = state.versions.get(version)
          if (!current) throw new TroveError('BAD_REQUEST', `${name}@${version} does not exist; publish it with its tarball`)
          if (current.deprecated === message) continue
          changed = true
          await trx
            .updateTable('npm_versions')
            .set({ deprecated: message, modified_at: now })
            .where('repo_key', '=', repoKey)
            .where('name', '=', name)
            .where('version', '=', version)
            .execute()
        }
        return changed ? {} : 'unchanged'
      },
      expectedRevision,
    )
  }

  /** Every version of a repository with its tarball's path (for cleanup policies). */
  async versionsIn(repoKey: string): Promise<{ name: string; version: string; tarball_path: string }[]> {
    return this.db.selectFrom('npm_versions').select(['name', 'version', 'tarball_path']).where('repo_key', '=', repoKey).execute()
  }

  /** The tarball paths of versions, as they are now (for removing them with their versions). */
  async tarballsOf(repoKey: string, name: string, versions?: readonly string[]): Promise<Map<string, string>> {
    let query = this.db.selectFrom('npm_versions').select(['version', 'tarball_path']).where('repo_key', '=', repoKey).where('name', '=', name)
    if (versions) query = query.where('version', 'in', versions.length > 0 ? versions : [''])
    return new Map((await query.execute()).map((r) => [r.version, r.tarball_path]))
  }

  /**
   * Removes versions (npm unpublish), in the transaction that removes their tarballs, which must
   * be `tarballs` (else the package changed since they were read: {@link ConcurrentChangeError}).
   * Dist-tags pointing at them go; `latest` moves to the highest remaining release. Removing the
   * last version removes the package.
   */
  async removeVersionsIn(
    change: ChangeTransaction,
    repoKey: string,
    name: string,
    versions: readonly string[],
    tarballs: readonly string[],
    expectedRevision?: string,
  ): Promise<void> {
    const trx = this.tables.within(change)
    await this.changeIn(trx, repoKey, name, expectedRevision, async (state) => {
      for (const version of versions) {
        const row = state.versions.get(version)
        if (!row) throw new TroveError('NOT_FOUND', `${name}@${version} does not exist`)
        if (!tarballs.includes(row.tarballPath)) throw new ConcurrentChangeError()
      }
      await trx.deleteFrom('npm_versions').where('repo_key', '=', repoKey).where('name', '=', name).where('version', 'in', versions).execute()
      const remaining = [...state.versions.keys()].filter((v) => !versions.includes(v))
      if (remaining.length === 0) return 'delete-package'
      const distTags = Object.fromEntries(Object.entries(state.distTags).filter(([, v]) => !versions.includes(v)))
      distTags.latest ??= fallbackLatest(remaining) ?? remaining[remaining.length - 1]!
      return { distTags }
    })
  }

  /** The version whose tarball is at `path`, if there is one. */
  async versionOfTarball(repoKey: string, name: string, path: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('npm_versions')
      .select('version')
      .where('repo_key', '=', repoKey)
      .where('name', '=', name)
      .where('tarball_path', '=', path)
      .executeTakeFirst()
    return row?.version
  }

  /** Packages whose name, description or keywords contain every term (case-insensitive), by name. */
  async search(repoKey: string, terms: readonly string[], from: number, size: number): Promise<{ total: number; hits: SearchHit[] }> {
    let query = this.db.selectFrom('npm_packages as p').where('p.repo_key', '=', repoKey).where('p.latest_version', 'is not', null)
    for (const term of terms) {
      const like = `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
      query = query.where(
        sql<boolean>`(lower(p.name) like ${like} escape '\\' or lower(coalesce(p.description, '')) like ${like} escape '\\' or lower(p.keywords) like ${like} escape '\\')`,
      )
    }
    const [count, rows] = await Promise.all([
      query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirst(),
      query
        .leftJoin('npm_versions as v', (join) =>
          join.onRef('v.repo_key', '=', 'p.repo_key').onRef('v.name', '=', 'p.name').onRef('v.version', '=', 'p.latest_version'),
        )
        .select(['p.name', 'p.latest_version', 'p.description', 'p.keywords', 'p.modified_at', 'v.published_by'])
        .orderBy('p.name')
        .offset(from)
        .limit(size)
        .execute(),
    ])
    return {
      total: Number(count?.total ?? 0),
      hits: rows.map((r) => ({
        name: r.name,
        version: r.latest_version!,
        description: r.description,
        keywords: JSON.parse(r.keywords) as string[],
        modifiedAt: r.modified_at,
        publisher: r.published_by,
      })),
    }
  }

  /** A change of the package alone, in its own transaction, retried on concurrent changes. */
  private change(
    repoKey: string,
    name: string,
    apply: (state: PackageState, trx: Transaction<NpmTables>, now: number) => Promise<Outcome>,
    expectedRevision?: string,
  ): Promise<number> {
    return retrying(name, () => this.db.transaction().execute((trx) => this.changeIn(trx, repoKey, name, expectedRevision, (state, now) => apply(state, trx, now))))
  }

  /**
   * One optimistic change of a package inside `trx`: reads its state, lets `apply` write version
   * rows and return new dist-tags (or `'delete-package'`, or `'unchanged'`), then bumps the
   * revision only if no one else did meanwhile; else throws {@link ConcurrentChangeError}, which
   * rolls the whole transaction back. Returns the new revision.
   */
  private async changeIn(
    trx: Transaction<NpmTables>,
    repoKey: string,
    name: string,
    /** A `_rev` the client read: the change applies only to that very state of the package. */
    expectedRevision: string | undefined,
    apply: (state: PackageState, now: number) => Promise<Outcome>,
    now = Date.now(),
  ): Promise<number> {
    const pkg = await trx.selectFrom('npm_packages').selectAll().where('repo_key', '=', repoKey).where('name', '=', name).executeTakeFirst()
    if (expectedRevision !== undefined) {
      if (!pkg) throw new TroveError('NOT_FOUND', `package ${name} does not exist`)
      const current = revisionString(repoKey, name, pkg.revision, pkg.created_at)
      if (parseRevision(expectedRevision) === undefined) throw conflict(`'${expectedRevision}' is not a revision of ${name}; fetch it again and retry`)
      if (expectedRevision !== current) throw conflict(`${name} changed since revision ${expectedRevision} (now ${current}); fetch it again and retry`)
    }
    const rows = await trx
      .selectFrom('npm_versions')
      .select(['version', 'deprecated', 'tarball_path'])
      .where('repo_key', '=', repoKey)
      .where('name', '=', name)
      .execute()
    const state: PackageState = {
      revision: pkg?.revision ?? 0,
      distTags: pkg ? (JSON.parse(pkg.dist_tags) as Record<string, string>) : {},
      versions: new Map(rows.map((r) => [r.version, { deprecated: r.deprecated, tarballPath: r.tarball_path }])),
    }
    if (!pkg && state.versions.size === 0) throw new TroveError('NOT_FOUND', `package ${name} does not exist`)
    const outcome = await apply(state, now)
    if (outcome === 'unchanged') return state.revision
    if (!pkg) {
      // The first version of a package (only a publish gets here: its version row is written).
      if (outcome === 'delete-package') return 0
      const distTags = outcome.distTags ?? {}
      const inserted = await trx
        .insertInto('npm_packages')
        .values({ repo_key: repoKey, name, revision: 1, dist_tags: JSON.stringify(distTags), ...(await this.summary(trx, repoKey, name, distTags)), created_at: now, modified_at: now })
        .onConflict((oc) => oc.columns(['repo_key', 'name']).doNothing())
        .executeTakeFirst()
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) throw new ConcurrentChangeError()
      return 1
    }
    if (outcome === 'delete-package') {
      const deleted = await trx.deleteFrom('npm_packages').where('repo_key', '=', repoKey).where('name', '=', name).where('revision', '=', state.revision).executeTakeFirst()
      if (Number(deleted.numDeletedRows) !== 1) throw new ConcurrentChangeError()
      return state.revision + 1
    }
    const distTags = outcome.distTags ?? state.distTags
    const updated = await trx
      .updateTable('npm_packages')
      .set({ revision: state.revision + 1, dist_tags: JSON.stringify(distTags), ...(await this.summary(trx, repoKey, name, distTags)), modified_at: now })
      .where('repo_key', '=', repoKey)
      .where('name', '=', name)
      .where('revision', '=', state.revision)
      .executeTakeFirst()
    if (Number(updated.numUpdatedRows) !== 1) throw new ConcurrentChangeError()
    return state.revision + 1
  }

  /** What search shows of a package: the manifest `latest` points to. */
  private async summary(trx: Transaction<NpmTables>, repoKey: string, name: string, distTags: Record<string, string>) {
    const latest = distTags.latest
    const row =
      latest === undefined
        ? undefined
        : await trx
            .selectFrom('npm_versions')
            .select('manifest')
            .where('repo_key', '=', repoKey)
            .where('name', '=', name)
            .where('version', '=', latest)
            .executeTakeFirst()
    const manifest = row ? (JSON.parse(row.manifest) as JsonObject) : {}
    const keywords = Array.isArray(manifest.keywords) ? manifest.keywords.filter((k): k is string => typeof k === 'string') : []
    return {
      latest_version: row ? latest! : null,
      description: typeof manifest.description === 'string' ? manifest.description : null,
      keywords: JSON.stringify(keywords),
    }
  }
}

function stateOf(createdAt: number, revision: number): string {
  return `${createdAt}.${revision}`
}

/** CouchDB-style `_rev`: `<n>-<hash>`; clients send it back in `/-rev/<rev>` URLs. */
export function revisionString(repoKey: string, name: string, revision: number, createdAt: number): string {
  return `${revision}-${createHash('sha256').update(`${repoKey}\0${name}\0${createdAt}\0${revision}`).digest('hex').slice(0, 32)}`
}

/** The revision number of a `_rev` a client sent, or `undefined` if it does not look like one of ours. */
export function parseRevision(rev: string): number | undefined {
  const match = /^(\d+)-[0-9a-f]+$/.exec(rev)
  return match ? Number(match[1]) : undefined
}

function truncate(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, 'utf8')
  return buffer.length <= maxBytes ? text : buffer.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '')
}
