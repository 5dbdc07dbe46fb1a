import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type Action, describeScope, type FormatContext, LOGIN_BOUND, mintingBoundOf, notFound, parseJson, type Principal, principalName, type Repository, TroveError } from '../../core/index.js'
import { type AccessGuard, baseUrlOf, matchesEtag, refusal, sendDocument, sendFile } from '../../http/index.js'
import { npmAuditRoutes } from './audit.js'
import { sendNpmError } from './errors.js'
import type { JsonObject } from './manifest.js'
import { assertPublishableName, parsePackageName, parsePackagePath, type PackageName } from './names.js'
import { NpmStore } from './npm-store.js'
import { followReplication } from './replicated.js'
import { renderPackument, renderVersion, resolveVersion, type PackumentVersion } from './packument.js'
import { NpmPublisher } from './publish.js'
import { NpmRegistry, registryUrl } from './registry.js'
import { PackumentCache, type CachedPackument } from './packument-cache.js'
import { NpmResolver, type NpmReadOptions } from './resolver.js'
import { npmConfig } from './config.js'
import type { NpmTables } from './tables.js'

export const NPM_PREFIX = '/artifactory/api/npm'
const ABBREVIATED = 'application/vnd.npm.install-v1+json'
const SEARCH_MAX_SIZE = 250
const COUCH_USER = 'org.couchdb.user:'
/** Rendered packuments of remote and virtual repositories (local ones have the registry's cache). */
const RENDERED_CACHE_BYTES = 64 * 1024 * 1024

type RepoParams = { Params: { repo: string } }

/** What a wildcard registry URL names, after `/<repo>/`. */
type Target =
  | { readonly kind: 'packument'; readonly name: PackageName }
  | { readonly kind: 'version'; readonly name: PackageName; readonly spec: string }
  | { readonly kind: 'tarball'; readonly name: PackageName; readonly file: string; readonly rev: string | undefined }
  | { readonly kind: 'revision'; readonly name: PackageName; readonly rev: string }

/**
 * The npm registry API of one Trove, under `/artifactory/api/npm/<repo>/` like Artifactory's:
 * what the npm, pnpm and yarn clients call. Registered with that prefix, so its error and
 * not-found handlers answer npm's `{"error": "…"}` for everything below it.
 */
