import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { TroveError } from '../../core/errors.js'
import { parseRepositoryPath } from '../../core/paths.js'
import type { CoreServices } from '../../core/services.js'
import { emptySummary, summaryJson } from '../../core/scanning/vulndb.js'
import { toCycloneDx } from '../../core/scanning/cyclonedx.js'
import { assessReport } from '../../core/scanning/reports.js'
import { VERSION } from '../../version.js'
import type { AccessGuard } from '../access.js'
import { reviewsRepository } from './reviewers.js'

/** A JSON body of records (one record or an array) at most; larger imports come as a zip archive. */
const MAX_JSON_IMPORT_BYTES = 64 * 1024 * 1024
/** A zip archive body at most (OSV's largest per-ecosystem archive is a few hundred MiB). */
const MAX_ZIP_IMPORT_BYTES = 2 * 1024 * 1024 * 1024
const ZIP_TYPES = ['application/zip', 'application/x-zip-compressed', 'application/octet-stream']

/**
 * The vulnerability database and scan reports over REST: `POST /api/v1/vulndb/import` (admin;
 * an OSV record, an array of records, or a zip archive of records), `POST /api/v1/vulndb/query`
 * (OSV's `/v1/query`: any tool that speaks OSV can ask Trove, offline), and
 * `GET /api/v1/scan/artifact/<repo>/<path>` (the report of one stored file).
 */
export async function vulndbRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const { vulndb, scanner } = services

  // Zip archives stream to a temporary file (yauzl reads the central directory at the end).
  app.addContentTypeParser(ZIP_TYPES, (_request, _payload, done) => done(null))

  app.post('/api/v1/vulndb/import', { config: { audit: { action: 'vulndb.import', target: () => 'vulndb' }, access: 'admin' }, bodyLimit: MAX_JSON_IMPORT_BYTES }, async (request) => {
    const summary = emptySummary()
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (ZIP_TYPES.includes(type)) {
      await mkdir(services.config.dataDir, { recursive: true })
      const scratch = await mkdtemp(join(services.config.dataDir, 'vulndb-import-'))
      try {
        const file = join(scratch, 'records.zip')
        await pipeline(request.raw, limitBytes(MAX_ZIP_IMPORT_BYTES), createWriteStream(file))
        await vulndb.importZip(file, summary)
      } finally {
        await rm(scratch, { recursive: true, force: true })
      }
    } else if (type === 'application/json') {
      const body = request.body
      if (body === undefined || body === null) throw new TroveError('BAD_REQUEST', 'the body must be an OSV record, an array of records, or a zip archive')
      await vulndb.importRecords(Array.isArray(body) ? body : [body], summary)
    } else {
      throw new TroveError('BAD_REQUEST', `send application/json (a record or an array) or application/zip, not '${type || 'no content type'}'`)
    }
    await scanner.onDatabaseChanged(summary)
    request.log.info(summaryJson(summary), 'vulnerability records imported')
    return summaryJson(summary)
  })

  app.post('/api/v1/vulndb/query', { config: { access: 'authenticated' } }, async (request) => {
    const query = parseQuery(request.body)
    const matches = await vulndb.match(query.ecosystem, query.name, query.version)
    return { vulns: await vulndb.records(matches.map((m) => m.id)) }
  })

  const reportAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const target = targetOf(request)
    // A security reviewer reads the reports (and SBOMs) of what they review, not the artifacts.
    if (await reviewsRepository(services, request.principal, target.repoKey)) return
    await guard.require(request.principal, 'read', target.repoKey, target.path)
  }
  app.get('/api/v1/scan/artifact/*', { config: { access: reportAccess } }, async (request, reply) => {
    const target = targetOf(request)
    if (target.path === '') throw new TroveError('BAD_REQUEST', 'name a file: /api/v1/scan/artifact/<repo>/<path>')
    // ?format=json (default) or cyclonedx (a CycloneDX 1.5 SBOM); levels and CVSS scores added (reports.ts).
    const format = (request.query as { format?: string }).format ?? 'json'
    if (format !== 'json' && format !== 'cyclonedx') throw new TroveError('BAD_REQUEST', `format must be json or cyclonedx, not '${format}'`)
    const repository = await services.repositories.require(target.repoKey)
    const report = assessReport(await scanner.report(repository, target.path))
    if (format === 'json') return report
    return reply.type('application/vnd.cyclonedx+json; version=1.5').send(toCycloneDx(report, { name: 'trove', version: VERSION }, scanner.registry))
  })
}

function targetOf(request: FastifyRequest): { repoKey: string; path: string } {
  const raw = (request.params as { '*': string })['*']
  return parseRepositoryPath(raw)
}

/** The body of OSV's `/v1/query`: `{"package": {"ecosystem", "name"}, "version"}`. */
function parseQuery(body: unknown): { ecosystem: string; name: string; version: string | undefined } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  const pkg = (typeof b.package === 'object' && b.package !== null ? b.package : {}) as Record<string, unknown>
  if (b.commit !== undefined) throw new TroveError('BAD_REQUEST', 'queries by commit are not supported; query by package and version')
  if (pkg.purl !== undefined) throw new TroveError('BAD_REQUEST', 'queries by purl are not supported; give package.ecosystem and package.name')
  if (typeof pkg.ecosystem !== 'string' || pkg.ecosystem === '' || typeof pkg.name !== 'string' || pkg.name === '') {
    throw new TroveError('BAD_REQUEST', 'the body must be {"package": {"ecosystem": …, "name": …}, "version": …}')
  }
  if (b.version !== undefined && (typeof b.version !== 'string' || b.version === '')) throw new TroveError('BAD_REQUEST', '"version" must be a non-empty string')
  return { ecosystem: pkg.ecosystem, name: pkg.name, version: b.version as string | undefined }
}

function limitBytes(max: number): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > max) callback(new TroveError('PAYLOAD_TOO_LARGE', `the archive is larger than ${max} bytes`))
      else callback(null, chunk)
    },
  })
}
