import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExpressionBuilder, Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { BlobStore } from '../blobs/blob-store.js'
import { notFound } from '../errors.js'
import type { JobQueue } from '../jobs/job-queue.js'
import type { Repository, RepositoryService } from '../repositories/repository-service.js'
import type { Database } from '../../metadata/schema.js'
import { DEFAULT_EXTRACTION_LIMITS, ScanFailure, type Component, type ExtractionLimits } from './components.js'
import type { ExtractionContext, LinkedBlobs, RepositoryFiles } from './extractor.js'
import type { ScanningRegistry } from './scanning-registry.js'
import type { ImportSummary, OsvRecord, VulnerabilityDatabase } from './vulndb.js'

export const SCAN_JOB = 'scan'
export const REMATCH_JOB = 'scan-rematch'
/** Past this many changed packages, a re-match reads every stored component instead of a list. */
const MAX_LISTED_PACKAGES = 2000

export interface ScanReportVulnerability {
  /** The advisory ids of one vulnerability (records that alias each other are one). */
  readonly ids: readonly string[]
  readonly aliases: readonly string[]
  readonly summary: string | null
  /** The record's severity entries (`CVSS_V3` vectors) and, for GHSA records, its level (`HIGH`). */
  readonly severity: readonly { readonly type: string; readonly score: string }[]
  readonly severityLevel: string | null
  readonly components: readonly {
    readonly name: string
    readonly version: string
    readonly relation: string
    readonly location: string
    readonly fixedVersions: readonly string[]
  }[]
}

/** Something a scan did not read, and why. */
export interface SkippedPart {
  /** `layer 2 (sha256:…)`, prefixed by the platform and manifest in an index. */
  readonly location: string
  readonly reason: string
}

export interface ScanReport {
  readonly repo: string
  readonly path: string
  readonly sha256: string
  /** `pending` while the repository's scan job has not run; `unsupported` for files no extractor reads. */
  readonly status: 'done' | 'failed' | 'pending' | 'unsupported'
  readonly reason: string | null
  readonly scannedAt: string | null
  readonly matchedAt: string | null
  readonly components: readonly Component[]
  readonly vulnerabilities: readonly ScanReportVulnerability[]
  /** What the scan did not read (a foreign layer the repository does not hold), by location. */
  readonly skipped: readonly SkippedPart[]
}

/** A scanned blob as one repository holds it: results are kept per repository. */
export interface ScanSubject {
  readonly repoKey: string
  readonly sha256: string
}

/**
 * Scans artifacts as jobs, per repository: a scan reads the file and only blobs its repository
 * holds (an image's layers), and its result belongs to that repository. So a report never reflects
 * what another repository holds, and whether it is `done` or `pending` never tells whether the same
 * bytes were scanned elsewhere (identical bytes in two repositories are scanned twice). Components
 * are kept and matched against the vulnerability database; when the database changes, the stored
 * components of the changed packages are matched again (no re-extraction), so reports follow the
 * database within one job run.
 */
export class Scanner {
  /** The formats' extractors and ecosystems, which the scanner asks (it knows no package type). */
  readonly registry: ScanningRegistry
  private readonly scannedListeners: ((subject: ScanSubject) => void)[] = []

  constructor(
    private readonly deps: {
      readonly db: Kysely<Database>
      readonly blobs: BlobStore
      readonly repositories: Pick<RepositoryService, 'get'>
      readonly vulndb: VulnerabilityDatabase
      readonly jobs: JobQueue
      readonly logger: Logger
      readonly registry: ScanningRegistry
      readonly limits?: ExtractionLimits
      /** Where each scan gets its scratch folder (jars, wheels, RPM databases spooled); default the OS temp folder. */
      readonly scratchDir?: string
    },
  ) {
    this.registry = deps.registry
  }

  private get extractors() {
    return this.registry.extractors
  }

