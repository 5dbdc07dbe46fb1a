import type { Readable } from 'node:stream'
import { createGunzip, createInflate } from 'node:zlib'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import semver from 'semver'
import { cvssV3BaseScore, type FormatContext, notFound, type OsvRecord, parseJson, TroveError } from '../../core/index.js'
import type { AccessGuard } from '../../http/index.js'

/** An audit body (every installed package and version of a project) at most, decompressed. */
const MAX_AUDIT_BODY_BYTES = 32 * 1024 * 1024
const NPM_SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'] as const
type NpmSeverity = (typeof NPM_SEVERITIES)[number]

interface NpmAdvisory {
  readonly id: number
  readonly url: string
  readonly title: string
  readonly severity: NpmSeverity
  readonly vulnerable_versions: string
  readonly cwe: readonly string[]
  readonly cvss: { readonly score: number; readonly vectorString: string | null }
  /** Trove's additions: the OSV id and aliases the advisory came from. */
  readonly github_advisory_id: string
  readonly aliases: readonly string[]
}

/**
 * `npm audit` against Trove's own vulnerability database, in every npm repository:
 * `POST <registry>/-/npm/v1/security/advisories/bulk` (npm 7+: `{name: [versions]}` →
 * `{name: [advisory]}`) and `POST <registry>/-/npm/v1/security/audits/quick` (the older tree
 * format, which npm falls back to). Registered inside the npm routes' scope, so errors are npm's
 * `{"error": …}`. Works offline: nothing is asked of any upstream.
 */
export async function npmAuditRoutes(app: FastifyInstance, services: FormatContext): Promise<void> {
  const access = async (request: FastifyRequest, guard: AccessGuard) =>
    guard.require(request.principal, 'read', (request.params as { repo: string }).repo)
  const npmRepository = async (key: string) => {
    const repository = await services.repositories.get(key)
    if (!repository || repository.packageType !== 'npm') throw notFound(`'${key}' is not an npm repository`)
    return repository
  }

  app.post<{ Params: { repo: string } }>('/:repo/-/npm/v1/security/advisories/bulk', { config: { access } }, async (request) => {
    await npmRepository(request.params.repo)
    const body = await readAuditBody(request)
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TroveError('BAD_REQUEST', 'the body must be {"package name": ["version", …]}')
    const wanted: Record<string, string[]> = {}
    for (const [name, versions] of Object.entries(body as Record<string, unknown>)) {
      if (!Array.isArray(versions) || versions.some((v) => typeof v !== 'string')) throw new TroveError('BAD_REQUEST', `the versions of '${name}' must be an array of strings`)
      wanted[name] = versions as string[]
    }
    return bulkAdvisories(services, wanted)
  })

  app.post<{ Params: { repo: string } }>('/:repo/-/npm/v1/security/audits/quick', { config: { access } }, async (request) => {
    await npmRepository(request.params.repo)
    const body = await readAuditBody(request)
    if (typeof body !== 'object' || body === null) throw new TroveError('BAD_REQUEST', 'the body must be an npm audit tree ({"dependencies": …})')
    const wanted: Record<string, string[]> = {}
    let count = 0
    const walk = (deps: unknown, depth: number) => {
      if (typeof deps !== 'object' || deps === null || depth > 256) return
      for (const [name, value] of Object.entries(deps as Record<string, unknown>)) {
        const entry = (value ?? {}) as { version?: unknown; dependencies?: unknown }
        if (typeof entry.version === 'string') {
          count++
          wanted[name] = [...new Set([...(wanted[name] ?? []), entry.version])]
        }
        walk(entry.dependencies, depth + 1)
      }
    }
    walk((body as { dependencies?: unknown }).dependencies, 0)
    const bulk = await bulkAdvisories(services, wanted)
    const advisories: Record<string, unknown> = {}
    const counts: Record<NpmSeverity, number> = { info: 0, low: 0, moderate: 0, high: 0, critical: 0 }
    for (const [name, list] of Object.entries(bulk)) {
      for (const advisory of list) {
        const findings = (wanted[name] ?? []).filter((v) => semver.satisfies(v, advisory.vulnerable_versions)).map((version) => ({ version, paths: [name] }))
        advisories[String(advisory.id)] = { ...advisory, module_name: name, findings, overview: advisory.title, recommendation: '', references: '' }
        counts[advisory.severity] += findings.length
      }
    }
    return {
      actions: [],
      advisories,
      muted: [],
      metadata: { vulnerabilities: counts, dependencies: count, devDependencies: 0, optionalDependencies: 0, totalDependencies: count },
    }
  })
}