export async function npmRoutes(app: FastifyInstance, services: FormatContext): Promise<void> {
  const { repositories, artifacts, authorizer, config } = services
  const limits = services.section(npmConfig)
  const store = new NpmStore(services.tables<NpmTables>())
  const registry = new NpmRegistry(store, artifacts, services.documents)
  const publisher = new NpmPublisher(services.blobs, artifacts, store, limits)
  followReplication(services, store, limits.maxUnpackedBytes, (err, path) => app.log.warn({ err, path }, 'could not record a replicated npm tarball'))
  // Remote and virtual repositories (local ones are read by the registry directly).
  const resolver = new NpmResolver(repositories, artifacts, services.remote, store, registry, services.resolution)
  const renderedPackuments = new PackumentCache(RENDERED_CACHE_BYTES)
  /** Reading through a virtual needs the right to read each member too (as for generic virtuals). */
  const readOptions = (request: FastifyRequest, path: string): NpmReadOptions => ({
    canRead: (key) => authorizer.can(request.principal, 'read', key, path),
  })
  /** Tarball URLs of a remote or virtual point back to it, at the host the client used. */
  const tarballUrlVia = (request: FastifyRequest, repository: Repository) => (version: PackumentVersion) =>
    `${registryUrl(base(request), repository.key)}${version.tarball.path.split('/').map((s) => encodeURIComponent(s).replace(/^%40/, '@')).join('/')}`

  // Publish bodies stream (see publish-document.ts); the small JSON bodies are read by readJson.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  // What is left of a refused publish is read and discarded up to the largest publish there can be.
  const maxDrainBytes = Math.ceil((limits.maxTarballBytes * 4) / 3) + limits.maxMetadataBytes
  app.setErrorHandler(async (err, request, reply) => sendNpmError(request, reply, err, maxDrainBytes))
  app.setNotFoundHandler(async (request, reply) =>
    sendNpmError(request, reply, notFound(`no such npm registry endpoint: ${request.method} ${request.url.split('?')[0]}`), maxDrainBytes),
  )

  const npmRepository = async (key: string): Promise<Repository> => {
    const repository = await repositories.get(key)
    if (!repository || repository.packageType !== 'npm') throw notFound(`'${key}' is not an npm repository`)
    return repository
  }

  /** The caller may do at least one of `actions` (checked in order); `what` says it to the user. */
  const requireAny = async (principal: Principal, actions: readonly Action[], repoKey: string, path: string, what = actions.join(' or ')) => {
    for (const action of actions) if (await authorizer.can(principal, action, repoKey, path)) return
    throw refusal(principal, `${what} on '${repoKey}/${path}'`)
  }
  const readAccess = async (request: FastifyRequest, guard: AccessGuard) => guard.require(request.principal, 'read', repoParam(request))
  const base = (request: FastifyRequest) => baseUrlOf(request, config.baseUrl)

  // --- .npmrc lines, as Artifactory serves them (npm 9+ wants credentials scoped to a registry URL).

  app.get('/auth', { config: { access: 'authenticated' } }, async (request, reply) => {
    const root = `${base(request)}${NPM_PREFIX}/`
    const lines = [await credentialLine(services, request, root), ...(await emailLines(services, request.principal))]
    return reply.type('text/plain; charset=utf-8').send(`${lines.join('\n')}\n`)
  })

  app.get<{ Params: { repo: string; scope: string } }>(
    '/:repo/auth/:scope',
    { config: { access: async (request, guard) => requireSignedIn(request).then(() => readAccess(request, guard)) } },
    async (request, reply) => {
      const repository = await npmRepository(request.params.repo)
      const scope = request.params.scope.replace(/^@/, '')
      if (!/^[a-z0-9][a-z0-9._~-]*$/.test(scope)) throw new TroveError('NAME_INVALID', `invalid scope '${scope}'`)
      const url = registryUrl(base(request), repository.key)
      const lines = [`@${scope}:registry=${url}`, await credentialLine(services, request, url), ...(await emailLines(services, request.principal))]
      return reply.type('text/plain; charset=utf-8').send(`${lines.join('\n')}\n`)
    },
  )

  // --- Registry housekeeping: ping, whoami, login, logout, search, dist-tags.

  app.get<RepoParams>('/:repo/-/ping', { config: { access: 'public' } }, async (request) => {
    await npmRepository(request.params.repo)
    return {}
  })

  app.get<RepoParams>('/:repo/-/whoami', { config: { access: 'authenticated' } }, async (request) => {
    await npmRepository(request.params.repo)
    return { username: principalName(request.principal) }
  })

  // `npm login --auth-type=legacy` (and plain `npm login`, which falls back to it when the web
  // login answers 404): the password is checked and a Trove access token returned for .npmrc.
  app.put<{ Params: { repo: string; id: string } }>('/:repo/-/user/:id', { config: { access: 'public', ignoresBadCredentials: true } }, async (request, reply) => {
    await npmRepository(request.params.repo)
    const id = request.params.id
    if (!id.startsWith(COUCH_USER)) throw notFound(`no such user document '${id}'`)
    const name = id.slice(COUCH_USER.length)
    const body = await readJson(request, config.http.jsonBodyLimitBytes)
    if (!isJsonObject(body) || typeof body.password !== 'string') throw new TroveError('BAD_REQUEST', 'the body must be {"name": …, "password": …}')
    if (body.name !== undefined && body.name !== name) throw new TroveError('BAD_REQUEST', `the body names user '${String(body.name)}' but the URL '${name}'`)
    const user = await services.loginLimiter.checkPassword(name, body.password, request.ip)
    // The same answer for an unknown user and a wrong password: user names are not to be probed.
    if (!user) throw new TroveError('UNAUTHORIZED', `bad username or password for '${name}' (Trove creates no users from npm adduser; an administrator does)`)
    const token = await services.tokens.create({ subject: user.name, description: `npm login to ${request.params.repo}`, bound: LOGIN_BOUND })
    request.log.info({ user: user.name, tokenId: token.id }, 'npm login issued a token')
    return reply.status(201).send({ ok: true, id: `${COUCH_USER}${user.name}`, rev: `1-${token.id.replace(/-/g, '')}`, token: token.token })
  })

  // `npm logout`: revokes the token it logged in with.
  app.delete<{ Params: { repo: string; token: string } }>('/:repo/-/user/token/:token', { config: { access: 'authenticated' } }, async (request) => {
    await npmRepository(request.params.repo)
    const principal = request.principal
    if (principal.kind !== 'user' || principal.via !== 'token' || !principal.tokenId) {
      throw new TroveError('BAD_REQUEST', 'log out with the token itself (this request was not authenticated by a token)')
    }
    const token = await services.tokens.verify(request.params.token)
    if (!token || token.id !== principal.tokenId) throw new TroveError('DENIED', 'a token can only log itself out')
    await services.tokens.revoke(token.id)
    return { ok: true }
  })

  app.get<RepoParams & { Querystring: Record<string, string | undefined> }>('/:repo/-/v1/search', { config: { access: readAccess } }, async (request) => {
    const repository = await npmRepository(request.params.repo)
    const query = request.query
    const size = clampInt(query.size, 20, 1, SEARCH_MAX_SIZE)
    const from = clampInt(query.from, 0, 0, Number.MAX_SAFE_INTEGER)
    const result = await registry.search(repository, query.text ?? '', from, size)
    const url = registryUrl(base(request), repository.key)
    return {
      objects: result.hits.map((hit) => {
        const name = parsePackageName(hit.name)
        return {
          package: {
            name: hit.name,
            scope: name.scope ?? 'unscoped',
            version: hit.version,
            description: hit.description ?? undefined,
            keywords: hit.keywords,
            date: new Date(hit.modifiedAt).toISOString(),
            links: { npm: `${url}${hit.name}` },
            publisher: hit.publisher ? { username: hit.publisher } : undefined,
            maintainers: hit.publisher ? [{ username: hit.publisher }] : [],
          },
          score: { final: 1, detail: { quality: 1, popularity: 1, maintenance: 1 } },
          searchScore: 1,
        }
      }),
      total: result.total,
      time: new Date().toUTCString(),
    }
  })

  // Dist-tags: `/-/package/<name>/dist-tags[/<tag>]`. Moving a tag (above all `latest`) changes
  // what every `npm install` resolves, as much as publishing does: it takes `deploy`, not the
  // `annotate` that deprecation takes.
  const tagAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const { name } = distTagTarget(request)
    const action: Action = request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'deploy'
    await guard.require(request.principal, action, repoParam(request), name.full)
  }
  app.get<RepoParams>('/:repo/-/package/*', { config: { access: tagAccess } }, async (request, reply) => {
    const repository = await npmRepository(request.params.repo)
    const target = distTagTarget(request)
    const tags =
      repository.rclass === 'local'
        ? await registry.distTags(repository, target.name)
        : { ...(await resolver.packument(repository, target.name, readOptions(request, target.name.full))).distTags }
    if (target.tag !== undefined) {
      if (!(target.tag in tags)) throw notFound(`${target.name.full} has no dist-tag '${target.tag}'`)
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(tags[target.tag]))
    }
    return tags
  })
  app.put<RepoParams>('/:repo/-/package/*', { config: { access: tagAccess } }, async (request, reply) => {
    const repository = await deploymentTarget(request, await npmRepository(request.params.repo), distTagTarget(request).name, ['deploy'])
    const target = distTagTarget(request)
    if (target.tag === undefined) throw new TroveError('UNSUPPORTED', 'set one tag at a time: PUT /-/package/<name>/dist-tags/<tag>')
    await registry.setTag(repository, target.name, target.tag, await readJson(request, config.http.jsonBodyLimitBytes))
    return reply.status(201).send({ ok: true, [target.tag]: await registry.distTags(repository, target.name).then((t) => t[target.tag!]) })
  })
  app.delete<RepoParams>('/:repo/-/package/*', { config: { access: tagAccess } }, async (request) => {
    const repository = await deploymentTarget(request, await npmRepository(request.params.repo), distTagTarget(request).name, ['deploy'])
    const target = distTagTarget(request)
    if (target.tag === undefined) throw new TroveError('UNSUPPORTED', 'remove one tag at a time: DELETE /-/package/<name>/dist-tags/<tag>')
    await registry.removeTag(repository, target.name, target.tag)
    return { ok: true }
  })

  // --- Packages: packuments, versions, tarballs; publish, deprecate, unpublish.

  const packageAccess = async (request: FastifyRequest) => {
    const target = packageTarget(request)
    const key = repoParam(request)
    const path = target.name.full
    const principal = request.principal
    switch (request.method) {
      case 'GET':
      case 'HEAD':
        return requireAny(principal, ['read'], key, path)
      case 'PUT':
        // Which right a PUT needs shows only in its body (a tarball, deprecations, removed
        // versions): here the least of them; the handler asks for the rest.
        return target.kind === 'revision'
          ? requireAny(principal, ['delete', 'annotate', 'deploy'], key, path, 'unpublish (delete) or deprecate (annotate)')
          : requireAny(principal, ['deploy', 'annotate'], key, path, 'publish (deploy) or deprecate (annotate)')
      default:
        return requireAny(principal, ['delete'], key, path, 'unpublish (delete)')
    }
  }

  const download = async (request: FastifyRequest<RepoParams>, reply: FastifyReply) => {
    const repository = await npmRepository(request.params.repo)
    const target = packageTarget(request)
    if (repository.rclass !== 'local') return downloadThrough(request, reply, repository, target)
    if (target.kind === 'packument') {
      const abbreviated = (request.headers.accept ?? '').includes(ABBREVIATED)
      const contentType = abbreviated ? `${ABBREVIATED}; charset=utf-8` : 'application/json; charset=utf-8'
      const document = await registry.packumentDocument(repository, target.name, { abbreviated, baseUrl: base(request), contentType })
      reply.header('vary', 'accept')
      return sendDocument(request, reply, document)
    }
    if (target.kind === 'version') {
      const body = Buffer.from(JSON.stringify(await registry.version(repository, target.name, target.spec, base(request))))
      reply.type('application/json; charset=utf-8').header('content-length', body.length)
      return reply.send(request.method === 'HEAD' ? undefined : body)
    }
    if (target.kind !== 'tarball' || target.rev !== undefined) throw notFound(`no such npm registry endpoint: ${request.method} ${request.url}`)
    const path = `${target.name.full}/-/${target.file}`
    const asset = await artifacts.getAsset(repository.key, path)
    if (!asset) throw notFound(`'${path}' is not in '${repository.key}'`)
    const served = { kind: 'file', repository, asset } as const
    await services.downloads.admit(repository, served)
    return sendFile(request, reply, services.downloads, served)
  }
  /** A remote's or a virtual's packument, version or tarball (see NpmResolver). */
  const downloadThrough = async (request: FastifyRequest<RepoParams>, reply: FastifyReply, repository: Repository, target: Target) => {
    const options = readOptions(request, target.name.full)
    if (target.kind === 'packument' || target.kind === 'version') {
      const packument = await resolver.packument(repository, target.name, options)
      const tarballUrl = tarballUrlVia(request, repository)
      const abbreviated = target.kind === 'packument' && (request.headers.accept ?? '').includes(ABBREVIATED)
      let document: CachedPackument
      if (target.kind === 'packument') {
        // Rendering a large upstream document costs more than fetching it from the cache: kept per revision.
        const key = `${repository.key}\0${target.name.full}\0${abbreviated ? 'a' : 'f'}\0${base(request)}`
        const cached = renderedPackuments.get(key, packument.revision)
        if (cached) {
          document = cached
        } else {
          document = documentOf(packument.revision, renderPackument(packument, { abbreviated, tarballUrl }))
          renderedPackuments.set(key, document)
        }
      } else {
        const version = resolveVersion(packument, target.spec)
        if (!version) throw notFound(`${target.name.full}@${target.spec} is not in '${repository.key}'`)
        document = documentOf(packument.revision, renderVersion(version, tarballUrl(version)))
      }
      const { body, etag } = document
      reply.header('etag', etag).header('vary', 'accept')
      reply.type(abbreviated ? `${ABBREVIATED}; charset=utf-8` : 'application/json; charset=utf-8')
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.status(304).send()
      reply.header('content-length', body.length)
      return reply.send(request.method === 'HEAD' ? undefined : body)
    }
    if (target.kind !== 'tarball' || target.rev !== undefined) throw notFound(`no such npm registry endpoint: ${request.method} ${request.url}`)
    const found = await resolver.tarball(repository, target.name, target.file, options)
    await services.downloads.admit(repository, found)
    // Pulled through (the last bytes are sent only once the download is verified and cached), or cached.
    return sendFile(request, reply, services.downloads, found)
  }

  /**
   * Where a change sent to `requested` lands: itself when local, a virtual's defaultDeploymentRepo
   * (the caller needs one of `actions` there too), refused for a remote.
   */
  const deploymentTarget = async (request: FastifyRequest, requested: Repository, name: PackageName, actions: readonly Action[]) => {
    const repository = await resolver.deploymentTarget(requested)
    if (repository.key !== requested.key) await requireAny(request.principal, actions, repository.key, name.full)
    return repository
  }

  app.get<RepoParams>('/:repo/*', { config: { access: packageAccess }, exposeHeadRoute: false }, download)
  app.head<RepoParams>('/:repo/*', { config: { access: packageAccess } }, download)

  app.put<RepoParams>('/:repo/*', { config: { access: packageAccess } }, async (request, reply) => {
    const requested = await npmRepository(request.params.repo)
    const target = packageTarget(request)
    if (target.kind !== 'packument' && target.kind !== 'revision') throw notFound(`no such npm registry endpoint: PUT ${request.url}`)
    const principal = request.principal
    const name = target.name
    // A virtual's publishes land in its defaultDeploymentRepo; a remote refuses them.
    const repository = await deploymentTarget(
      request,
      requested,
      name,
      target.kind === 'revision' ? ['delete', 'annotate', 'deploy'] : ['deploy', 'annotate'],
    )
    if (target.kind === 'packument') assertPublishableName(name)
    const isPublish = target.kind === 'packument'
    const account = principal.kind === 'user' ? await services.users.get(principal.name) : undefined
    const outcome = await publisher.put({
      repository,
      name,
      user: principalName(principal),
      email: account?.email ?? undefined,
      mayDeploy: isPublish && (await authorizer.can(principal, 'deploy', repository.key, name.full)),
      deployRefusal: () =>
        isPublish
          ? refusal(principal, `publish (deploy) on '${repository.key}/${name.full}'`)
          : new TroveError('BAD_REQUEST', `publish with PUT /${name.full}, not with a revision`),
      body: bodyOf(request),
    })
    if (outcome.kind === 'published') {
      request.log.info({ repo: repository.key, package: name.full, version: outcome.version }, 'npm package published')
      return reply.status(201).send({ ok: true, success: true, id: name.full, rev: outcome.revision })
    }
    const plan = await registry.planUpdate(repository, name, outcome.document, target.kind === 'revision' ? target.rev : undefined)
    if (plan.removals.length > 0) await requireAny(principal, ['delete'], repository.key, name.full, 'unpublish (delete)')
    // Deprecating marks versions with a message, like a property, and changes no bytes or
    // resolution: `annotate` allows it, and so does `deploy` (who may publish may deprecate).
    if (plan.deprecations.size > 0) await requireAny(principal, ['annotate', 'deploy'], repository.key, name.full, 'deprecate (annotate)')
    await registry.applyUpdate(repository, name, plan, principalName(principal))
    request.log.info(
      { repo: repository.key, package: name.full, deprecated: [...plan.deprecations.keys()], unpublished: plan.removals },
      'npm package updated',
    )
    return reply.status(200).send({ ok: true, id: name.full })
  })

  app.delete<RepoParams>('/:repo/*', { config: { access: packageAccess } }, async (request) => {
    const target = packageTarget(request)
    const repository = await deploymentTarget(request, await npmRepository(request.params.repo), target.name, ['delete'])
    if (target.kind === 'revision') {
      await registry.unpublishPackage(repository, target.name, target.rev, principalName(request.principal))
      request.log.info({ repo: repository.key, package: target.name.full }, 'npm package unpublished')
      return { ok: true }
    }
    if (target.kind === 'tarball') {
      await registry.deleteTarball(repository, target.name, target.file, principalName(request.principal))
      request.log.info({ repo: repository.key, package: target.name.full, file: target.file }, 'npm tarball deleted')
      return { ok: true }
    }
    throw new TroveError('UNSUPPORTED', `unpublish with DELETE /${target.name.full}/-rev/<rev> (npm unpublish)`)
  })

  await npmAuditRoutes(app, services) // npm audit from Trove's vulnerability database (audit.ts)

  // The registry URL itself, without a package (also without its trailing slash).
  app.all<RepoParams>('/:repo', { config: { access: 'public' } }, async (request) => {
    await npmRepository(request.params.repo)
    throw notFound(`'${request.params.repo}' is an npm registry: use ${NPM_PREFIX}/${request.params.repo}/ as the registry URL`)
  })
}

