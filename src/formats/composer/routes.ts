import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type FormatContext, notFound, parseRepositoryPath, PlainResolver, principalName, type Repository, TroveError } from '../../core/index.js'
import { type AccessGuard, baseUrlOf, declaredLength, deployBody, matchesEtag, refusal, sendDocument as sendRendered, sendFile, sendRestError, sendRestUploadError, uploadBody } from '../../http/index.js'
import { type ComposerLayout, VERSION_PROPERTY } from './composer-layout.js'
import { COMPOSER_PREFIX } from './documents.js'
import { parseMetadataPath } from './names.js'

type FileParams = { Params: { repo: string; '*': string } }
type RepoParams = { Params: { repo: string } }

/**
 * Composer's repository API under `/artifactory/api/composer/<repo>/`, as Composer 2 reads it
 * (`packages.json`, `p2/<vendor>/<package>.json` and `~dev.json`, dist archives by the URLs in
 * them) and as Artifactory takes deploys: `PUT …/<path>.zip`, the version from the archive's
 * composer.json or a `composer.version` matrix parameter (`…/<path>.zip;composer.version=1.2.0`).
 * The plain `PUT /artifactory/<repo>/<path>.zip` deploys the same way. Errors are Artifactory's
 * `{"errors":[…]}`, which Composer shows with the status.
 */
