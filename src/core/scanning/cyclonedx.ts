import { randomUUID } from 'node:crypto'
import type { AssessedReport } from './reports.js'
import type { ScanningRegistry } from './scanning-registry.js'

/**
 * An artifact's scan report as a CycloneDX 1.5 SBOM (JSON; ECMA-424 / cyclonedx.org
 * `bom-1.5.schema.json`): the artifact as `metadata.component`, each found component with its
 * purl, and each vulnerability with its ratings (the advisory's level, and the CVSS v3 score
 * computed from its vector) and what it `affects`. Purls are the ecosystems' own (`ecosystems`).
 */
export function toCycloneDx(report: AssessedReport, tool: { readonly name: string; readonly version: string }, ecosystems: Pick<ScanningRegistry, 'purl'>): Record<string, unknown> {
  const refOf = (seq: number) => `component-${seq}`
  const seqOf = new Map(report.components.map((c, seq) => [`${c.name}\0${c.version}\0${c.location}`, seq]))
  const components = report.components.map((c, seq) => {
    const purl = ecosystems.purl(c)
    return {
      type: 'library',
      'bom-ref': refOf(seq),
      name: c.name,
      ...(purl && purl.includes('@') ? { version: c.version } : {}),
      ...(purl ? { purl } : {}),
      properties: [
        { name: 'trove:ecosystem', value: c.ecosystem },
        { name: 'trove:relation', value: c.relation },
        { name: 'trove:location', value: c.location },
        // A declared dependency's range is kept here: it is no version.
        ...(purl && purl.includes('@') ? [] : [{ name: 'trove:versionRange', value: c.version }]),
      ],
    }
  })
  const vulnerabilities = report.vulnerabilities.map((v) => {
    const id = v.ids[0]!
    const ratings: Record<string, unknown>[] = []
    if (v.cvss) {
      ratings.push({
        source: sourceOf(id),
        score: v.cvss.score,
        severity: cdxSeverity(v.cvss.score),
        method: v.cvss.version === '3.1' ? 'CVSSv31' : 'CVSSv3',
        vector: v.cvss.vector,
      })
    }
    if (v.levelSource === 'advisory') ratings.push({ source: sourceOf(id), severity: v.level === 'moderate' ? 'medium' : v.level, method: 'other' })
    if (ratings.length === 0) ratings.push({ source: sourceOf(id), severity: 'unknown' })
    const affects = v.components.flatMap((c) => {
      const seq = seqOf.get(`${c.name}\0${c.version}\0${c.location}`)
      return seq === undefined ? [] : [{ ref: refOf(seq), versions: [{ version: c.version, status: 'affected' }] }]
    })
    const fixes = [...new Set(v.components.flatMap((c) => c.fixedVersions))]
    return {
      'bom-ref': `vulnerability-${id}`,
      id,
      source: sourceOf(id),
      references: [...v.ids.slice(1), ...v.aliases].map((alias) => ({ id: alias, source: sourceOf(alias) })),
      ratings,
      ...(v.summary ? { description: v.summary } : {}),
      ...(fixes.length > 0 ? { recommendation: `Upgrade to a fixed version: ${fixes.join(', ')}` } : {}),
      affects,
    }
  })
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: report.matchedAt ?? new Date().toISOString(),
      tools: { components: [{ type: 'application', name: tool.name, version: tool.version }] },
      component: {
        type: 'file',
        'bom-ref': 'artifact',
        name: report.path.split('/').pop() ?? report.path,
        hashes: [{ alg: 'SHA-256', content: report.sha256 }],
        properties: [
          { name: 'trove:repository', value: report.repo },
          { name: 'trove:path', value: report.path },
          { name: 'trove:scanStatus', value: report.status },
        ],
      },
    },
    components,
    dependencies: [{ ref: 'artifact', dependsOn: components.map((c) => c['bom-ref']) }],
    vulnerabilities,
  }
}

/** CycloneDX severities follow the CVSS v3 rating bands. */
function cdxSeverity(score: number): string {
  if (score === 0) return 'none'
  if (score < 4) return 'low'
  if (score < 7) return 'medium'
  if (score < 9) return 'high'
  return 'critical'
}

/** Where an advisory id comes from, by its prefix (OSV's id conventions). */
function sourceOf(id: string): { name: string; url?: string } {
  if (id.startsWith('GHSA-')) return { name: 'GitHub Advisory Database', url: `https://github.com/advisories/${id}` }
  if (id.startsWith('CVE-')) return { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${id}` }
  return { name: 'OSV', url: `https://osv.dev/vulnerability/${id}` }
}
