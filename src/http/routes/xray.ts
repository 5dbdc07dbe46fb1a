import type { FastifyInstance } from 'fastify'
import { TroveError, isTroveError } from '../../core/errors.js'
import { parseRepositoryPath } from '../../core/paths.js'
import { assessReport, type AssessedReport, type AssessedVulnerability } from '../../core/scanning/reports.js'
import type { ScanningRegistry } from '../../core/scanning/scanning-registry.js'
import type { CoreServices } from '../../core/services.js'
import { reviewsRepository } from './reviewers.js'

/** Paths and checksums one request may ask about at most. */
const MAX_ITEMS = 1000
/** Xray's own words for an artifact it cannot report on (the same whether it is missing or not readable). */
const NOT_INDEXED = "Artifact doesn't exist or not indexed/cached in Xray"
/** Xray prefixes paths with the Artifactory instance's id; Trove is one instance, `default`. */
const INSTANCE = 'default'

/**
 * The Xray-compatible artifact summary, `POST /xray/api/v1/summary/artifact`, so that tools that
 * ask Xray (IDE plugins, CI scripts, the JFrog CLI) can ask Trove: the body
 * `{"paths": ["[default/]<repo>/<path>", …], "checksums": ["<sha256>", …]}` and Xray's answer,
 * `{"artifacts": [{"general", "issues", "licenses"}], "errors": [{"error", "identifier"}]}`.
 * Each artifact needs read permission; one the caller may not read is reported as not indexed.
 */
export async function xrayRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const { repositories, scanner, authorizer } = services

  app.post('/xray/api/v1/summary/artifact', { config: { access: 'authenticated' } }, async (request) => {
    const body = (typeof request.body === 'object' && request.body !== null && !Array.isArray(request.body) ? request.body : undefined) as Record<string, unknown> | undefined
    const list = (field: string) => {
      const value = body?.[field]
      if (value === undefined) return []
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new TroveError('BAD_REQUEST', `"${field}" must be a list of strings`)
      return value as string[]
    }
    const paths = list('paths')
    const checksums = list('checksums')
    if (paths.length + checksums.length === 0) throw new TroveError('BAD_REQUEST', 'the body must be {"paths": ["<repo>/<path>", …]} or {"checksums": ["<sha256>", …]}')
    if (paths.length + checksums.length > MAX_ITEMS) throw new TroveError('BAD_REQUEST', `at most ${MAX_ITEMS} paths and checksums per request`)

    const artifacts: unknown[] = []
    const errors: { error: string; identifier: string }[] = []
    const summarize = async (repoKey: string, path: string): Promise<boolean> => {
      const repository = await repositories.get(repoKey)
      if (!repository || !((await authorizer.can(request.principal, 'read', repoKey, path)) || (await reviewsRepository(services, request.principal, repoKey)))) return false
      try {
        const report = assessReport(await scanner.report(repository, path))
        if (report.status === 'unsupported' || report.status === 'pending') return false
        artifacts.push(xrayArtifact(report, repository.packageType, scanner.registry))
        return true
      } catch (err) {
        if (isTroveError(err) && err.code === 'NOT_FOUND') return false
        throw err
      }
    }
    for (const identifier of paths) {
      let target: { repoKey: string; path: string }
      try {
        target = parseRepositoryPath(identifier.replace(/^\/+/, ''))
        if (target.repoKey === INSTANCE && !(await repositories.get(INSTANCE))) target = parseRepositoryPath(target.path)
      } catch {
        errors.push({ error: NOT_INDEXED, identifier })
        continue
      }
      if (target.path === '' || !(await summarize(target.repoKey, target.path))) errors.push({ error: NOT_INDEXED, identifier })
    }
    for (const identifier of checksums) {
      const sha256 = identifier.toLowerCase()
      const assets = /^[0-9a-f]{64}$/.test(sha256)
        ? await services.metadata.db.selectFrom('assets').select(['repo_key', 'path']).where('sha256', '=', sha256).orderBy('repo_key').orderBy('path').limit(100).execute()
        : []
      let found = false
      for (const asset of assets) if (await summarize(asset.repo_key, asset.path)) found = true
      if (!found) errors.push({ error: NOT_INDEXED, identifier })
    }
    return { artifacts, errors }
  })
}

/** One artifact as Xray's `ArtifactObj`; component ids and package types as the formats declare them. */
function xrayArtifact(report: AssessedReport, packageType: string, ecosystems: ScanningRegistry) {
  const self = report.components.find((c) => c.relation === 'self')
  const fullPath = `${INSTANCE}/${report.repo}/${report.path}`
  return {
    general: {
      component_id: self ? ecosystems.xrayComponentId(self) : report.path.split('/').pop(),
      name: report.path.split('/').pop() ?? report.path,
      path: fullPath,
      pkg_type: ecosystems.xrayPackageType(packageType),
      sha256: report.sha256,
    },
    issues: report.vulnerabilities.map((v) => xrayIssue(v, fullPath)),
    licenses: [],
  }
}

function xrayIssue(v: AssessedVulnerability, fullPath: string) {
  const cves = [...v.ids, ...v.aliases].filter((id) => id.startsWith('CVE-'))
  const cvss3 = v.cvss ? `${v.cvss.score.toFixed(1)}/${v.cvss.vector}` : undefined
  return {
    issue_id: v.ids[0],
    summary: v.summary ?? v.ids[0],
    description: v.summary ?? '',
    issue_type: 'security',
    severity: XRAY_SEVERITY[v.level],
    provider: 'OSV',
    cves: (cves.length > 0 ? cves : ['']).map((cve) => ({ ...(cve ? { cve } : {}), ...(cvss3 ? { cvss_v3: cvss3 } : {}) })),
    impact_path: v.components.map((c) => `${fullPath}/${c.name}:${c.version}`),
    components: v.components.map((c) => ({
      component_id: `${c.name}:${c.version}`,
      // Xray writes fixed versions as ranges, `[4.17.20]`.
      fixed_versions: c.fixedVersions.map((f) => `[${f}]`),
    })),
  }
}

const XRAY_SEVERITY = { low: 'Low', moderate: 'Medium', high: 'High', critical: 'Critical' } as const
