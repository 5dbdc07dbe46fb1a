import multipart from '@fastify/multipart'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type FormatContext, notFound, principalName, type RenderedDocument, type Repository, TroveError } from '../../core/index.js'
import { type AccessGuard, refusal, sendDocument, sendFile } from '../../http/index.js'
import { sendPypiError } from './errors.js'
import { isValidProjectName, normalizeName } from './names.js'
import { PypiStore } from './pypi-store.js'
import { PypiResolver, type PypiReadOptions } from './resolver.js'
import { contentTypeOf, negotiate, renderProjectList, renderProjectPage } from './simple-page.js'
import { PypiPublisher } from './upload.js'

export const PYPI_PREFIX = '/artifactory/api/pypi'
/** Largest distribution file accepted by an upload. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024 * 1024
/** Largest form field (a long description), and how many fields and parts an upload may have. */
const FORM_LIMITS = { fieldSize: 4 * 1024 * 1024, fields: 200, files: 4, parts: 250, fileSize: MAX_UPLOAD_BYTES, headerPairs: 200 }
/** A refused upload's rest is read and dropped up to this much, so twine reads the answer. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024

type RepoParams = { Params: { repo: string } }
type ProjectParams = { Params: { repo: string; project: string } }

/**
 * The PyPI APIs of one Trove under `/artifactory/api/pypi/<repo>/`, like Artifactory's: the
 * simple repository API (`simple/`, PEP 503 HTML and PEP 691 JSON), files under `packages/`, and
 * the legacy upload API twine posts to at `/artifactory/api/pypi/<repo>`. Its error handler
 * answers PyPI's way (see errors.ts) for everything below the prefix.
 */
export async function pypiRoutes(app: FastifyInstance, services: FormatContext): Promise<void> {
  const { repositories, artifacts, authorizer } = services
  const store = new PypiStore(services.artifacts)
  const resolver = new PypiResolver(repositories, artifacts, services.remote, store, services.resolution)
  const publisher = new PypiPublisher(services.blobs, artifacts, MAX_UPLOAD_BYTES)

  // Uploads stream part by part (request.parts()); nothing is buffered to disk or memory.
  await app.register(multipart, { limits: FORM_LIMITS, throwFileSizeLimit: true })
  app.setErrorHandler(async (err, request, reply) => sendPypiError(request, reply, err, MAX_DRAIN_BYTES))
  app.setNotFoundHandler(async (request, reply) =>
    sendPypiError(request, reply, notFound(`No such PyPI endpoint: ${request.method} ${request.url.split('?')[0]}`), MAX_DRAIN_BYTES),
  )

  const pypiRepository = async (key: string): Promise<Repository> => {
    const repository = await repositories.get(key)
    if (!repository || repository.packageType !== 'pypi') throw notFound(`'${key}' is not a PyPI repository`)
    return repository
  }
  const readOptions = (request: FastifyRequest, path: string): PypiReadOptions => ({
    canRead: (key) => authorizer.can(request.principal, 'read', key, path),
  })
  const readAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const params = request.params as { repo: string; project?: string; '*'?: string }
    const path = params.project !== undefined ? normalizeName(params.project) : params['*']?.split('/')[0]
    await guard.require(request.principal, 'read', params.repo, path || undefined)
  }
  const prefixOf = (repoKey: string) => `${PYPI_PREFIX}/${encodeURIComponent(repoKey)}`

  // --- The simple repository API.

  const projectList = async (request: FastifyRequest<RepoParams>, reply: FastifyReply) => {
    const repository = await pypiRepository(request.params.repo)
    const format = negotiate(request.headers.accept)
    const document = await services.documents.get(repository, `projects\0${format}`, async () => ({
      body: renderProjectList(await resolver.projects(repository, readOptions(request, '')), format),
      contentType: contentTypeOf(format),
    }))
    return sendPage(request, reply, document)
  }
  app.get<RepoParams>('/:repo/simple/', { config: { access: readAccess } }, projectList)
  app.get<RepoParams>('/:repo/simple', { config: { access: readAccess } }, async (request, reply) =>
    reply.redirect(`${prefixOf(request.params.repo)}/simple/`, 301),
  )

  const projectPage = async (request: FastifyRequest<ProjectParams>, reply: FastifyReply) => {
    const { repo, project } = request.params
    const repository = await pypiRepository(repo)
    if (!isValidProjectName(project)) throw notFound(`'${project}' is not a valid project name`)
    const normalized = normalizeName(project)
    // PEP 503: the normalised name is the URL; other spellings are sent there, as PyPI does.
    if (normalized !== project || !request.url.split('?')[0]!.endsWith('/')) {
      return reply.redirect(`${prefixOf(repo)}/simple/${encodeURIComponent(normalized)}/`, 301)
    }
    const format = negotiate(request.headers.accept)
    const document = await services.documents.get(repository, `page\0${normalized}\0${format}`, async () => ({
      body: renderProjectPage(await resolver.page(repository, normalized, readOptions(request, normalized)), format),
      contentType: contentTypeOf(format),
    }))
    return sendPage(request, reply, document)
  }
  app.get<ProjectParams>('/:repo/simple/:project/', { config: { access: readAccess } }, projectPage)
  app.get<ProjectParams>('/:repo/simple/:project', { config: { access: readAccess } }, projectPage)

  // --- Files: distributions and their core metadata (`<file>.metadata`, PEP 658).

  app.get<RepoParams & { Params: { '*': string } }>('/:repo/packages/*', { config: { access: readAccess } }, async (request, reply) => {
    const repository = await pypiRepository(request.params.repo)
    const path = request.params['*']
    if (path === '' || path.split('/').some((s) => s === '' || s === '.' || s === '..')) throw notFound(`'${path}' is not a file`)
    const found = await resolver.file(repository, path, readOptions(request, path.split('/')[0]!))
    await services.downloads.admit(repository, found)
    await sendFile(request, reply, services.downloads, found)
  })

  // --- Upload: twine posts to the repository URL, with or without a trailing slash.

  const uploadAccess = async (request: FastifyRequest, guard: AccessGuard) => guard.require(request.principal, 'deploy', (request.params as { repo: string }).repo)
  const upload = async (request: FastifyRequest<RepoParams>, reply: FastifyReply) => {
    const requested = await pypiRepository(request.params.repo)
    const repository = await resolver.deploymentTarget(requested)
    if (repository.key !== requested.key && !(await authorizer.can(request.principal, 'deploy', repository.key))) {
      throw refusal(request.principal, `deploy on '${repository.key}'`)
    }
    if (!request.isMultipart()) {
      throw new TroveError('BAD_REQUEST', 'Invalid upload: send multipart/form-data with :action=file_upload and the file as "content" (twine upload does).')
    }
    const outcome = await publisher.upload(repository, request.parts(), principalName(request.principal))
    request.log.info({ repo: repository.key, path: outcome.path, sha256: outcome.sha256 }, 'python distribution uploaded')
    return reply.status(200).type('text/plain; charset=utf-8').send('OK\n')
  }
  app.post<RepoParams>('/:repo', { config: { access: uploadAccess } }, upload)
  app.post<RepoParams>('/:repo/', { config: { access: uploadAccess } }, upload)
}

/** A simple page (rendered once per change of a local repository, see DocumentCache): it varies with `Accept`. */
function sendPage(request: FastifyRequest, reply: FastifyReply, document: RenderedDocument): FastifyReply {
  reply.header('vary', 'Accept').header('cache-control', 'max-age=0, must-revalidate')
  return sendDocument(request, reply, document)
}