  /** Registers the scan and re-match jobs. */
  registerJobs(): void {
    this.deps.jobs.register(SCAN_JOB, async (payload) => {
      const { repoKey, sha256, format } = payload as { repoKey?: string; sha256: string; format: string }
      if (repoKey === undefined) return { queued: await this.queueForHolders(sha256, format) }
      const result = await this.scan({ repoKey, sha256 }, format)
      if (result.status === 'done') for (const listener of this.scannedListeners) listener({ repoKey, sha256 })
      return result
    })
    this.deps.jobs.register(REMATCH_JOB, async (payload) => {
      const { packages } = (payload ?? {}) as { packages?: string[] }
      return { rematched: await this.rematch(packages) }
    })
  }

  /** Calls `listener` after each scan job that ended `done` (webhooks announce the findings). */
  onScanned(listener: (subject: ScanSubject) => void): void {
    this.scannedListeners.push(listener)
  }

  /** Whether an extractor reads the file at `path` of `repository` (download policies: pending vs unsupported). */
  accepts(repository: Repository, path: string): boolean {
    return this.extractors.some((e) => e.accepts(repository, path))
  }

  /** Called when files are stored: queues a scan of each readable blob the repository has not scanned yet. */
  async onStored(repository: Repository, files: readonly { path: string; sha256: string }[]): Promise<void> {
    for (const file of files) {
      const extractor = this.extractors.find((e) => e.accepts(repository, file.path))
      if (!extractor) continue
      const done = await this.deps.db
        .selectFrom('scan_results')
        .select('sha256')
        .where('repo_key', '=', repository.key)
        .where('sha256', '=', file.sha256)
        .executeTakeFirst()
      if (done) continue
      await this.queue({ repoKey: repository.key, sha256: file.sha256 }, extractor.format)
    }
  }

  private async queue(subject: ScanSubject, format: string): Promise<void> {
    // Repository keys have no ':', so these keys never meet the per-blob ones of earlier versions.
    await this.deps.jobs.enqueue(SCAN_JOB, { ...subject, format }, { dedupeKey: `scan:${subject.repoKey}:${subject.sha256}` })
  }

  /**
   * A scan job of one blob, whatever holds it: queued by an earlier version, or by migration
   * 012-scans-per-repository to scan images again. Queues one scan per repository holding the blob
   * where this extractor reads it; returns how many.
   */
  private async queueForHolders(sha256: string, format: string): Promise<number> {
    const extractor = this.extractors.find((e) => e.format === format)
    if (!extractor) throw new Error(`no extractor for '${format}'`)
    const files = await this.deps.db.selectFrom('assets').select(['repo_key', 'path']).where('sha256', '=', sha256).execute()
    const queued = new Set<string>()
    for (const file of files) {
      if (queued.has(file.repo_key)) continue
      const repository = await this.deps.repositories.get(file.repo_key)
      if (!repository || !extractor.accepts(repository, file.path)) continue
      queued.add(file.repo_key)
      await this.queue({ repoKey: file.repo_key, sha256 }, format)
    }
    return queued.size
  }

  /** Queues a re-match of the components of the packages an import changed. */
  async onDatabaseChanged(summary: ImportSummary): Promise<void> {
    if (summary.changedPackages.size === 0) return
    const packages = summary.changedPackages.size > MAX_LISTED_PACKAGES ? undefined : [...summary.changedPackages]
    await this.deps.jobs.enqueue(REMATCH_JOB, { packages })
  }

