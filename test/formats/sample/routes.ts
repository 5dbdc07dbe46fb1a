import type { FastifyInstance, FastifyRequest } from 'fastify'
import { notFound, principalName, TroveError, type FormatContext, type Repository } from '../../../src/core/index.js'
import { declaredLength, sendRestError, sendRestUploadError, uploadBody, type AccessGuard } from '../../../src/http/index.js'
import { sampleConfig } from './config.js'
import type { SampleTables } from './tables.js'

export const SAMPLE_PREFIX = '/artifactory/api/sample'

type PackageParams = { Params: { repo: string; name: string; version: string } }
type RepoParams = { Params: { repo: string } }

const NAME = /^[a-z0-9][a-z0-9.-]{0,63}$/

/**
 * The sample protocol: `PUT <repo>/<name>/<version>` uploads a package (stored by the core as an
 * asset, recorded in the format's own table), `GET <repo>/-/packages` lists them from that table.
 * Errors are Artifactory's REST body.
 */
export async function sampleRoutes(app: FastifyInstance, services: FormatContext): Promise<void> {
  const { repositories, artifacts } = services
  const { db } = services.tables<SampleTables>()
  const { maxPackageBytes } = services.section(sampleConfig)

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  app.setErrorHandler(async (err, request, reply) => sendRestUploadError(request, reply, err))
  app.setNotFoundHandler(async (request, reply) => sendRestError(reply, { status: 404, code: 'NOT_FOUND', message: `no such sample endpoint: ${request.url}` }))

  const sampleRepository = async (key: string): Promise<Repository> => {
    const repository = await repositories.get(key)
    if (!repository || repository.packageType !== 'sample') throw notFound(`'${key}' is not a sample repository`)
    return repository
  }
  const access = (action: 'read' | 'deploy') => async (request: FastifyRequest, guard: AccessGuard) =>
    guard.require(request.principal, action, (request.params as RepoParams['Params']).repo)

  app.put<PackageParams>('/:repo/:name/:version', { config: { access: access('deploy') } }, async (request, reply) => {
    const repository = await sampleRepository(request.params.repo)
    const { name, version } = request.params
    if (!NAME.test(name) || !/^\d+(\.\d+)*$/.test(version)) throw new TroveError('BAD_REQUEST', `'${name}' ${version} is no sample package name and version`)
    const size = declaredLength(request)
    if (size === undefined || size > maxPackageBytes) throw new TroveError('PAYLOAD_TOO_LARGE', `a sample package is at most ${maxPackageBytes} bytes (sample.maxPackageBytes)`)
    const user = principalName(request.principal)
    const path = `${name}/${version}/${name}-${version}.sample`
    const asset = await artifacts.deploy(repository, path, uploadBody(request), { user, contentType: 'text/plain', declaredSize: size })
    await db
      .insertInto('sample_packages')
      .values({ repo_key: repository.key, name, version, path, uploaded_by: user, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['repo_key', 'name', 'version']).doUpdateSet({ path, uploaded_by: user }))
      .execute()
    return reply.status(201).send({ path: asset.path, sha256: asset.sha256, channel: repository.config.sampleChannel ?? 'stable' })
  })

  app.get<RepoParams>('/:repo/-/packages', { config: { access: access('read') } }, async (request) => {
    const repository = await sampleRepository(request.params.repo)
    const rows = await db.selectFrom('sample_packages').selectAll().where('repo_key', '=', repository.key).orderBy('name').orderBy('version').execute()
    return { channel: repository.config.sampleChannel ?? 'stable', packages: rows.map((r) => ({ name: r.name, version: r.version, path: r.path, uploadedBy: r.uploaded_by })) }
  })
}