/** A rendered document, serialized, with its etag. */
function documentOf(state: string, json: JsonObject): CachedPackument {
  const body = Buffer.from(JSON.stringify(json))
  return { state, body, etag: `"${createHash('sha1').update(body).digest('hex')}"` }
}

/** Fastify decodes `:repo`; validated by the repository lookup. */
function repoParam(request: FastifyRequest): string {
  return (request.params as { repo: string }).repo
}

/** The raw (still percent-encoded) path after `/artifactory/api/npm/<repo>/`. */
function rawRest(request: FastifyRequest, after: number): string {
  const url = request.raw.url ?? ''
  const query = url.indexOf('?')
  const path = query === -1 ? url : url.slice(0, query)
  // ['', 'artifactory', 'api', 'npm', '<repo>', …]
  return path.split('/').slice(5 + after).join('/')
}

function packageTarget(request: FastifyRequest): Target {
  const { name, rest } = parsePackagePath(rawRest(request, 0))
  if (rest.length === 0) return { kind: 'packument', name }
  if (rest.length === 1 && rest[0] !== '-' && rest[0] !== '-rev') return { kind: 'version', name, spec: rest[0]! }
  if (rest.length === 2 && rest[0] === '-rev') return { kind: 'revision', name, rev: rest[1]! }
  if (rest[0] === '-' && rest.length >= 2 && rest[1]!.endsWith('.tgz')) {
    if (rest.length === 2) return { kind: 'tarball', name, file: rest[1]!, rev: undefined }
    if (rest.length === 4 && rest[2] === '-rev') return { kind: 'tarball', name, file: rest[1]!, rev: rest[3]! }
  }
  throw notFound(`no such npm registry endpoint: ${request.method} ${request.url.split('?')[0]}`)
}

