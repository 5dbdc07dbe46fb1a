import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type DocumentSource, type FormatContext, notFound, type RenderedDocument, type Principal, principalName, readLimited, type Repository, TroveError } from '../../core/index.js'
import { type AccessGuard, declaredLength, refusal, sendDocument, sendFile, uploadBody } from '../../http/index.js'
import { renderNames, renderVersions } from './compact-index.js'
import { sendGemsError } from './errors.js'
import { GemStore } from './gem-store.js'
import { isGemName } from './gemspec.js'
import { marshalDump, RubyUserMarshal } from './marshal.js'
import { gemPublisher } from './push.js'
import { GemResolver, type LegacyIndex } from './resolver.js'

export const GEMS_PREFIX = '/artifactory/api/gems'
const MAX_DRAIN_BYTES = 64 * 1024 * 1024
/** A yank's form at most. */
const MAX_FORM_BYTES = 16 * 1024

type RepoParams = { Params: { repo: string } }
type FileParams = { Params: { repo: string; file: string } }

/**
 * The RubyGems APIs of one Trove under `/artifactory/api/gems/<repo>/`, like Artifactory's: the
 * compact index (`versions`, `info/<gem>`, `names`) bundler and gem resolve with, the legacy
 * indexes (`specs.4.8.gz`, `latest_specs.4.8.gz`, `prerelease_specs.4.8.gz`,
 * `quick/Marshal.4.8/<gem>.gemspec.rz`) gem installs with, files under `gems/`, and the push and
 * yank API (`api/v1/gems`, `api/v1/gems/yank`).
 */
