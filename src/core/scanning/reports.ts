import type { Kysely } from 'kysely'
import type { Repository } from '../repositories/repository-service.js'
import type { Database } from '../../metadata/schema.js'
import { cvssRating, cvssV3BaseScore, type CvssScore } from './cvss.js'
import type { ScanReport, ScanReportVulnerability, Scanner } from './scanner.js'

/** Severity levels, lowest first, with npm's and GHSA's word for the second one. */
export const SEVERITY_LEVELS = ['low', 'moderate', 'high', 'critical'] as const
export type SeverityLevel = (typeof SEVERITY_LEVELS)[number]

export function severityRank(level: SeverityLevel): number {
  return SEVERITY_LEVELS.indexOf(level) + 1
}

/** A level as people write it: `low`, `moderate` or `medium`, `high`, `critical` (any case); undefined otherwise. */
export function parseSeverityLevel(text: string): SeverityLevel | undefined {
  const word = text.trim().toLowerCase()
  if (word === 'medium') return 'moderate'
  return (SEVERITY_LEVELS as readonly string[]).includes(word) ? (word as SeverityLevel) : undefined
}

/** How severe one vulnerability is, and where that came from. */
export interface SeverityAssessment {
  readonly level: SeverityLevel
  /**
   * `advisory`: the record's own level (GHSA's `database_specific.severity`); `cvss`: from the
   * highest CVSS v3 base score of its vectors; `default`: neither, reported as `moderate` (as npm
   * audit does for advisories without a level).
   */
  readonly levelSource: 'advisory' | 'cvss' | 'default'
  /** The highest CVSS v3 base score among the record's vectors, computed here. */
  readonly cvss: CvssScore | null
}

/** The level and CVSS score of a vulnerability from its severity entries and advisory level. */
export function assessSeverity(severity: readonly { readonly type: string; readonly score: string }[], advisoryLevel: string | null): SeverityAssessment {
  let cvss: CvssScore | null = null
  for (const entry of severity) {
    if (entry.type !== 'CVSS_V3') continue
    const score = cvssV3BaseScore(entry.score)
    if (score && (!cvss || score.score > cvss.score)) cvss = score
  }
  const fromAdvisory = advisoryLevel === null ? undefined : parseSeverityLevel(advisoryLevel)
  if (fromAdvisory) return { level: fromAdvisory, levelSource: 'advisory', cvss }
  if (cvss && cvss.score > 0) {
    const rating = cvssRating(cvss.score)
    return { level: rating === 'medium' ? 'moderate' : (rating as SeverityLevel), levelSource: 'cvss', cvss }
  }
  return { level: 'moderate', levelSource: 'default', cvss }
}

export type AssessedVulnerability = ScanReportVulnerability & SeverityAssessment
export type AssessedReport = Omit<ScanReport, 'vulnerabilities'> & { readonly vulnerabilities: readonly AssessedVulnerability[] }

/** A report with each vulnerability's level and CVSS score; the worst first. */
export function assessReport(report: ScanReport): AssessedReport {
  const vulnerabilities = report.vulnerabilities.map((v) => ({ ...v, ...assessSeverity(v.severity, v.severityLevel) }))
  return { ...report, vulnerabilities: sortWorstFirst(vulnerabilities) }
}

/** Worst first: level, then CVSS score, then id. */
export function sortWorstFirst<T extends { level: SeverityLevel; cvss: CvssScore | null; ids: readonly string[] }>(list: readonly T[]): T[] {
  return [...list].sort(
    (a, b) => severityRank(b.level) - severityRank(a.level) || (b.cvss?.score ?? 0) - (a.cvss?.score ?? 0) || (a.ids[0]! < b.ids[0]! ? -1 : 1),
  )
}

type Counts = Record<SeverityLevel, number>

export interface ScanSummary {
  /** Stored files the scanner reads, and where their scans stand (files the scanner does not read are not counted). */
  readonly artifacts: { readonly total: number; readonly scanned: number; readonly failed: number; readonly pending: number; readonly vulnerable: number }
  /** Distinct vulnerabilities (records that alias each other count once), by level. */
  readonly vulnerabilities: Counts
  /** Artifact × vulnerability pairs, by level. */
  readonly findings: Counts
  /** The worst vulnerabilities, the most widespread first within a level. */
  readonly topVulnerabilities: readonly {
    readonly ids: readonly string[]
    readonly aliases: readonly string[]
    readonly summary: string | null
    readonly level: SeverityLevel
    readonly cvssScore: number | null
    readonly artifacts: number
    /** Up to five `repo/path` of artifacts it affects. */
    readonly examples: readonly string[]
  }[]
}

/** Rows per `IN (…)` list: well under SQLite's and PostgreSQL's parameter limits. */
const CHUNK = 500
const TOP = 10

/**
 * Scan summaries of repositories and projects, computed from the stored scan results (no scan
 * runs): counts by severity, where scans stand, and the top vulnerabilities.
 */
