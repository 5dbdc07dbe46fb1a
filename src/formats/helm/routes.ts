import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { lookup as lookupMimeType } from 'mime-types'
import { type FormatContext, notFound, PlainResolver, principalName, type Repository, TroveError } from '../../core/index.js'
import { type AccessGuard, baseUrlOf, declaredLength, deployBody, folderChangeGuard, refusal, sendFile, sendGenerated, sendRestError, sendRestUploadError, uploadBody } from '../../http/index.js'
import type { HelmLayout } from './helm-layout.js'

export const HELM_PREFIX = '/artifactory/api/helm'

type FileParams = { Params: { repo: string; '*': string } }
type RepoParams = { Params: { repo: string } }

/**
 * Helm's chart repository API under `/artifactory/api/helm/<repo>/`, as `helm repo add` uses
 * it: `GET index.yaml`, then the charts (and `.prov` files) by the URLs in the index, which are
 * relative to this URL. Deploys (`PUT …/<name>-<version>.tgz`) take the same code path as the
 * plain `PUT /artifactory/<repo>/…`. Errors are Artifactory's `{"errors":[…]}`.
 */
export async function helmRoutes(app: FastifyInstance, services: FormatContext, layout: HelmLayout): Promise<void> {
  const { repositories, artifacts, authorizer } = services
  const resolver = new PlainResolver(repositories, artifacts, services.remote, (r) => (r.packageType === 'helm' ? layout : undefined), services.resolution)

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  app.setErrorHandler(async (err, request, reply) => sendRestUploadError(request, reply, err))
  app.setNotFoundHandler(async (request, reply) =>
    sendRestError(reply, { status: 404, code: 'NOT_FOUND', message: `no such Helm repository endpoint: ${request.method} ${request.url.split('?')[0]}` }),
  )

  const helmRepository = async (key: string): Promise<Repository> => {
    const repository = await repositories.get(key)
    if (!repository || repository.packageType !== 'helm') throw notFound(`'${key}' is not a Helm repository`)
    return repository
  }
  const pathOf = (request: FastifyRequest<FileParams>) => {
    const path = request.params['*']
    if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new TroveError('PATH_INVALID', `'${path}' is not a valid path`)
    return path
  }

  const readAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const params = request.params as FileParams['Params']
    await guard.require(request.principal, 'read', params.repo, params['*'])
  }
  const deployAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const params = request.params as FileParams['Params']
    await guard.require(request.principal, 'deploy', params.repo, params['*'])
    // As on the plain layout: replacing an existing file needs the right to delete it too.
    if (await artifacts.getAsset(params.repo, params['*'])) await guard.require(request.principal, 'delete', params.repo, params['*'])
  }
  const deleteAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const params = request.params as FileParams['Params']
    await guard.require(request.principal, 'delete', params.repo, params['*'])
  }
  const manageAccess = async (request: FastifyRequest, guard: AccessGuard) =>
    guard.require(request.principal, 'manage', (request.params as RepoParams['Params']).repo)

  const download = async (request: FastifyRequest<FileParams>, reply: FastifyReply) => {
    const repository = await helmRepository(request.params.repo)
    const path = pathOf(request)
    const found = await resolver.resolve(repository, path, false, {
      canRead: (key) => authorizer.can(request.principal, 'read', key, path),
      principal: request.principal,
    })
    if (found.kind === 'generated') return sendGenerated(request, reply, found.file)
    if (found.kind === 'folder') throw notFound(`'${repository.key}/${path}' is a folder`)
    await services.downloads.admit(repository, found)
    await sendFile(request, reply, services.downloads, found)
  }

  app.get<FileParams>('/:repo/*', { config: { access: readAccess }, exposeHeadRoute: false }, download)
  app.head<FileParams>('/:repo/*', { config: { access: readAccess } }, download)

  app.put<FileParams>('/:repo/*', { config: { access: deployAccess } }, async (request, reply) => {
    const requested = await helmRepository(request.params.repo)
    const path = pathOf(request)
    const repository = await resolver.deploymentTarget(requested)
    if (repository !== requested && !(await authorizer.can(request.principal, 'deploy', repository.key, path))) {
      throw refusal(request.principal, `deploy to '${repository.key}', the default deployment repository of '${requested.key}'`)
    }
    const user = principalName(request.principal)
    const header = (name: string) => {
      const value = request.headers[name]
      return typeof value === 'string' && value !== '' ? value.trim().toLowerCase() : undefined
    }
    const outcome = await layout.deploy({
      repository,
      path,
      body: uploadBody(request),
      principal: request.principal,
      options: {
        user,
        contentType: lookupMimeType(path) || 'application/octet-stream',
        expected: { sha256: header('x-checksum-sha256'), sha1: header('x-checksum-sha1') ?? header('x-checksum'), md5: header('x-checksum-md5') },
        declaredSize: declaredLength(request),
      },
    })
    const asset = outcome.kind === 'stored' ? outcome.asset : undefined
    if (!asset) return reply.status(201).send()
    request.log.info({ repo: repository.key, path: asset.path, size: asset.size, sha256: asset.sha256 }, 'deployed')
    await layout.changed(repository)
    return reply.status(201).send(deployBody(baseUrlOf(request, services.config.baseUrl), asset))
  })

  app.delete<FileParams>('/:repo/*', { config: { access: deleteAccess } }, async (request, reply) => {
    const repository = await helmRepository(request.params.repo)
    const path = pathOf(request)
    if (repository.rclass === 'virtual') throw new TroveError('UNSUPPORTED', `'${repository.key}' is virtual; delete in its member repository`)
    const guard = await folderChangeGuard(authorizer, request.principal, 'delete', repository.key, path)
    const count = await artifacts.delete(repository, path, guard)
    request.log.info({ repo: repository.key, path, files: count }, 'deleted')
    await layout.changed(repository)
    return reply.status(204).send()
  })

  app.post<RepoParams>('/:repo/reindex', { config: { access: manageAccess } }, async (request, reply) => {
    const repository = await helmRepository(request.params.repo)
    const message = await layout.reindex(repository)
    request.log.info({ repo: repository.key }, 'helm reindex')
    return reply.status(200).type('application/json; charset=utf-8').send({ info: message })
  })
}