async function bulkAdvisories(services: FormatContext, wanted: Record<string, string[]>): Promise<Record<string, NpmAdvisory[]>> {
  const answer: Record<string, NpmAdvisory[]> = {}
  const queries = Object.entries(wanted).flatMap(([name, versions]) => versions.filter((v) => semver.valid(v) !== null).map((version) => ({ ecosystem: 'npm', name, version })))
  const matches = await services.vulndb.matchMany(queries)
  const idsByName = new Map<string, Set<string>>()
  queries.forEach((q, i) => {
    for (const m of matches.get(i) ?? []) idsByName.set(q.name, (idsByName.get(q.name) ?? new Set()).add(m.id))
  })
  const records = new Map((await services.vulndb.records([...new Set([...idsByName.values()].flatMap((s) => [...s]))])).map((r) => [r.id, r]))
  for (const [name, ids] of idsByName) {
    answer[name] = [...ids].sort().flatMap((id) => {
      const record = records.get(id)
      return record ? [toNpmAdvisory(record, name)] : []
    })
  }
  return answer
}

function toNpmAdvisory(record: OsvRecord, name: string): NpmAdvisory {
  const specific = record.database_specific ?? {}
  const level = typeof specific.severity === 'string' ? specific.severity.toLowerCase() : ''
  const vector = (record.severity ?? []).find((s) => s.type.startsWith('CVSS'))?.score ?? null
  return {
    id: numericId(record.id),
    url: advisoryUrl(record),
    title: record.summary ?? record.id,
    // npm's levels; a record without one is reported as moderate (npm's own default is high).
    severity: (NPM_SEVERITIES as readonly string[]).includes(level) ? (level as NpmSeverity) : 'moderate',
    vulnerable_versions: vulnerableVersions(record, name),
    cwe: Array.isArray(specific.cwe_ids) ? (specific.cwe_ids as string[]) : [],
    cvss: { score: (vector ? cvssV3BaseScore(vector)?.score : undefined) ?? 0, vectorString: vector },
    github_advisory_id: record.id,
    aliases: record.aliases ?? [],
  }
}

/** The OSV ranges of `name` as a semver range, which npm evaluates against every installed version. */
export function vulnerableVersions(record: OsvRecord, name: string): string {
  const parts: string[] = []
  for (const affected of record.affected ?? []) {
    if (affected.package?.ecosystem !== 'npm' || affected.package.name?.toLowerCase() !== name.toLowerCase()) continue
    for (const v of affected.versions ?? []) parts.push(v)
    for (const range of affected.ranges ?? []) {
      if (range.type === 'GIT') continue
      let lower: string | undefined
      let isOpen = false
      for (const event of range.events) {
        if (event.introduced !== undefined) {
          lower = event.introduced === '0' ? undefined : event.introduced
          isOpen = true
        } else if (isOpen && (event.fixed !== undefined || event.last_affected !== undefined)) {
          const upper = event.fixed !== undefined ? `<${event.fixed}` : `<=${event.last_affected!}`
          parts.push(lower ? `>=${lower} ${upper}` : upper)
          isOpen = false
        }
      }
      if (isOpen) parts.push(lower ? `>=${lower}` : '*')
    }
  }
  // npm compares pre-releases only with includePrerelease; a range that names one must still match it.
  return parts.length === 0 ? '<0.0.0-0' : parts.join(' || ')
}

/** The record's own advisory link (Trove builds no URL to any outside service). */
function advisoryUrl(record: OsvRecord): string {
  const references = Array.isArray(record.references) ? (record.references as { type?: unknown; url?: unknown }[]) : []
  const advisory = references.find((r) => r.type === 'ADVISORY' && typeof r.url === 'string') ?? references.find((r) => typeof r.url === 'string')
  return typeof advisory?.url === 'string' ? advisory.url : ''
}

/** npm keys advisories by number: a stable one from the OSV id. */
function numericId(id: string): number {
  let hash = 0
  for (const c of id) hash = (hash * 31 + c.charCodeAt(0)) >>> 0
  return hash
}

async function readAuditBody(request: FastifyRequest): Promise<unknown> {
  const encoding = String(request.headers['content-encoding'] ?? 'identity').toLowerCase()
  let source: Readable = request.raw
  if (encoding === 'gzip') source = request.raw.pipe(createGunzip())
  else if (encoding === 'deflate') source = request.raw.pipe(createInflate())
  else if (encoding !== 'identity') throw new TroveError('BAD_REQUEST', `unsupported content-encoding '${encoding}'`)
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_AUDIT_BODY_BYTES) throw new TroveError('PAYLOAD_TOO_LARGE', `the audit body is larger than ${MAX_AUDIT_BODY_BYTES} bytes`)
      chunks.push(chunk)
    }
  } catch (err) {
    if (err instanceof TroveError) throw err
    throw new TroveError('BAD_REQUEST', `the audit body cannot be read: ${(err as Error).message}`)
  }
  return parseJson(Buffer.concat(chunks).toString('utf8'), 'the audit body')
}