export class ScanReports {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly scanner: Scanner,
  ) {}

  /** The summary of the stored files of `repositories` (one repository, or a project's). */
  async summary(repositories: readonly Repository[]): Promise<ScanSummary> {
    const keys = repositories.map((r) => r.key)
    const byKey = new Map(repositories.map((r) => [r.key, r]))
    const assets = keys.length === 0 ? [] : await this.db.selectFrom('assets').select(['repo_key', 'path', 'sha256']).where('repo_key', 'in', keys).execute()
    // Scans are per repository: each file has the result of its own repository's scan.
    const blobs = [...new Set(assets.map((a) => a.sha256))]
    const results = new Map<string, string>()
    const findings = new Map<string, Set<string>>()
    for (let i = 0; i < blobs.length; i += CHUNK) {
      const slice = blobs.slice(i, i + CHUNK)
      const scans = await this.db.selectFrom('scan_results').select(['repo_key', 'sha256', 'status']).where('repo_key', 'in', keys).where('sha256', 'in', slice).execute()
      for (const r of scans) results.set(subjectKey(r), r.status)
      for (const f of await this.db.selectFrom('scan_findings').select(['repo_key', 'sha256', 'vuln_id']).where('repo_key', 'in', keys).where('sha256', 'in', slice).execute()) {
        findings.set(subjectKey(f), (findings.get(subjectKey(f)) ?? new Set()).add(f.vuln_id))
      }
    }
    const groups = await this.vulnerabilityGroups([...new Set([...findings.values()].flatMap((s) => [...s]))])

    const artifacts = { total: 0, scanned: 0, failed: 0, pending: 0, vulnerable: 0 }
    const vulnerabilities = zeroCounts()
    const findingCounts = zeroCounts()
    const hits = new Map<string, string[]>() // group key → artifacts
    for (const asset of assets) {
      const status = results.get(subjectKey(asset))
      if (status === undefined) {
        if (!this.scanner.accepts(byKey.get(asset.repo_key)!, asset.path)) continue
        artifacts.total++
        artifacts.pending++
        continue
      }
      artifacts.total++
      if (status === 'failed') {
        artifacts.failed++
        continue
      }
      artifacts.scanned++
      const keysOfAsset = new Set([...(findings.get(subjectKey(asset)) ?? [])].map((id) => groups.keyOf.get(id)!))
      if (keysOfAsset.size > 0) artifacts.vulnerable++
      for (const key of keysOfAsset) {
        findingCounts[groups.byKey.get(key)!.level]++
        hits.set(key, [...(hits.get(key) ?? []), `${asset.repo_key}/${asset.path}`])
      }
    }
    for (const key of hits.keys()) vulnerabilities[groups.byKey.get(key)!.level]++
    const top = [...hits.entries()]
      .map(([key, where]) => ({ group: groups.byKey.get(key)!, where }))
      .sort(
        (a, b) =>
          severityRank(b.group.level) - severityRank(a.group.level) ||
          b.where.length - a.where.length ||
          (b.group.cvss?.score ?? 0) - (a.group.cvss?.score ?? 0) ||
          (a.group.ids[0]! < b.group.ids[0]! ? -1 : 1),
      )
      .slice(0, TOP)
      .map(({ group, where }) => ({
        ids: group.ids,
        aliases: group.aliases,
        summary: group.summary,
        level: group.level,
        cvssScore: group.cvss?.score ?? null,
        artifacts: where.length,
        examples: where.sort().slice(0, 5),
      }))
    return { artifacts, vulnerabilities, findings: findingCounts, topVulnerabilities: top }
  }

  /** Records grouped by alias (one CVE reported once), each group assessed. */
  private async vulnerabilityGroups(ids: readonly string[]) {
    const records: { id: string; aliases: string[]; summary: string | null; severity: { type: string; score: string }[]; level: string | null }[] = []
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.db.selectFrom('vuln_records').select(['id', 'aliases', 'summary', 'record']).where('id', 'in', ids.slice(i, i + CHUNK)).execute()
      for (const row of rows) {
        const record = JSON.parse(row.record) as { severity?: { type: string; score: string }[]; database_specific?: { severity?: unknown } }
        const level = record.database_specific?.severity
        records.push({ id: row.id, aliases: JSON.parse(row.aliases) as string[], summary: row.summary, severity: record.severity ?? [], level: typeof level === 'string' ? level : null })
      }
    }
    const parent = new Map<string, string>()
    const find = (x: string): string => {
      let root = x
      while (parent.has(root) && parent.get(root) !== root) root = parent.get(root)!
      return root
    }
    const union = (a: string, b: string) => {
      const ra = find(a)
      const rb = find(b)
      if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb)
    }
    for (const r of records) {
      if (!parent.has(r.id)) parent.set(r.id, r.id)
      for (const alias of r.aliases) {
        if (!parent.has(alias)) parent.set(alias, alias)
        union(r.id, alias)
      }
    }
    const members = new Map<string, typeof records>()
    for (const r of records) members.set(find(r.id), [...(members.get(find(r.id)) ?? []), r])
    const keyOf = new Map<string, string>()
    const byKey = new Map<string, { ids: string[]; aliases: string[]; summary: string | null } & SeverityAssessment>()
    for (const [key, group] of members) {
      const ids = group.map((r) => r.id).sort()
      for (const id of ids) keyOf.set(id, key)
      const assessed = group
        .map((r) => assessSeverity(r.severity, r.level))
        .sort((a, b) => severityRank(b.level) - severityRank(a.level) || (b.cvss?.score ?? 0) - (a.cvss?.score ?? 0))
      byKey.set(key, {
        ids,
        aliases: [...new Set(group.flatMap((r) => r.aliases))].filter((a) => !ids.includes(a)).sort(),
        summary: group.map((r) => r.summary).find((s) => s !== null) ?? null,
        ...assessed[0]!,
      })
    }
    return { keyOf, byKey }
  }
}

function subjectKey(row: { repo_key: string; sha256: string }): string {
  return `${row.repo_key}\0${row.sha256}`
}

function zeroCounts(): Counts {
  return { critical: 0, high: 0, moderate: 0, low: 0 }
}
