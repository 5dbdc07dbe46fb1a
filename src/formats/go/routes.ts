import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type FormatContext, notFound, parseRepositoryPath, principalName, type Repository, TroveError } from '../../core/index.js'
import { type AccessGuard, baseUrlOf, declaredLength, deployBody, refusal, sendDocument, sendFile, uploadBody } from '../../http/index.js'
import { sendGoError } from './errors.js'
import { filePath, parseProxyPath, versionsFolder, type ProxyRequest } from './module-path.js'
import type { GoPublisher } from './publish.js'
import type { GoResolver, ModuleFileAnswer } from './resolver.js'
import { parseSumdbPath, type SumdbProxy } from './sumdb.js'

export const GO_PREFIX = '/artifactory/api/go'

type FileParams = { Params: { repo: string; '*': string } }

/** The request's path below `/artifactory/api/go/`, as sent (percent-encoded), with matrix parameters. */
function rawPath(request: FastifyRequest): string {
  const url = request.url.split('?')[0]!
  return url.slice(GO_PREFIX.length + 1)
}

/** The repository path and matrix parameters of a request, decoded and checked as every plain path is. */
function parsed(request: FastifyRequest) {
  const { repoKey, path, matrix } = parseRepositoryPath(rawPath(request))
  return { repoKey, path, matrix }
}

/** The storage path that permissions are checked on: the module's folder, or the file. */
function accessPath(request: ProxyRequest): string {
  return request.kind === 'file' ? filePath(request.escaped, request.version, request.ext) : versionsFolder(request.escaped)
}

/**
 * The Go module proxy of each Go repository at `/artifactory/api/go/<repo>`, Artifactory's URL:
 * `GOPROXY=<trove>/artifactory/api/go/<repo>`. `GET` serves the GOPROXY protocol
 * (`<module>/@v/list`, `/@v/<version>.info|.mod|.zip`, `/@latest`) and the checksum database
 * proxy (`sumdb/<name>/…`); `PUT <module>/@v/<version>.zip|.mod|.info` publishes, as
 * `jf go-publish` does. Errors are a status and a short text (errors.ts).
 */
