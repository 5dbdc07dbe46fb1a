import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type FormatContext, notFound, PlainResolver, principalName, type Repository, TroveError } from '../../core/index.js'
import { type AccessGuard, baseUrlOf, refusal, sendFile, sendGenerated } from '../../http/index.js'
import { INDEX_FOLDER, PROPERTY, type CargoLayout } from './cargo-layout.js'
import { sendCargoError } from './errors.js'
import { assertCrateName, assertCrateVersion, cratePath, parseCratePath } from './names.js'
import { CargoPublisher, MAX_CRATE_BYTES, MAX_METADATA_BYTES } from './publish.js'
import { MAX_PER_PAGE, searchCrates } from './search.js'

export const CARGO_PREFIX = '/artifactory/api/cargo'

type RepoParams = { Params: { repo: string } }
type FileParams = { Params: { repo: string; '*': string } }
type VersionParams = { Params: { repo: string; name: string; version: string } }
type CrateParams = { Params: { repo: string; name: string } }

/** Where a repository's registry lives: `http://host/artifactory/api/cargo/<repo>`. */
export function registryApiUrl(baseUrl: string, repoKey: string): string {
  return `${baseUrl}${CARGO_PREFIX}/${encodeURIComponent(repoKey)}`
}

/**
 * Cargo's registry protocols under `/artifactory/api/cargo/<repo>`, as Artifactory lays them out:
 * the sparse index at `index/` (`config.json`, index files), downloads at
 * `api/v1/crates/<name>/<version>/download` (the `dl` of `config.json`), and the web API cargo
 * calls at `api/v1/crates/…` (publish, yank, unyank, owners). Errors are cargo's
 * `{"errors":[{"detail"}]}`.
 */