  /**
   * Extracts and matches one blob of a repository, reading only blobs the repository holds; a
   * limit or a malformed archive is recorded as a failed scan. Nothing is recorded when the
   * repository no longer holds the blob (deleted meanwhile).
   */
  async scan(subject: ScanSubject, format: string): Promise<{ status: string; components: number; reason?: string }> {
    const extractor = this.extractors.find((e) => e.format === format)
    if (!extractor) throw new Error(`no extractor for '${format}'`)
    const { repoKey, sha256 } = subject
    const repository = await this.deps.repositories.get(repoKey)
    const linked = repository && this.linkedBlobs(repository)
    if (!linked || !(await linked.holds(sha256))) return { status: 'gone', components: 0 }
    const limits = this.deps.limits ?? DEFAULT_EXTRACTION_LIMITS
    let components: Component[] = []
    let reason: string | null = null
    const skipped: SkippedPart[] = []
    const scratchDir = await mkdtemp(join(this.deps.scratchDir ?? tmpdir(), 'trove-scan-'))
    try {
      const context: ExtractionContext = { linked, scratchDir, installed: this.registry.installed, skip: (location, why) => skipped.push({ location, reason: why }) }
      components = await extractor.extract(await this.deps.blobs.open(sha256), limits, context)
    } catch (err) {
      // Only what the archive caused ends the scan; anything else (storage down) is retried by the job.
      if (!(err instanceof ScanFailure)) throw err
      reason = err.message
    } finally {
      await rm(scratchDir, { recursive: true, force: true })
    }
    const now = Date.now()
    await this.deps.db.transaction().execute(async (trx) => {
      for (const table of ['scan_findings', 'scan_components', 'scan_results'] as const) {
        await trx.deleteFrom(table).where('repo_key', '=', repoKey).where('sha256', '=', sha256).execute()
      }
      await trx
        .insertInto('scan_results')
        .values({
          repo_key: repoKey,
          sha256,
          format,
          status: reason === null ? 'done' : 'failed',
          reason,
          skipped: skipped.length > 0 && reason === null ? JSON.stringify(skipped) : null,
          component_count: components.length,
          scanned_at: now,
          matched_at: now,
        })
        .execute()
      for (let i = 0; i < components.length; i += 500) {
        await trx
          .insertInto('scan_components')
          .values(
            components.slice(i, i + 500).map((c, j) => ({
              repo_key: repoKey,
              sha256,
              seq: i + j,
              ecosystem: c.ecosystem,
              name: this.registry.normalizeName(c.ecosystem, c.name),
              display_name: c.name,
              version: c.version,
              relation: c.relation,
              location: c.location,
            })),
          )
          .execute()
      }
    })
    await this.matchBlobs([subject])
    this.deps.logger.info({ repo: repoKey, sha256, format, components: components.length, skipped: skipped.length, reason }, reason === null ? 'scanned' : 'scan failed')
    return reason === null ? { status: 'done', components: components.length } : { status: 'failed', components: 0, reason }
  }

  /** Re-matches the stored components of `packages` (`ecosystem\0name`), or of every scanned blob; returns how many (per repository). */
  async rematch(packages?: readonly string[]): Promise<number> {
    const db = this.deps.db
    const found = new Map<string, ScanSubject>()
    const add = (rows: readonly { repo_key: string; sha256: string }[]) => {
      for (const r of rows) found.set(`${r.repo_key}\0${r.sha256}`, { repoKey: r.repo_key, sha256: r.sha256 })
    }
    if (packages === undefined) {
      add(await db.selectFrom('scan_results').select(['repo_key', 'sha256']).where('status', '=', 'done').execute())
    } else {
      for (const key of packages) {
        const [ecosystem, name] = key.split('\0') as [string, string]
        add(await db.selectFrom('scan_components').select(['repo_key', 'sha256']).distinct().where('ecosystem', '=', ecosystem).where('name', '=', name).execute())
      }
    }
    const subjects = [...found.values()]
    for (let i = 0; i < subjects.length; i += 100) await this.matchBlobs(subjects.slice(i, i + 100))
    return subjects.length
  }