export async function goRoutes(app: FastifyInstance, services: FormatContext, resolver: GoResolver, publisher: GoPublisher, sumdb: SumdbProxy): Promise<void> {
  const { repositories, authorizer } = services

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  app.setErrorHandler(async (err, request, reply) => sendGoError(request, reply, err))
  app.setNotFoundHandler(async (request, reply) => sendGoError(request, reply, notFound(`no such Go endpoint: ${request.method} ${request.url.split('?')[0]}`)))

  const goRepository = async (key: string): Promise<Repository> => {
    const repository = await repositories.get(key)
    if (!repository || repository.packageType !== 'go') throw notFound(`'${key}' is not a Go repository`)
    return repository
  }
  const caller = (request: FastifyRequest, path: string) => ({ canRead: (key: string) => authorizer.can(request.principal, 'read', key, path) })

  const readAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const { repoKey, path } = parsed(request)
    const sumdbRequest = parseSumdbPath(path)
    await guard.require(request.principal, 'read', repoKey, sumdbRequest ? undefined : accessPath(parseProxyPath(path)))
  }
  const deployAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const { repoKey, path } = parsed(request)
    await guard.require(request.principal, 'deploy', repoKey, accessPath(uploadPath(path)))
  }

  const read = async (request: FastifyRequest<FileParams>, reply: FastifyReply) => {
    const { repoKey, path } = parsed(request)
    const repository = await goRepository(repoKey)
    const sumdbRequest = parseSumdbPath(path)
    if (sumdbRequest) {
      const abort = new AbortController()
      request.raw.once('close', () => abort.abort())
      const answer = await sumdb.answer(repository, sumdbRequest, caller(request, ''), abort.signal)
      reply.status(answer.status).type(answer.contentType)
      return reply.send(request.method === 'HEAD' ? undefined : answer.body)
    }
    const proxy = parseProxyPath(path)
    const who = caller(request, accessPath(proxy))
    if (proxy.kind === 'list') {
      // A local repository's list depends on its content only (who may read it was checked): rendered once per change.
      const document = await services.documents.get(repository, `list\0${proxy.escaped}`, async () => ({
        body: (await resolver.list(repository, proxy, who)).map((v) => `${v}\n`).join(''),
        contentType: 'text/plain; charset=utf-8',
      }))
      reply.header('cache-control', 'max-age=0, must-revalidate')
      return sendDocument(request, reply, document)
    }
    const answer = proxy.kind === 'latest' ? await resolver.latest(repository, proxy, who) : await resolver.file(repository, proxy, proxy.version, proxy.ext, who)
    await send(request, reply, repository, answer)
  }

  const send = async (request: FastifyRequest, reply: FastifyReply, asked: Repository, answer: ModuleFileAnswer) => {
    if (answer.kind === 'generated') return reply.type(answer.contentType).send(request.method === 'HEAD' ? undefined : answer.body)
    await services.downloads.admit(asked, answer.served)
    await sendFile(request, reply, services.downloads, answer.served)
  }

  app.get<FileParams>('/:repo/*', { config: { access: readAccess }, exposeHeadRoute: false }, read)
  app.head<FileParams>('/:repo/*', { config: { access: readAccess } }, read)

  app.put<FileParams>('/:repo/*', { config: { access: deployAccess } }, async (request, reply) => {
    const { repoKey, path, matrix } = parsed(request)
    const proxy = uploadPath(path)
    const requested = await goRepository(repoKey)
    const repository = await resolver.deploymentTarget(requested)
    const target = accessPath(proxy)
    if (repository !== requested && !(await authorizer.can(request.principal, 'deploy', repository.key, target))) {
      throw refusal(request.principal, `deploy to '${repository.key}', the default deployment repository of '${requested.key}'`)
    }
    const { asset, isNew } = await publisher.publish(repository, {
      ...proxy,
      body: uploadBody(request),
      user: principalName(request.principal),
      expected: expectedOf(request),
      declaredSize: declaredLength(request),
      declaredGoMod: declaredGoModOf(request),
      properties: matrix,
    })
    request.log.info({ repo: repository.key, path: asset.path, size: asset.size, sha256: asset.sha256, isNew }, isNew ? 'go module file published' : 'go module file already published with these bytes')
    return reply.status(201).send(deployBody(baseUrlOf(request, services.config.baseUrl), asset))
  })
}

/** What an upload names: a module version's file, else BAD_REQUEST (a GET of such a path is a 404, an upload of it a mistake). */
function uploadPath(path: string): Extract<ProxyRequest, { kind: 'file' }> {
  let proxy: ProxyRequest
  try {
    proxy = parseProxyPath(path)
  } catch (err) {
    throw new TroveError('BAD_REQUEST', `cannot publish '${path}': ${(err as Error).message}`)
  }
  if (proxy.kind !== 'file') throw new TroveError('BAD_REQUEST', `publish a module version's files: PUT <module>/@v/<version>.zip, .mod and .info (not ${path})`)
  return proxy
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return typeof value === 'string' && value !== '' ? value.trim() : undefined
}

function expectedOf(request: FastifyRequest) {
  const lower = (name: string) => header(request, name)?.toLowerCase()
  return { sha256: lower('x-checksum-sha256'), sha1: lower('x-checksum-sha1') ?? lower('x-checksum'), md5: lower('x-checksum-md5') }
}

function declaredGoModOf(request: FastifyRequest): Buffer | undefined {
  const value = header(request, 'x-go-module-content')
  if (value === undefined) return undefined
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new TroveError('BAD_REQUEST', 'X-GO-MODULE-CONTENT is not base64')
  return Buffer.from(value, 'base64')
}