export async function composerRoutes(app: FastifyInstance, services: FormatContext, layout: ComposerLayout): Promise<void> {
  const { repositories, artifacts, authorizer } = services
  const documents = layout.documents
  const resolver = new PlainResolver(repositories, artifacts, services.remote, (r) => (r.packageType === 'composer' ? layout : undefined), services.resolution)

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  app.setErrorHandler(async (err, request, reply) => sendRestUploadError(request, reply, err))
  app.setNotFoundHandler(async (request, reply) =>
    sendRestError(reply, { status: 404, code: 'NOT_FOUND', message: `no such Composer repository endpoint: ${request.method} ${request.url.split('?')[0]}` }),
  )

  const composerRepository = async (key: string): Promise<Repository> => {
    const repository = await repositories.get(key)
    if (!repository || repository.packageType !== 'composer') throw notFound(`'${key}' is not a Composer repository`)
    return repository
  }
  const pathOf = (request: FastifyRequest<FileParams>) => {
    const path = request.params['*']
    if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new TroveError('PATH_INVALID', `'${path}' is not a valid path`)
    return path
  }
  const canRead = (request: FastifyRequest, path?: string) => (key: string) => authorizer.can(request.principal, 'read', key, path)
  /** What a read is of, for path permissions: a p2 document is its package's folder (`vendor/package`), a dist its file. */
  const readPathOf = (path: string | undefined) => (path === undefined ? undefined : (parseMetadataPath(path)?.name ?? path))
  const readAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const params = request.params as { repo: string; '*'?: string }
    await guard.require(request.principal, 'read', params.repo, readPathOf(params['*']))
  }
  /** The raw `<repo>/<path>;matrix` of a deploy, judged as the plain layout judges it. */
  const deployTarget = (request: FastifyRequest) => parseRepositoryPath(request.url.split('?')[0]!.slice(COMPOSER_PREFIX.length + 1))
  const deployAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const target = deployTarget(request)
    await guard.require(request.principal, 'deploy', target.repoKey, target.path)
    // composer.version is part of the deploy; other properties need the right to annotate, as on the plain layout.
    if ([...target.matrix.keys()].some((key) => key !== VERSION_PROPERTY)) await guard.require(request.principal, 'annotate', target.repoKey, target.path)
  }

  const packagesJson = async (request: FastifyRequest<RepoParams>, reply: FastifyReply) => {
    const repository = await composerRepository(request.params.repo)
    const canReadPackage = (name: string) => authorizer.can(request.principal, 'read', repository.key, name)
    return sendDocument(request, reply, await documents.packagesJson(repository, baseUrlOf(request, services.config.baseUrl), canReadPackage))
  }
  app.get<RepoParams>('/:repo/packages.json', { config: { access: readAccess }, exposeHeadRoute: false }, packagesJson)
  app.head<RepoParams>('/:repo/packages.json', { config: { access: readAccess } }, packagesJson)

  const download = async (request: FastifyRequest<FileParams>, reply: FastifyReply) => {
    const repository = await composerRepository(request.params.repo)
    const path = pathOf(request)
    const base = baseUrlOf(request, services.config.baseUrl)
    const metadata = parseMetadataPath(path)
    if (metadata) {
      // A local repository's p2 document depends on its content only (who may read it was checked): rendered once per change.
      const key = `p2\0${metadata.name}\0${metadata.dev ? 'dev' : ''}\0${base}`
      const document = await services.documents.get(repository, key, async () => ({
        body: await documents.p2(repository, metadata.name, metadata.dev, base, { canRead: canRead(request, metadata.name) }),
        contentType: 'application/json',
      }))
      reply.header('cache-control', 'max-age=0, must-revalidate')
      return sendRendered(request, reply, document)
    }
    if (path.startsWith('p2/')) throw notFound(`'${path}' names no package (p2/<vendor>/<package>.json)`)
    const found = await resolver.resolve(repository, path, false, { canRead: canRead(request, path), principal: request.principal })
    if (found.kind === 'generated' || found.kind === 'folder') throw notFound(`'${repository.key}/${path}' is not an archive`)
    await services.downloads.admit(repository, found)
    await sendFile(request, reply, services.downloads, found)
  }
  app.get<FileParams>('/:repo/*', { config: { access: readAccess }, exposeHeadRoute: false }, download)
  app.head<FileParams>('/:repo/*', { config: { access: readAccess } }, download)

  app.put('/*', { config: { access: deployAccess } }, async (request, reply) => {
    const target = deployTarget(request)
    const requested = await composerRepository(target.repoKey)
    const repository = await repositories.deploymentTarget(requested, { verb: 'deploy', title: 'Composer' })
    if (repository !== requested && !(await authorizer.can(request.principal, 'deploy', repository.key, target.path))) {
      throw refusal(request.principal, `deploy to '${repository.key}', the default deployment repository of '${requested.key}'`)
    }
    const header = (name: string) => {
      const value = request.headers[name]
      return typeof value === 'string' && value !== '' ? value.trim().toLowerCase() : undefined
    }
    const outcome = await layout.deploy({
      repository,
      path: target.path,
      body: uploadBody(request),
      principal: request.principal,
      options: {
        user: principalName(request.principal),
        contentType: 'application/zip',
        expected: { sha256: header('x-checksum-sha256'), sha1: header('x-checksum-sha1') ?? header('x-checksum'), md5: header('x-checksum-md5') },
        properties: target.matrix,
        declaredSize: declaredLength(request),
      },
    })
    request.log.info({ repo: repository.key, path: outcome.asset.path, size: outcome.asset.size, sha256: outcome.asset.sha256 }, 'composer package deployed')
    return reply.status(201).send(deployBody(baseUrlOf(request, services.config.baseUrl), outcome.asset))
  })
}

/** A small generated JSON document, with an etag (no Last-Modified: a p2 file may change twice in a second). */
function sendDocument(request: FastifyRequest, reply: FastifyReply, body: string): FastifyReply {
  const bytes = Buffer.from(body, 'utf8')
  const etag = `"${createHash('sha1').update(bytes).digest('hex')}"`
  reply.header('etag', etag).header('cache-control', 'max-age=0, must-revalidate').type('application/json')
  if (matchesEtag(request.headers['if-none-match'], etag)) return reply.status(304).send()
  reply.header('content-length', bytes.length)
  return reply.send(request.method === 'HEAD' ? undefined : bytes)
}