  /** Matches the stored components of `subjects` and replaces their findings. */
  private async matchBlobs(subjects: readonly ScanSubject[]): Promise<void> {
    if (subjects.length === 0) return
    const db = this.deps.db
    const rows = await db.selectFrom('scan_components').selectAll().where((eb) => isOneOf(eb, subjects)).execute()
    // Declared dependencies are ranges, and a lockfile may pin a URL: only exact versions are matched.
    const matchable = rows.filter((r) => this.registry.isVersion(r.ecosystem, r.version) && (r.relation !== 'dependency' || isExactVersion(r.version)))
    const matches = await this.deps.vulndb.matchMany(matchable.map((r) => ({ ecosystem: r.ecosystem, name: r.name, version: r.version })))
    const findings = matchable.flatMap((r, i) => (matches.get(i) ?? []).map((m) => ({ repo_key: r.repo_key, sha256: r.sha256, seq: r.seq, vuln_id: m.id })))
    const now = Date.now()
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('scan_findings').where((eb) => isOneOf(eb, subjects)).execute()
      for (let i = 0; i < findings.length; i += 500) await trx.insertInto('scan_findings').values(findings.slice(i, i + 500)).execute()
      await trx.updateTable('scan_results').set({ matched_at: now }).where((eb) => isOneOf(eb, subjects)).execute()
    })
  }

  /**
   * The blobs a scan in `repository` may read: those some file of the repository points at. A
   * remote repository caches a layer when a client pulls it, so there a missing one is retried.
   */
  private linkedBlobs(repository: Repository): LinkedBlobs {
    const holds = async (sha256: string) =>
      (await this.deps.db.selectFrom('assets').select('sha256').where('repo_key', '=', repository.key).where('sha256', '=', sha256).limit(1).executeTakeFirst()) !== undefined
    return {
      holds,
      open: async (sha256, what) => {
        if (await holds(sha256)) return this.deps.blobs.open(sha256)
        if (repository.rclass === 'remote') throw new Error(`${what} is not cached in '${repository.key}' yet`)
        throw new ScanFailure(`${what} is not in '${repository.key}'`)
      },
    }
  }

  /** The report of the file at `repoKey/path`: its blob's components and vulnerabilities (aliases grouped). */
  async report(repository: Repository, path: string): Promise<ScanReport> {
    const db = this.deps.db
    let asset = await db.selectFrom('assets').select(['sha256']).where('repo_key', '=', repository.key).where('path', '=', path).executeTakeFirst()
    const named = asset ? undefined : await this.resolveReportPath(repository, path)
    if (named !== undefined) {
      path = named
      asset = await db.selectFrom('assets').select(['sha256']).where('repo_key', '=', repository.key).where('path', '=', path).executeTakeFirst()
    }
    if (!asset) throw notFound(`'${repository.key}/${path}' does not exist`)
    const sha256 = asset.sha256
    const base = { repo: repository.key, path, sha256 }
    const subject = { repoKey: repository.key, sha256 }
    const result = await db.selectFrom('scan_results').selectAll().where((eb) => isOneOf(eb, [subject])).executeTakeFirst()
    if (!result) {
      const isReadable = this.extractors.some((e) => e.accepts(repository, path))
      return { ...base, status: isReadable ? 'pending' : 'unsupported', reason: null, scannedAt: null, matchedAt: null, components: [], vulnerabilities: [], skipped: [] }
    }
    const components = await db.selectFrom('scan_components').selectAll().where((eb) => isOneOf(eb, [subject])).orderBy('seq').execute()
    const findings = await db.selectFrom('scan_findings').selectAll().where((eb) => isOneOf(eb, [subject])).execute()
    const records = new Map((await this.deps.vulndb.records([...new Set(findings.map((f) => f.vuln_id))])).map((r) => [r.id, r]))
    const groups = groupByAlias([...records.values()])
    const vulnerabilities = groups.map((group): ScanReportVulnerability => {
      const ids = group.map((r) => r.id)
      const hit = findings.filter((f) => ids.includes(f.vuln_id))
      const seqs = [...new Set(hit.map((f) => f.seq))].sort((a, b) => a - b)
      return {
        ids,
        aliases: [...new Set(group.flatMap((r) => r.aliases ?? []))].filter((a) => !ids.includes(a)).sort(),
        summary: group.map((r) => r.summary).find((s) => typeof s === 'string') ?? null,
        severity: group.flatMap((r) => r.severity ?? []),
        severityLevel: group.map((r) => r.database_specific?.severity).find((s): s is string => typeof s === 'string') ?? null,
        components: seqs.map((seq) => {
          const c = components.find((x) => x.seq === seq)!
          return { name: c.display_name, version: c.version, relation: c.relation, location: c.location, fixedVersions: this.fixesFor(group, c) }
        }),
      }
    })
    return {
      ...base,
      status: result.status,
      reason: result.reason,
      scannedAt: new Date(Number(result.scanned_at)).toISOString(),
      matchedAt: new Date(Number(result.matched_at)).toISOString(),
      components: components.map((c) => ({
        ecosystem: c.ecosystem,
        name: c.display_name,
        version: c.version,
        relation: c.relation as Component['relation'],
        location: c.location,
      })),
      vulnerabilities,
      skipped: result.skipped === null ? [] : (JSON.parse(result.skipped) as SkippedPart[]),
    }
  }

  /** The versions that fix a vulnerability (its records' `fixed` events) for a component of the report. */
  private fixesFor(group: readonly OsvRecord[], component: { ecosystem: string; name: string }): string[] {
    const fixes = new Set<string>()
    for (const record of group) {
      for (const affected of record.affected ?? []) {
        if (affected.package?.ecosystem !== component.ecosystem) continue
        if (this.registry.normalizeName(component.ecosystem, affected.package.name ?? '') !== component.name) continue
        for (const range of affected.ranges ?? []) if (range.type !== 'GIT') for (const e of range.events) if (e.fixed !== undefined) fixes.add(e.fixed)
      }
    }
    return [...fixes]
  }

  /** A report path in a form people write (an image's `<name>:<tag>`): the stored file the first extractor that knows the form says it names. */
  private async resolveReportPath(repository: Repository, path: string): Promise<string | undefined> {
    const db = this.deps.db
    const files: RepositoryFiles = {
      existing: async (paths) =>
        paths.length === 0 ? [] : (await db.selectFrom('assets').select('path').where('repo_key', '=', repository.key).where('path', 'in', [...paths]).execute()).map((r) => r.path),
      withContent: async (sha256, folder) =>
        (
          await db
            .selectFrom('assets')
            .select('path')
            .where('repo_key', '=', repository.key)
            .where('sha256', '=', sha256)
            // Paths under `folder/`: from `folder/` up to `folder0` ('0' follows '/').
            .where('path', '>=', `${folder}/`)
            .where('path', '<', `${folder}0`)
            .execute()
        ).map((r) => r.path),
    }
    for (const extractor of this.extractors) {
      const file = await extractor.resolveReportPath?.(repository, path, files)
      if (file !== undefined) return file
    }
    return undefined
  }
}