export async function cargoRoutes(app: FastifyInstance, services: FormatContext, layout: CargoLayout): Promise<void> {
  const { repositories, artifacts, authorizer } = services
  const resolver = new PlainResolver(repositories, artifacts, services.remote, (r) => (r.packageType === 'cargo' ? layout : undefined), services.resolution)
  const publisher = new CargoPublisher(services, layout)

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  const maxDrainBytes = MAX_CRATE_BYTES + MAX_METADATA_BYTES + 8
  app.setErrorHandler(async (err, request, reply) => sendCargoError(request, reply, err, maxDrainBytes))
  app.setNotFoundHandler(async (request, reply) =>
    sendCargoError(request, reply, notFound(`no such Cargo registry endpoint: ${request.method} ${request.url.split('?')[0]}`), maxDrainBytes),
  )

  const cargoRepository = async (key: string): Promise<Repository> => {
    const repository = await repositories.get(key)
    if (!repository || repository.packageType !== 'cargo') throw notFound(`'${key}' is not a Cargo repository`)
    return repository
  }
  const repoOf = (request: FastifyRequest) => (request.params as RepoParams['Params']).repo
  const readAccess = async (request: FastifyRequest, guard: AccessGuard) => guard.require(request.principal, 'read', repoOf(request))
  const deployAccess = async (request: FastifyRequest, guard: AccessGuard) => guard.require(request.principal, 'deploy', repoOf(request))
  const canRead = (request: FastifyRequest, path: string) => (key: string) => authorizer.can(request.principal, 'read', key, path)

  // --- the sparse index --------------------------------------------------------------------

  app.get<RepoParams>(`/:repo/${INDEX_FOLDER}/config.json`, { config: { access: readAccess } }, async (request, reply) => {
    const repository = await cargoRepository(request.params.repo)
    const api = registryApiUrl(baseUrlOf(request, services.config.baseUrl), repository.key)
    const config = { dl: `${api}/api/v1/crates`, api, ...(repository.config.anonymousRead === true ? {} : { 'auth-required': true }) }
    return reply.header('cache-control', 'no-cache').type('application/json; charset=utf-8').send(JSON.stringify(config))
  })

  app.get<FileParams>(`/:repo/${INDEX_FOLDER}/*`, { config: { access: readAccess } }, async (request, reply) => {
    const repository = await cargoRepository(request.params.repo)
    const path = `${INDEX_FOLDER}/${request.params['*']}`
    const found = await resolver.resolve(repository, path, false, { canRead: canRead(request, path), principal: request.principal })
    reply.header('cache-control', 'no-cache')
    if (found.kind === 'generated') return sendGenerated(request, reply, found.file)
    if (found.kind === 'folder') throw notFound(`'${path}' is not an index file`)
    await sendFile(request, reply, services.downloads, found)
  })

  // --- downloads -----------------------------------------------------------------------------

  const download = async (request: FastifyRequest<VersionParams>, reply: FastifyReply) => {
    const repository = await cargoRepository(request.params.repo)
    assertCrateName(request.params.name)
    assertCrateVersion(request.params.version)
    const path = cratePath(request.params.name, request.params.version)
    if (!(await authorizer.can(request.principal, 'read', repository.key, path))) throw refusal(request.principal, `read '${repository.key}/${path}'`)
    const found = await resolver.resolve(repository, path, false, { canRead: canRead(request, path), principal: request.principal })
    if (found.kind !== 'file' && found.kind !== 'stream') throw notFound(`${request.params.name} ${request.params.version} is not in '${repository.key}'`)
    await services.downloads.admit(repository, found)
    await sendFile(request, reply, services.downloads, found)
  }
  for (const base of ['api/v1/crates', 'v1/crates']) {
    app.get<VersionParams>(`/:repo/${base}/:name/:version/download`, { config: { access: readAccess } }, download)
  }

  // --- publish, yank, owners -----------------------------------------------------------------

  app.put<RepoParams>('/:repo/api/v1/crates/new', { config: { access: deployAccess } }, async (request, reply) => {
    const requested = await cargoRepository(request.params.repo)
    const repository = await resolver.deploymentTarget(requested)
    const published = await publisher.publish(repository, request)
    request.log.info({ repo: repository.key, crate: published.name, version: published.vers, sha256: published.cksum }, 'cargo publish')
    return reply.type('application/json; charset=utf-8').send({ warnings: { invalid_categories: [], invalid_badges: [], other: [] } })
  })

  const setYanked = (yanked: boolean) => async (request: FastifyRequest<VersionParams>, reply: FastifyReply) => {
    const requested = await cargoRepository(request.params.repo)
    const repository = await resolver.deploymentTarget(requested)
    assertCrateName(request.params.name)
    assertCrateVersion(request.params.version)
    const path = cratePath(request.params.name, request.params.version)
    // Yanking changes what every build resolves, as publishing does: it takes deploy.
    if (!(await authorizer.can(request.principal, 'deploy', repository.key, path))) throw refusal(request.principal, `yank in '${repository.key}'`)
    const asset = await artifacts.getAsset(repository.key, path)
    if (!asset || !(await artifacts.getProperties(repository.key, path)).has(PROPERTY.line)) {
      throw notFound(`${request.params.name} ${request.params.version} is not in '${repository.key}'`)
    }
    await artifacts.setProperties(repository, path, new Map([[PROPERTY.yanked, [String(yanked)]]]), false)
    await layout.touch(repository, request.params.name)
    request.log.info({ repo: repository.key, path, yanked, user: principalName(request.principal) }, yanked ? 'cargo yank' : 'cargo unyank')
    return reply.type('application/json; charset=utf-8').send({ ok: true })
  }
  app.delete<VersionParams>('/:repo/api/v1/crates/:name/:version/yank', { config: { access: deployAccess } }, setYanked(true))
  app.put<VersionParams>('/:repo/api/v1/crates/:name/:version/unyank', { config: { access: deployAccess } }, setYanked(false))

  app.get<RepoParams & { Querystring: { q?: string; per_page?: string } }>('/:repo/api/v1/crates', { config: { access: readAccess } }, async (request, reply) => {
    const repository = await cargoRepository(request.params.repo)
    const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Number.parseInt(request.query.per_page ?? '10', 10) || 10))
    const result = await searchCrates(services, layout, repository, request.query.q ?? '', perPage, { canRead: canRead(request, '') })
    return reply.type('application/json; charset=utf-8').send({ crates: result.crates, meta: { total: result.total } })
  })

  // Owners are Trove's permissions: listed as who published the crate's first version, never changed here.
  app.get<CrateParams>('/:repo/api/v1/crates/:name/owners', { config: { access: readAccess } }, async (request, reply) => {
    const repository = await cargoRepository(request.params.repo)
    assertCrateName(request.params.name)
    const files = (await artifacts.findFiles({ repoKeys: [repository.key], below: request.params.name.toLowerCase() })).filter((f) => parseCratePath(f.path))
    if (files.length === 0) throw notFound(`crate '${request.params.name}' is not in '${repository.key}'`)
    const first = [...files].sort((a, b) => a.createdAt - b.createdAt)[0]!
    return reply.type('application/json; charset=utf-8').send({ users: [{ id: 1, login: first.createdBy, name: first.createdBy }] })
  })
  const ownersChange = async (request: FastifyRequest<CrateParams>) => {
    await cargoRepository(request.params.repo)
    throw new TroveError(
      'UNSUPPORTED',
      `crate owners are Trove permissions: who may publish and yank '${request.params.name}' is who has deploy on the repository; ask its administrator`,
    )
  }
  app.put<CrateParams>('/:repo/api/v1/crates/:name/owners', { config: { access: deployAccess } }, ownersChange)
  app.delete<CrateParams>('/:repo/api/v1/crates/:name/owners', { config: { access: deployAccess } }, ownersChange)
}