export async function gemsRoutes(app: FastifyInstance, services: FormatContext): Promise<void> {
  const { repositories, artifacts, authorizer } = services
  const store = new GemStore(artifacts)
  const resolver = new GemResolver(artifacts, services.remote, store, services.resolution)
  const publisher = gemPublisher(services)

  // Bodies are read by the handlers themselves (a gem streams to the blob store).
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  app.setErrorHandler(async (err, request, reply) => sendGemsError(request, reply, err, MAX_DRAIN_BYTES))
  app.setNotFoundHandler(async (request, reply) =>
    sendGemsError(request, reply, notFound(`No such RubyGems endpoint: ${request.method} ${request.url.split('?')[0]}`), MAX_DRAIN_BYTES),
  )

  const gemsRepository = async (key: string): Promise<Repository> => {
    const repository = await repositories.get(key)
    if (!repository || repository.packageType !== 'gems') throw notFound(`'${key}' is not a RubyGems repository`)
    return repository
  }
  const caller = (request: FastifyRequest) => ({ canRead: (key: string) => authorizer.can(request.principal, 'read', key) })
  const readAccess = async (request: FastifyRequest, guard: AccessGuard) => guard.require(request.principal, 'read', (request.params as { repo: string }).repo)

  /** gem sends its API key as the whole `Authorization` header; a bare Trove token is taken as one. */
  const keyPrincipal = async (request: FastifyRequest): Promise<Principal> => {
    const header = request.headers.authorization
    if (request.principal.kind !== 'anonymous' || !header) return request.principal
    // A header with a scheme was tried (and counted by the login limits) already: say so once, without asking again.
    if (header.trim().includes(' ')) throw new TroveError('UNAUTHORIZED', 'The API key was not accepted: wrong user name, password or token.')
    return services.authenticator.authenticate(`Bearer ${header.trim()}`, request.ip)
  }
  const writeAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    request.principal = await keyPrincipal(request)
    await guard.require(request.principal, 'deploy', (request.params as { repo: string }).repo)
  }
  const target = async (request: FastifyRequest<RepoParams>, verb: string): Promise<Repository> => {
    const requested = await gemsRepository(request.params.repo)
    const repository = await repositories.deploymentTarget(requested, { verb, title: 'RubyGems' })
    if (repository.key !== requested.key && !(await authorizer.can(request.principal, 'deploy', repository.key))) {
      throw refusal(request.principal, `deploy on '${repository.key}'`)
    }
    return repository
  }

  // --- The compact index.

  // Each index document is rendered once per change of a local repository (services.documents).
  const PLAIN = 'text/plain; charset=utf-8'
  app.get<RepoParams>('/:repo/versions', { config: { access: readAccess } }, async (request, reply) => {
    const repository = await gemsRepository(request.params.repo)
    const document = await services.documents.get(repository, 'versions', async () => indexDocument(renderVersions(await resolver.versions(repository, caller(request)), new Date(0)), PLAIN))
    return sendIndex(request, reply, document)
  })
  app.get<FileParams>('/:repo/info/:file', { config: { access: readAccess } }, async (request, reply) => {
    const repository = await gemsRepository(request.params.repo)
    const document = await services.documents.get(repository, `info/${request.params.file}`, async () => indexDocument(await resolver.info(repository, request.params.file, caller(request)), PLAIN))
    return sendIndex(request, reply, document)
  })
  app.get<RepoParams>('/:repo/names', { config: { access: readAccess } }, async (request, reply) => {
    const repository = await gemsRepository(request.params.repo)
    const document = await services.documents.get(repository, 'names', async () => indexDocument(renderNames((await resolver.versions(repository, caller(request))).keys()), PLAIN))
    return sendIndex(request, reply, document)
  })

  // --- The legacy indexes.

  for (const which of ['specs', 'latest_specs', 'prerelease_specs'] as const satisfies readonly LegacyIndex[]) {
    app.get<RepoParams>(`/:repo/${which}.4.8.gz`, { config: { access: readAccess } }, async (request, reply) => {
      const repository = await gemsRepository(request.params.repo)
      const document = await services.documents.get(repository, which, async () => {
        const tuples = await resolver.legacy(repository, which, caller(request))
        const marshal = marshalDump(tuples.map((t) => [t.name, new RubyUserMarshal('Gem::Version', [t.version]), t.platform]))
        return indexDocument(gzipSync(marshal), 'application/x-gzip')
      })
      return sendIndex(request, reply, document)
    })
  }

  // --- Files.

  const sendGemFile = async (request: FastifyRequest<FileParams>, reply: FastifyReply, path: string) => {
    const repository = await gemsRepository(request.params.repo)
    const found = await resolver.file(repository, path, caller(request))
    await services.downloads.admit(repository, found)
    await sendFile(request, reply, services.downloads, found)
  }
  app.get<FileParams>('/:repo/gems/:file', { config: { access: readAccess } }, async (request, reply) => {
    const { file } = request.params
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*\.gem$/.test(file)) throw notFound(`'${file}' is not a gem file`)
    return sendGemFile(request, reply, `gems/${file}`)
  })
  app.get<FileParams>('/:repo/quick/Marshal.4.8/:file', { config: { access: readAccess } }, async (request, reply) => {
    const { file } = request.params
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*\.gemspec\.rz$/.test(file)) throw notFound(`'${file}' is not a quick spec`)
    return sendGemFile(request, reply, `quick/Marshal.4.8/${file}`)
  })

  // --- Push and yank (gem push --host <repo URL>, gem yank --host <repo URL>).

  app.post<RepoParams>('/:repo/api/v1/gems', { config: { access: writeAccess, ignoresBadCredentials: true } }, async (request, reply) => {
    const repository = await target(request, 'push')
    const outcome = await publisher.push(repository, uploadBody(request), { declaredSize: declaredLength(request), user: principalName(request.principal) })
    request.log.info({ repo: repository.key, path: outcome.path }, 'gem pushed')
    return reply.status(200).type('text/plain; charset=utf-8').send(`Successfully registered gem: ${outcome.name} (${outcome.version}${outcome.platform === 'ruby' ? '' : `-${outcome.platform}`})`)
  })
  app.delete<RepoParams>('/:repo/api/v1/gems/yank', { config: { access: writeAccess, ignoresBadCredentials: true } }, async (request, reply) => {
    const repository = await target(request, 'yank')
    const body = await readLimited(uploadBody(request), MAX_FORM_BYTES, () => new TroveError('PAYLOAD_TOO_LARGE', 'The yank form is too large.'))
    const form = new URLSearchParams(body.toString('utf8') || request.url.split('?')[1] || '')
    const name = form.get('gem_name') ?? ''
    const version = form.get('version') ?? ''
    if (!isGemName(name) || version === '') throw new TroveError('BAD_REQUEST', 'Send gem_name and version (gem yank NAME -v VERSION).')
    if (!(await authorizer.can(request.principal, 'delete', repository.key, 'gems'))) throw refusal(request.principal, `delete on '${repository.key}'`)
    const full = await publisher.yank(repository, name, version, form.get('platform') || undefined, principalName(request.principal))
    return reply.status(200).type('text/plain; charset=utf-8').send(`Successfully deleted gem: ${full}`)
  })
  // `curl -u user:token <repo URL>/api/v1/api_key.yaml > ~/.gem/credentials`, as Artifactory documents.
  app.get<RepoParams>('/:repo/api/v1/api_key.yaml', { config: { access: 'authenticated' } }, async (request, reply) => {
    await gemsRepository(request.params.repo)
    const header = request.headers.authorization ?? ''
    if (!/^basic /i.test(header)) throw new TroveError('BAD_REQUEST', 'Ask with your user name and an access token as Basic credentials (curl -u user:token).')
    return reply.type('text/yaml; charset=utf-8').header('cache-control', 'no-store').send(`---\n:rubygems_api_key: ${header}\n`)
  })
}

/**
 * An index document: its ETag is the md5 of the whole body in quotes, which bundler compares with
 * the md5 of its copy (a 304 when they match), so it is sent as is, never compressed. A `Range` is
 * answered with the whole document (200), which bundler takes in place of its copy; the checksums
 * stay right either way.
 */
function indexDocument(content: Buffer | string, contentType: string): DocumentSource {
  const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content
  return {
    body,
    contentType,
    etag: `"${createHash('md5').update(body).digest('hex')}"`,
    compressible: false,
    headers: { 'repr-digest': `sha-256=:${createHash('sha256').update(body).digest('base64')}:` },
  }
}

function sendIndex(request: FastifyRequest, reply: FastifyReply, document: RenderedDocument): FastifyReply {
  reply.header('cache-control', 'max-age=0, must-revalidate')
  return sendDocument(request, reply, document)
}