/** `<name>/dist-tags[/<tag>]` after `/-/package/`. */
function distTagTarget(request: FastifyRequest): { name: PackageName; tag: string | undefined } {
  const { name, rest } = parsePackagePath(rawRest(request, 2))
  if (rest[0] !== 'dist-tags' || rest.length > 2) throw notFound(`no such npm registry endpoint: ${request.method} ${request.url.split('?')[0]}`)
  return { name, tag: rest[1] }
}

/**
 * The `.npmrc` credential line for a registry URL: the credentials of this request, echoed
 * (Basic as `_auth`, a bearer token as `_authToken`), as Artifactory does. A caller signed in
 * another way (the console's session cookie) gets a new access token, no broader than the
 * credential: a session's is user-wide, any other token's has that token's scope and expiry.
 */
async function credentialLine(services: FormatContext, request: FastifyRequest, url: string): Promise<string> {
  const nerfDart = url.replace(/^https?:/, '')
  const [scheme = '', value = ''] = (request.headers.authorization ?? '').split(/\s+/, 2)
  if (scheme.toLowerCase() === 'basic' && value !== '') return `${nerfDart}:_auth=${value}`
  if (scheme.toLowerCase() === 'bearer' && value !== '') return `${nerfDart}:_authToken=${value}`
  const bound = mintingBoundOf(request.principal)
  const token = await services.tokens.create({
    subject: principalName(request.principal),
    description: 'npm: .npmrc from /api/npm/auth',
    ...(bound.scope ? { scope: describeScope(bound.scope) } : {}),
    bound,
    capsAtBound: true,
  })
  return `${nerfDart}:_authToken=${token.token}`
}

