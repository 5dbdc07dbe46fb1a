import type { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import { TroveError, notFound } from '../errors.js'
import type { Repository, RepositoryService } from '../repositories/repository-service.js'
import { assessReport, parseSeverityLevel, severityRank, sortWorstFirst, type AssessedVulnerability, type SeverityLevel } from './reports.js'
import type { Scanner } from './scanner.js'

/** Lets one vulnerability (or one package's) through a policy, for a reason, until it expires. */
export interface IgnoreRule {
  /** A vulnerability id or one of its aliases (`GHSA-…`, `CVE-…`); case-insensitive. */
  readonly vulnerability: string | null
  /** A package name (case-insensitive): its findings are ignored, whatever the vulnerability. */
  readonly package: string | null
  /** With `package`: only this version of it. */
  readonly version: string | null
  /** ISO time after which the rule no longer applies; null: never expires. */
  readonly expiresAt: string | null
  readonly reason: string
  readonly createdBy: string
  readonly createdAt: string
}

/** A download policy: which repositories it covers, and what of theirs clients may not download. */
export interface ScanPolicy {
  readonly name: string
  readonly description: string
  readonly enabled: boolean
  /** Repository keys it covers (`*`: every repository). */
  readonly repositories: readonly string[]
  /** Project keys it covers: every repository whose `projectKey` is one of them. */
  readonly projects: readonly string[]
  /** Block artifacts with a vulnerability at or above this level; null: no severity rule. */
  readonly minSeverity: SeverityLevel | null
  /** Block artifacts the scanner reads but has not scanned yet (pending) or could not scan (failed). */
  readonly blockUnscanned: boolean
  readonly ignoreRules: readonly IgnoreRule[]
  readonly createdAt: string
  readonly updatedAt: string
}

/** What is downloaded, for {@link DownloadPolicies.assertDownloadAllowed}. */
export interface DownloadTarget {
  /** The repository that holds the file (or is caching it now), or its key. */
  readonly repository: Repository | string
  /** The repository the client asked, when another one (a virtual): its policies apply too. */
  readonly via?: Repository | undefined
  /** The file's path in `repository`. */
  readonly path: string
  /** The stored blob; undefined while the file is pulled through from an upstream (not scanned yet). */
  readonly sha256?: string | undefined
  /** How the refusal names the artifact (default: the path's last segment). */
  readonly label?: string | undefined
  /** Whether the scanner reads such files (default: the scanner's extractors decide). */
  readonly isScannable?: boolean | undefined
  /** A pull-through stream: when refused, it is drained into the cache instead of sent (so it gets scanned). */
  readonly stream?: Readable | undefined
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
/** Policies are re-read at most this often (other nodes' changes show within it; this node's at once). */
const CACHE_MS = 2000
/** Assessed findings kept per repository's blob (keyed by when they were last matched). */
const MAX_CACHED_BLOBS = 1000
/** Vulnerabilities a refusal names at most. */
const NAMED = 5

/**
 * Download policies (issue #8): block artifacts with vulnerabilities at or above a level, and
 * optionally artifacts not scanned yet, per repository or project, with ignore rules. Every
 * download path of every format asks {@link assertDownloadAllowed} once, after it found the file
 * and before it sends a byte; a refusal is `DENIED` (403) in the protocol's own error body.
 */
export class DownloadPolicies {
  private cached: { at: number; policies: readonly ScanPolicy[] } | undefined
  private readonly assessed = new Map<string, { matchedAt: number; vulnerabilities: readonly AssessedVulnerability[] }>()

  constructor(
    private readonly deps: {
      readonly db: Kysely<Database>
      readonly scanner: Scanner
      readonly repositories: RepositoryService
      /** Whether a project exists (policies may name only existing ones). */
      readonly projectExists: (key: string) => Promise<boolean>
      readonly now?: () => number
    },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now()
  }

  async list(): Promise<ScanPolicy[]> {
    const rows = await this.deps.db.selectFrom('scan_policies').select('body').orderBy('name').execute()
    return rows.map((r) => JSON.parse(r.body) as ScanPolicy)
  }

  async get(name: string): Promise<ScanPolicy | undefined> {
    const row = await this.deps.db.selectFrom('scan_policies').select('body').where('name', '=', name).executeTakeFirst()
    return row ? (JSON.parse(row.body) as ScanPolicy) : undefined
  }

  async require(name: string): Promise<ScanPolicy> {
    const policy = await this.get(name)
    if (!policy) throw notFound(`scan policy '${name}' does not exist`)
    return policy
  }

  /**
   * Checks a policy body (nothing is stored when it is refused). Ignore rules keep their author
   * and creation time when an update sends the same rule again.
   */
  async validate(name: string, body: unknown, user: string, existing?: ScanPolicy): Promise<ScanPolicy> {
    if (!NAME.test(name)) throw new TroveError('BAD_REQUEST', `policy name '${name}' must match ${NAME.source}`)
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
    const b = body as Record<string, unknown>
    const known = ['name', 'description', 'enabled', 'repositories', 'projects', 'minSeverity', 'blockUnscanned', 'ignoreRules', 'createdAt', 'updatedAt']
    for (const field of Object.keys(b)) if (!known.includes(field)) throw new TroveError('BAD_REQUEST', `unknown field '${field}' (known: ${known.join(', ')})`)
    if (b.name !== undefined && b.name !== name) throw new TroveError('BAD_REQUEST', `the body names '${String(b.name)}' but the URL '${name}'`)
    const description = optional<string>(b.description, 'description', (v) => typeof v === 'string', 'a string') ?? ''
    const enabled = optional<boolean>(b.enabled, 'enabled', (v) => typeof v === 'boolean', 'true or false') ?? true
    const blockUnscanned = optional<boolean>(b.blockUnscanned, 'blockUnscanned', (v) => typeof v === 'boolean', 'true or false') ?? false
    const repositories = stringList(b.repositories, 'repositories')
    const projects = stringList(b.projects, 'projects')
    if (repositories.length === 0 && projects.length === 0) throw new TroveError('BAD_REQUEST', 'a policy must name repositories (or "*") or projects')
    for (const key of repositories) {
      if (key !== '*' && !(await this.deps.repositories.get(key))) throw new TroveError('BAD_REQUEST', `repository '${key}' does not exist`)
    }
    for (const key of projects) if (!(await this.deps.projectExists(key))) throw new TroveError('BAD_REQUEST', `project '${key}' does not exist`)
    let minSeverity: SeverityLevel | null = null
    if (b.minSeverity !== undefined && b.minSeverity !== null) {
      minSeverity = typeof b.minSeverity === 'string' ? (parseSeverityLevel(b.minSeverity) ?? null) : null
      if (!minSeverity) throw new TroveError('BAD_REQUEST', `minSeverity must be one of low, moderate (or medium), high, critical; got ${JSON.stringify(b.minSeverity)}`)
    }
    if (minSeverity === null && !blockUnscanned) throw new TroveError('BAD_REQUEST', 'the policy blocks nothing: set minSeverity, blockUnscanned, or both')
    const now = new Date(this.now()).toISOString()
    const ignoreRules = this.ignoreRules(b.ignoreRules, user, now, existing?.ignoreRules ?? [])
    return {
      name,
      description,
      enabled,
      repositories,
      projects,
      minSeverity,
      blockUnscanned,
      ignoreRules,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    }
  }

  /** Creates or replaces a policy checked by {@link validate}; true when it is new. */
  async put(policy: ScanPolicy): Promise<boolean> {
    const now = this.now()
    const body = JSON.stringify(policy)
    const existed = await this.get(policy.name)
    await this.deps.db
      .insertInto('scan_policies')
      .values({ name: policy.name, body, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ body, updated_at: now }))
      .execute()
    this.cached = undefined
    return !existed
  }

  async delete(name: string): Promise<void> {
    const result = await this.deps.db.deleteFrom('scan_policies').where('name', '=', name).executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw notFound(`scan policy '${name}' does not exist`)
    this.cached = undefined
  }

  /** The enabled policies that cover a repository (by key, `*`, or its project). */
  async policiesFor(repositories: readonly Repository[]): Promise<ScanPolicy[]> {
    const all = await this.enabledPolicies()
    if (all.length === 0) return []
    return all.filter((p) =>
      repositories.some((r) => {
        const project = r.config.projectKey
        return p.repositories.includes('*') || p.repositories.includes(r.key) || (typeof project === 'string' && p.projects.includes(project))
      }),
    )
  }

  /**
   * Throws `DENIED` when a policy covering the repository (or the virtual it was asked through)
   * blocks the file: a vulnerability at or above its level that no live ignore rule covers, or,
   * with `blockUnscanned`, a file the scanner reads that has no finished scan. Files the scanner
   * does not read (unsupported) are never blocked. Cheap when no policy applies (cached list).
   */
  async assertDownloadAllowed(download: DownloadTarget): Promise<void> {
    const holder = typeof download.repository === 'string' ? await this.deps.repositories.require(download.repository) : download.repository
    const target = { ...download, repository: holder }
    const repositories = target.via && target.via.key !== holder.key ? [holder, target.via] : [holder]
    const policies = await this.policiesFor(repositories)
    if (policies.length === 0) return
    const label = target.label ?? target.path.split('/').pop() ?? target.path
    try {
      const state = await this.stateOf(target)
      if (state.kind === 'unsupported') return
      for (const policy of policies) {
        if (state.kind !== 'done') {
          if (!policy.blockUnscanned) continue
          throw new TroveError(
            'DENIED',
            state.kind === 'failed'
              ? `${label} is blocked by policy '${policy.name}': its scan failed (${state.reason ?? 'no reason recorded'})`
              : `${label} is blocked by policy '${policy.name}': it has not been scanned yet; try again once its scan is done`,
            { policy: policy.name, artifact: `${target.repository.key}/${target.path}`, scan: state.kind },
          )
        }
        if (policy.minSeverity === null) continue
        const blocking = this.blockingVulnerabilities(policy, state.vulnerabilities)
        if (blocking.length === 0) continue
        const named = blocking.slice(0, NAMED).map((v) => `${v.ids[0]} (${v.level}${v.cvss ? `, CVSS ${v.cvss.score.toFixed(1)}` : ''})`)
        const more = blocking.length > NAMED ? `, and ${blocking.length - NAMED} more` : ''
        throw new TroveError('DENIED', `${label} is blocked by policy '${policy.name}': ${named.join(', ')}${more}`, {
          policy: policy.name,
          artifact: `${target.repository.key}/${target.path}`,
          vulnerabilities: blocking.map((v) => ({ id: v.ids[0], aliases: v.aliases, severity: v.level, cvssScore: v.cvss?.score ?? null })),
        })
      }
    } catch (err) {
      // A refused pull-through still completes its cache write (and so its scan): the next try may pass.
      target.stream?.resume()
      throw err
    }
  }

  /** The vulnerabilities of `vulnerabilities` that `policy` blocks, worst first. */
  blockingVulnerabilities(policy: ScanPolicy, vulnerabilities: readonly AssessedVulnerability[]): AssessedVulnerability[] {
    if (policy.minSeverity === null) return []
    const min = severityRank(policy.minSeverity)
    const now = this.now()
    const live = policy.ignoreRules.filter((r) => r.expiresAt === null || Date.parse(r.expiresAt) > now)
    return sortWorstFirst(
      vulnerabilities.filter((v) => {
        if (severityRank(v.level) < min) return false
        const names = [...v.ids, ...v.aliases].map((x) => x.toLowerCase())
        // Ignored when every affected component it was found in is covered by a live rule.
        return v.components.some(
          (c) =>
            !live.some(
              (r) =>
                (r.vulnerability === null || names.includes(r.vulnerability.toLowerCase())) &&
                (r.package === null || r.package.toLowerCase() === c.name.toLowerCase()) &&
                (r.version === null || r.version === c.version),
            ),
        )
      }),
    )
  }

  private async stateOf(
    target: DownloadTarget & { repository: Repository },
  ): Promise<{ kind: 'unsupported' | 'pending' } | { kind: 'failed'; reason: string | null } | { kind: 'done'; vulnerabilities: readonly AssessedVulnerability[] }> {
    const isScannable = target.isScannable ?? this.deps.scanner.accepts(target.repository, target.path)
    if (target.sha256 === undefined) return { kind: isScannable ? 'pending' : 'unsupported' }
    // The holding repository's own scan (scans are per repository).
    const result = await this.deps.db
      .selectFrom('scan_results')
      .select(['status', 'reason', 'matched_at'])
      .where('repo_key', '=', target.repository.key)
      .where('sha256', '=', target.sha256)
      .executeTakeFirst()
    if (!result) return { kind: isScannable ? 'pending' : 'unsupported' }
    if (result.status === 'failed') return { kind: 'failed', reason: result.reason }
    const matchedAt = Number(result.matched_at)
    const cacheKey = `${target.repository.key}\0${target.sha256}`
    const hit = this.assessed.get(cacheKey)
    if (hit && hit.matchedAt === matchedAt) return { kind: 'done', vulnerabilities: hit.vulnerabilities }
    const report = assessReport(await this.deps.scanner.report(target.repository, target.path))
    if (this.assessed.size >= MAX_CACHED_BLOBS) this.assessed.delete(this.assessed.keys().next().value!)
    this.assessed.set(cacheKey, { matchedAt, vulnerabilities: report.vulnerabilities })
    return { kind: 'done', vulnerabilities: report.vulnerabilities }
  }

  private async enabledPolicies(): Promise<readonly ScanPolicy[]> {
    const now = Date.now()
    if (!this.cached || now - this.cached.at > CACHE_MS) {
      this.cached = { at: now, policies: (await this.list()).filter((p) => p.enabled) }
    }
    return this.cached.policies
  }

  private ignoreRules(value: unknown, user: string, now: string, previous: readonly IgnoreRule[]): IgnoreRule[] {
    if (value === undefined || value === null) return []
    if (!Array.isArray(value)) throw new TroveError('BAD_REQUEST', 'ignoreRules must be a list')
    return value.map((raw, i) => {
      const where = `ignoreRules[${i}]`
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TroveError('BAD_REQUEST', `${where} must be an object`)
      const r = raw as Record<string, unknown>
      const allowed = ['vulnerability', 'package', 'version', 'expiresAt', 'reason', 'createdBy', 'createdAt']
      for (const field of Object.keys(r)) if (!allowed.includes(field)) throw new TroveError('BAD_REQUEST', `${where}: unknown field '${field}' (known: ${allowed.join(', ')})`)
      const text = (field: string) => {
        const v = r[field]
        if (v === undefined || v === null) return null
        if (typeof v !== 'string' || v.trim() === '') throw new TroveError('BAD_REQUEST', `${where}.${field} must be a non-empty string`)
        return v.trim()
      }
      const vulnerability = text('vulnerability')
      const pkg = text('package')
      const version = text('version')
      const reason = text('reason')
      if (vulnerability === null && pkg === null) throw new TroveError('BAD_REQUEST', `${where} must name a vulnerability (id or alias), a package, or both`)
      if (version !== null && pkg === null) throw new TroveError('BAD_REQUEST', `${where}.version needs a package`)
      if (reason === null) throw new TroveError('BAD_REQUEST', `${where}.reason is required: say why the finding may be ignored`)
      const expires = text('expiresAt')
      if (expires !== null && Number.isNaN(Date.parse(expires))) throw new TroveError('BAD_REQUEST', `${where}.expiresAt must be an ISO 8601 time, like 2030-01-31T00:00:00Z`)
      const rule = { vulnerability, package: pkg, version, expiresAt: expires === null ? null : new Date(Date.parse(expires)).toISOString(), reason }
      const same = previous.find((p) => p.vulnerability === rule.vulnerability && p.package === rule.package && p.version === rule.version && p.reason === rule.reason)
      return { ...rule, createdBy: same?.createdBy ?? user, createdAt: same?.createdAt ?? now }
    })
  }
}

function optional<T>(value: unknown, field: string, check: (v: unknown) => boolean, what: string): T | undefined {
  if (value === undefined || value === null) return undefined
  if (!check(value)) throw new TroveError('BAD_REQUEST', `${field} must be ${what}`)
  return value as T
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) throw new TroveError('BAD_REQUEST', `${field} must be a list of keys`)
  return [...new Set(value as string[])]
}