/** Rows of the scan tables that belong to one of `subjects` (a repository's blob). */
function isOneOf(eb: ExpressionBuilder<Database, 'scan_results' | 'scan_components' | 'scan_findings'>, subjects: readonly ScanSubject[]) {
  return eb.or(subjects.map((s) => eb.and([eb('repo_key', '=', s.repoKey), eb('sha256', '=', s.sha256)])))
}

/** Records that name each other (id or alias, either way) form one vulnerability; ids sorted, groups by first id. */
function groupByAlias(records: readonly OsvRecord[]): OsvRecord[][] {
  const parent = new Map<string, string>()
  const find = (x: string): string => {
    while (parent.has(x) && parent.get(x) !== x) x = parent.get(x)!
    return x
  }
  const union = (a: string, b: string) => {
    const ra = find(a)
    const rb = find(b)
    if (!parent.has(ra)) parent.set(ra, ra)
    if (ra !== rb) parent.set(rb, ra)
  }
  for (const r of records) {
    if (!parent.has(r.id)) parent.set(r.id, r.id)
    for (const alias of r.aliases ?? []) union(r.id, alias)
  }
  const groups = new Map<string, OsvRecord[]>()
  for (const r of [...records].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const root = find(r.id)
    groups.set(root, [...(groups.get(root) ?? []), r])
  }
  return [...groups.values()].sort((a, b) => (a[0]!.id < b[0]!.id ? -1 : 1))
}

/** Whether a declared dependency's version is one exact version (no range operator, wildcard, property or URL). */
function isExactVersion(version: string): boolean {
  return version !== '' && !/[<>=!~^*|,\s[\](){}$@]/.test(version) && !/^[xX]$/.test(version)
}