async function emailLines(services: FormatContext, principal: Principal): Promise<string[]> {
  if (principal.kind !== 'user') return []
  const user = await services.users.get(principal.name)
  return user?.email ? [`email=${user.email}`] : []
}

async function requireSignedIn(request: FastifyRequest): Promise<void> {
  if (request.principal.kind === 'anonymous') throw new TroveError('UNAUTHORIZED', 'authentication is required')
}

/** A small JSON body (login, dist-tag), read with a limit: the content-type parsers are off here. */
async function readJson(request: FastifyRequest, limit: number): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of bodyOf(request)) {
    size += chunk.length
    if (size > limit) throw new TroveError('PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`)
    chunks.push(chunk)
  }
  return parseJson(Buffer.concat(chunks).toString('utf8'), 'the body')
}

/**
 * The request body as chunks. Leaving the loop early (a refusal) must not destroy the request,
 * which would take the connection with it before the answer is sent: the error handler drains it.
 */
function bodyOf(request: FastifyRequest): AsyncIterable<Buffer> {
  return request.raw.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function clampInt(value: string | undefined, fallback: number, min: number, max: number): number {
  const number = value === undefined || value === '' ? fallback : Number(value)
  if (!Number.isInteger(number)) throw new TroveError('BAD_REQUEST', `'${value}' is not a whole number`)
  return Math.min(max, Math.max(min, number))
}
