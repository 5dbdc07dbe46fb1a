import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type Action, type FormatContext, type Principal, principalName, type Repository } from '../../core/index.js'
import { AccessGuard, baseUrlOf, declaredLength, drainBeforeAnswer, matchesEtag, MAX_DRAIN_BYTES, parseRange, refusal, sendBody, uploadBody } from '../../http/index.js'
import { OciError, sendOciError, toOciErrorResponse, type OciErrorResponse } from './errors.js'
import { MEDIA_TYPES, accepts, defaultPlatformEntry, indexEntries, isIndexType } from './manifests.js'
import { digestOf, parseDigest, parseName, parseRegistryUrl, registryBaseOf, type Endpoint, type ImageName, type ParsedRegistryUrl, type Reference } from './names.js'
import { byteOrder, type LocalRegistry, type StoredManifest } from './registry.js'
import { DockerResolver, type DockerResolveOptions } from './remote.js'
import { blobCreated, paginate, uploadAccepted, uploadLocation } from './replies.js'
import { hasBody, listOf, readManifestBody, stringOf } from './request-parts.js'
import { issueToken, parseScopes } from './token.js'
import { parseChunkRange, type UploadSessions } from './uploads.js'

export interface RegistryDeps {
  readonly registry: LocalRegistry
  readonly uploads: UploadSessions
  /** Lifetime of the registry tokens `/v2/token` issues (`oci.tokenExpirySecs`). */
  readonly tokenExpirySecs: number
}

/** A manifest request's image and valid reference. */
interface ManifestTarget {
  readonly name: ImageName
  readonly reference: Reference
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The registry endpoint a request names, parsed once by the access rule. */
    registryTarget: ParsedRegistryUrl | null
  }
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
const DOCKER_API = '/artifactory/api/docker/:repoKey/v2'

/**
 * The OCI distribution API (v1.1) under `/v2/<repo>/<image>/…` and
 * `/artifactory/api/docker/<repo>/v2/<image>/…`, and the token endpoint of the Docker token
 * specification. Request bodies are never parsed by Fastify: blobs stream to the blob store,
 * manifests are read with a 4 MiB limit.
 */
export async function registryRoutes(app: FastifyInstance, services: FormatContext, deps: RegistryDeps): Promise<void> {
  const { registry, uploads } = deps
  const guard = new AccessGuard(services.authorizer)
  const resolver = new DockerResolver(services, registry, app.log)

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  app.decorateRequest('registryTarget', null)

  app.addHook('onRequest', async (_request, reply) => {
    // Distribution-spec: 200 and 401 answers of /v2/ carry it; clients may require it.
    reply.header('docker-distribution-api-version', 'registry/2.0')
  })
  app.setErrorHandler(async (err, request, reply) => {
    // Headers set for the content that could not be sent must not describe the error body.
    for (const name of ['content-length', 'content-range', 'docker-content-digest', 'etag', 'accept-ranges']) reply.removeHeader(name)
    reply.header('docker-distribution-api-version', 'registry/2.0')
    const response = withChallenge(toOciErrorResponse(err, request), request, services.config.baseUrl)
    // What is left of a refused upload is read first, or the connection would hang after the answer.
    await drainBeforeAnswer(request, reply, MAX_DRAIN_BYTES)
    return sendOciError(reply, response)
  })

  const access = async (request: FastifyRequest, accessGuard: AccessGuard) => {
    const target = parseRegistryUrl(request.raw.url ?? '')
    if (!target) throw new OciError('UNSUPPORTED', 'not a registry URL', { status: 404 })
    request.registryTarget = target
    const action = actionFor(target.endpoint, request.method)
    if (action && 'name' in target.endpoint) await requireAction(accessGuard, request.principal, action, target.endpoint.name)
  }
  const config = { access, acceptsRegistryTokens: true }

  // ---- token endpoint ----
  const token = async (request: FastifyRequest, reply: FastifyReply) => {
    const base = registryBaseOf(pathOf(request))!
    const query = request.query as Record<string, string | string[] | undefined>
    const scopes = parseScopes(listOf(query.scope))
    const service = stringOf(query.service) ?? serviceOf(request, services.config.baseUrl)
    const body = await issueToken(services.registryTokens, services.authorizer, request.principal, base, service, scopes, deps.tokenExpirySecs)
    return reply.header('cache-control', 'no-store').send(body)
  }
  const tokenConfig = { access: 'public' as const, acceptsRegistryTokens: true }
  app.get('/v2/token', { config: tokenConfig }, token)
  app.get(`${DOCKER_API}/token`, { config: tokenConfig }, token)

  // ---- the registry API ----
  const dispatch = async (request: FastifyRequest, reply: FastifyReply) => {
    const target = request.registryTarget!
    const endpoint = target.endpoint
    const method = request.method
    switch (endpoint.kind) {
      case 'base':
        if (method !== 'GET' && method !== 'HEAD') break
        // A token issued to an anonymous caller is a valid answer to the challenge (anonymous pulls).
        if (request.principal.kind === 'anonymous' && !/^bearer /i.test(request.headers.authorization ?? '')) {
          throw new OciError('UNAUTHORIZED', 'authentication required')
        }
        return reply.type('application/json').send({})
      case 'catalog':
        if (method !== 'GET') break
        return catalog(request, reply, target)
      case 'tags':
        if (method !== 'GET') break
        return tagList(request, reply, target, endpoint.name)
      case 'manifest': {
        const { name, reference } = endpoint
        if (reference.kind === 'invalid') {
          // Only a push is refused as invalid (400); no manifest has such a reference, and the
          // distribution-spec answers a manifest that is not found with 404 MANIFEST_UNKNOWN.
          if (method === 'PUT') throw reference.error
          if (method === 'GET' || method === 'HEAD' || method === 'DELETE') {
            throw new OciError('MANIFEST_UNKNOWN', `no manifest of '${name.name}' has this reference: ${reference.error.message}`, { detail: { name: name.name } })
          }
          break
        }
        if (method === 'GET' || method === 'HEAD') return getManifest(request, reply, { name, reference })
        if (method === 'PUT') return putManifest(request, reply, target, { name: await pushName(request, name), reference })
        if (method === 'DELETE') {
          await registry.deleteManifest(await localRepository(name), name.image, reference, principalName(request.principal))
          return reply.status(202).header('content-length', 0).send()
        }
        break
      }
      case 'blob':
        if (method === 'GET' || method === 'HEAD') return getBlob(request, reply, endpoint)
        if (method === 'DELETE') {
          await registry.deleteBlob(await localRepository(endpoint.name), endpoint.name.image, endpoint.hex, principalName(request.principal))
          return reply.status(202).header('content-length', 0).send()
        }
        break
      case 'uploads':
        if (method === 'POST') return startUpload(request, reply, target, await pushName(request, endpoint.name))
        break
      case 'upload':
        return upload(request, reply, target, { ...endpoint, name: await pushName(request, endpoint.name) })
      case 'referrers':
        if (method !== 'GET') break
        return referrers(request, reply, endpoint)
    }
    throw new OciError('UNSUPPORTED', `${method} is not supported on this endpoint`)
  }

  for (const url of ['/v2', '/v2/*', DOCKER_API, `${DOCKER_API}/*`]) {
    app.route({ method: [...METHODS], url, config, exposeHeadRoute: false, handler: dispatch })
  }

  // ---- handlers ----

  /** The docker repository a request names, which the local registry serves. */
  async function dockerRepository(name: ImageName): Promise<Repository> {
    const repository = await services.repositories.get(name.repoKey)
    if (!repository || repository.packageType !== 'docker') {
      throw new OciError('NAME_UNKNOWN', `'${name.repoKey}' is not a docker repository`, { detail: { name: name.name } })
    }
    return repository
  }

  /** How a read reaches the members of a virtual: only those the caller's user may read the image in. */
  function readOptions(request: FastifyRequest, image: string): DockerResolveOptions {
    // A registry token is scoped to the virtual's name; the user's own rights decide for its members.
    const principal = request.principal
    const user: Principal = principal.kind === 'user' ? { ...principal, scope: undefined } : principal
    return { canRead: (repoKey) => guard.can(user, 'read', repoKey, image) }
  }

  /**
   * Where a push to `name` goes: a local repository itself, a virtual's defaultDeploymentRepo (the
   * returned name keeps the client's URL space, so upload locations stay under the virtual).
   * Remote repositories refuse pushes.
   */
  async function pushName(request: FastifyRequest, name: ImageName): Promise<ImageName> {
    const repository = await dockerRepository(name)
    const target = await services.repositories.deploymentTarget(repository, { verb: 'push' })
    if (target.key === repository.key) return name
    const key = target.key
    const principal = request.principal
    const user: Principal = principal.kind === 'user' ? { ...principal, scope: undefined } : principal
    if (!(await guard.can(user, 'deploy', key, name.image))) throw refusal(principal, `deploy to '${key}' (the default deployment repository of '${repository.key}')`)
    return { ...name, repoKey: key }
  }

  /** The repository a push or delete goes to: a local one. */
  async function localRepository(name: ImageName): Promise<Repository> {
    const repository = await dockerRepository(name)
    if (repository.rclass !== 'local') throw new OciError('UNSUPPORTED', `'${repository.key}' is a ${repository.rclass} repository; push to a local one`)
    return repository
  }

  async function catalog(request: FastifyRequest, reply: FastifyReply, target: ParsedRegistryUrl) {
    const principal = request.principal
    // A token with the catalog scope lists what its user may read.
    const viewer: Principal = principal.kind === 'user' && principal.scope?.catalog ? { ...principal, scope: undefined } : principal
    let keys: string[]
    if (target.repoKey !== undefined) {
      const repository = await dockerRepository({ repoKey: target.repoKey, image: '', name: '' })
      keys = await resolver.listedKeys(repository, readOptions(request, ''))
    } else {
      // Local images and what remotes have cached (a virtual's images are its members').
      keys = (await services.repositories.list({ packageType: 'docker' })).filter((r) => r.rclass !== 'virtual').map((r) => r.key)
    }
    const readable = await guard.readable(viewer, keys)
    const names = [...new Set((await registry.images([...readable])).map((i) => (target.repoKey !== undefined ? i.image : `${i.repoKey}/${i.image}`)))].sort(byteOrder)
    const page = paginate(names, request.query, `${target.prefix}/_catalog`)
    if (page.link) reply.header('link', page.link)
    return reply.type('application/json').send({ repositories: page.items })
  }

  async function tagList(request: FastifyRequest, reply: FastifyReply, target: ParsedRegistryUrl, name: ImageName) {
    const repository = await dockerRepository(name)
    const tags = await resolver.tags(repository, name.image, readOptions(request, name.image))
    if (!tags) throw new OciError('NAME_UNKNOWN', `image '${name.name}' is not in the registry`, { detail: { name: name.name } })
    const page = paginate(tags, request.query, `${target.prefix}/${name.name}/tags/list`)
    if (page.link) reply.header('link', page.link)
    return reply.type('application/json').send({ name: name.name, tags: page.items })
  }

  async function getManifest(request: FastifyRequest, reply: FastifyReply, endpoint: ManifestTarget) {
    const { name, reference } = endpoint
    const repository = await dockerRepository(name)
    const options = readOptions(request, name.image)
    const found = await resolver.manifest(repository, name.image, reference, options)
    const stored = found?.manifest
    const what = reference.kind === 'tag' ? `tag '${reference.tag}'` : `manifest ${digestOf(reference.hex)}`
    if (!stored) throw new OciError('MANIFEST_UNKNOWN', `${what} is not in '${name.name}'`, { detail: { name: name.name } })
    const accept = request.headers.accept
    let served: StoredManifest | undefined = stored
    if (!accepts(accept, stored.mediaType)) {
      served = undefined
      // A client that cannot read indexes gets the linux/amd64 image of a tagged one, as from the reference registry.
      if (isIndexType(stored.mediaType) && reference.kind === 'tag') {
        const entry = defaultPlatformEntry(indexEntries(await registry.readManifest(stored.hex)))
        if (entry && accepts(accept, entry.mediaType)) {
          served = (await resolver.manifest(repository, name.image, { kind: 'digest', hex: entry.hex }, options))?.manifest
        }
      }
      if (!served) {
        throw new OciError('MANIFEST_UNKNOWN', `${what} is a ${stored.mediaType}, which the client does not accept (Accept: ${String(accept)})`, {
          detail: { mediaType: stored.mediaType },
        })
      }
    }
    // Download policies: an image manifest is the image (its scan covers its layers); indexes are
    // checked per platform manifest, which a client pulls next. Layer blobs are not checked.
    const download = { kind: 'stored', repository: found!.repoKey, path: served.path, sha256: served.hex } as const
    await services.downloads.admit(repository, download, {
      label: reference.kind === 'tag' ? `${name.name}:${reference.tag}` : `${name.name}@${digestOf(reference.hex)}`,
      isScannable: !isIndexType(served.mediaType),
    })
    const etag = `"${digestOf(served.hex)}"`
    reply.header('docker-content-digest', digestOf(served.hex)).header('etag', etag).type(served.mediaType)
    if (matchesEtag(request.headers['if-none-match'], etag)) return reply.status(304).send()
    reply.header('content-length', served.size)
    if (request.method === 'HEAD') return reply.send()
    const bytes = await registry.readManifest(served.hex)
    services.downloads.count(download, principalName(request.principal))
    return reply.send(bytes)
  }

  async function putManifest(
    request: FastifyRequest,
    reply: FastifyReply,
    target: ParsedRegistryUrl,
    endpoint: ManifestTarget,
  ) {
    const { name, reference } = endpoint
    const repository = await localRepository(name)
    const bytes = await readManifestBody(request.raw)
    if (reference.kind === 'tag') {
      // As for any file in Trove, replacing what a tag names needs the right to delete too. A
      // registry token's push scope includes moving tags, so the user's own rights decide.
      const current = await registry.resolve(name.repoKey, name.image, reference)
      if (current && current.hex !== createHash('sha256').update(bytes).digest('hex')) {
        const user: Principal = request.principal.kind === 'user' ? { ...request.principal, scope: undefined } : request.principal
        if (!(await guard.can(user, 'delete', name.repoKey, name.image))) {
          throw refusal(request.principal, `move tag '${reference.tag}' of '${name.name}' (overwriting needs the delete permission)`)
        }
      }
    }
    const pushed = await registry.putManifest(repository, name.image, reference, bytes, request.headers['content-type'], principalName(request.principal))
    request.log.info({ repo: name.repoKey, image: name.image, digest: digestOf(pushed.hex) }, 'manifest pushed')
    reply.status(201).header('location', `${target.prefix}/${name.name}/manifests/${digestOf(pushed.hex)}`).header('docker-content-digest', digestOf(pushed.hex))
    if (pushed.subject) reply.header('oci-subject', pushed.subject)
    return reply.header('content-length', 0).send()
  }

  async function getBlob(request: FastifyRequest, reply: FastifyReply, endpoint: Extract<Endpoint, { kind: 'blob' }>) {
    const { name, hex } = endpoint
    const repository = await dockerRepository(name)
    const blob = await resolver.blob(repository, name.image, hex, readOptions(request, name.image))
    if (!blob) throw new OciError('BLOB_UNKNOWN', `blob ${digestOf(hex)} is not in '${name.name}'`, { detail: { digest: digestOf(hex) } })
    const etag = `"${digestOf(hex)}"`
    reply.header('docker-content-digest', digestOf(hex)).header('etag', etag).header('accept-ranges', 'bytes').type('application/octet-stream')
    if (matchesEtag(request.headers['if-none-match'], etag)) {
      if (blob.kind === 'stream') blob.stream.resume() // cached all the same
      return reply.status(304).send()
    }
    if (blob.kind === 'stream') {
      // Pulled through now: streamed whole while it is cached (the next request can ask for a range).
      if (blob.size !== undefined) reply.header('content-length', blob.size)
      if (request.method === 'HEAD') {
        blob.stream.resume()
        return reply.send()
      }
      return reply.send(blob.stream)
    }
    if (request.method === 'GET') {
      // Download redirects: the client fetches the bytes (and its Range) from the object store.
      const location = await services.blobs.downloadUrl(hex, { contentType: 'application/octet-stream' })
      if (location !== undefined) return reply.status(307).header('location', location).header('cache-control', 'no-store').send()
    }
    const range = parseRange(request.headers.range, blob.size)
    if (range.kind === 'unsatisfiable') {
      throw new OciError('BLOB_UNKNOWN', `range ${String(request.headers.range)} is outside the ${blob.size} bytes of the blob`, {
        status: 416,
        headers: { 'content-range': `bytes */${blob.size}` },
      })
    }
    if (range.kind === 'partial') {
      reply.status(206).header('content-range', `bytes ${range.range.start}-${range.range.end}/${blob.size}`)
      reply.header('content-length', range.range.end - range.range.start + 1)
    } else {
      reply.header('content-length', blob.size)
    }
    if (request.method === 'HEAD') {
      // The asset says the image holds it; the store must still have the bytes (garbage collection agrees with assets).
      if (!(await services.blobs.exists(hex))) throw new OciError('BLOB_UNKNOWN', `blob ${digestOf(hex)} is not stored`)
      return reply.send()
    }
    const send = await services.blobs.openSender(hex, range.kind === 'partial' ? range.range : undefined)
    await sendBody(request, reply, send, { digest: digestOf(hex) })
  }

  async function startUpload(request: FastifyRequest, reply: FastifyReply, target: ParsedRegistryUrl, name: ImageName) {
    const repository = await localRepository(name)
    const query = request.query as Record<string, string | string[] | undefined>
    const user = principalName(request.principal)
    const mount = stringOf(query.mount)
    const from = stringOf(query.from)
    if (mount !== undefined && from !== undefined) {
      const hex = parseDigest(mount)
      // Mounted only from where the caller may read; otherwise an ordinary upload starts (spec: 202).
      const source = parseName(from, target.repoKey)
      const sourceRepository = await services.repositories.get(source.repoKey)
      if (
        sourceRepository?.packageType === 'docker' &&
        (await guard.can(request.principal, 'read', source.repoKey, source.image)) &&
        (await registry.blob(source.repoKey, source.image, hex)) &&
        (await services.blobs.exists(hex))
      ) {
        await registry.addBlob(repository, name.image, { sha256: hex }, user)
        return blobCreated(reply, target, name, hex)
      }
    }
    const digest = stringOf(query.digest)
    if (digest !== undefined) {
      const hex = parseDigest(digest)
      await services.artifacts.admitUpload(repository, declaredLength(request))
      const blob = await services.blobs.put(uploadBody(request), { expected: { sha256: hex, size: declaredLength(request) } })
      await registry.addBlob(repository, name.image, blob, user)
      return blobCreated(reply, target, name, hex)
    }
    const session = await uploads.start(repository, name.image, user)
    return uploadAccepted(reply, target, name, session)
  }

  async function upload(request: FastifyRequest, reply: FastifyReply, target: ParsedRegistryUrl, endpoint: Extract<Endpoint, { kind: 'upload' }>) {
    const { name, uuid } = endpoint
    const repository = await localRepository(name)
    const session = await uploads.get(uuid, name.repoKey, name.image)
    const failing = (err: unknown) => {
      // Every upload error tells the client where the session stands, so it can resume.
      if (err instanceof OciError && err.status === 416) reply.header('location', uploadLocation(target, name, session))
      throw err
    }
    switch (request.method) {
      case 'GET':
        return uploadAccepted(reply.status(204), target, name, session)
      case 'PATCH': {
        const range = parseChunkRange(request.headers['content-range'])
        // The quota (with the session's bytes already counted) is checked by the upload service.
        const updated = await uploads.append(repository, session, uploadBody(request), range, declaredLength(request)).catch(failing)
        return uploadAccepted(reply, target, name, updated)
      }
      case 'PUT': {
        const digest = stringOf((request.query as Record<string, string | string[] | undefined>).digest)
        if (digest === undefined) throw new OciError('DIGEST_INVALID', 'closing an upload needs ?digest=<digest> of the whole blob')
        const hex = parseDigest(digest)
        const range = parseChunkRange(request.headers['content-range'])
        const body = hasBody(request) ? uploadBody(request) : undefined
        await uploads.complete(repository, session, hex, body, range, body ? declaredLength(request) : undefined, principalName(request.principal)).catch(failing)
        return blobCreated(reply, target, name, hex)
      }
      case 'DELETE':
        await uploads.cancel(repository, session)
        return reply.status(204).send()
    }
    throw new OciError('UNSUPPORTED', `${request.method} is not supported on an upload`)
  }

  async function referrers(request: FastifyRequest, reply: FastifyReply, endpoint: Extract<Endpoint, { kind: 'referrers' }>) {
    const { name, hex } = endpoint
    await dockerRepository(name)
    const artifactType = stringOf((request.query as Record<string, string | string[] | undefined>).artifactType)
    const manifests = await registry.referrers(name.repoKey, name.image, hex, artifactType)
    if (artifactType !== undefined) reply.header('oci-filters-applied', 'artifactType')
    // Serialized here: Fastify would add a charset parameter, which the specification asks registries not to send.
    return reply.type(MEDIA_TYPES.ociIndex).send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests })))
  }
}

/** What a request needs on the image it names; `undefined` where the handler decides (base, catalog). */
function actionFor(endpoint: Endpoint, method: string): Action | undefined {
  switch (endpoint.kind) {
    case 'base':
    case 'catalog':
      return undefined
    case 'uploads':
    case 'upload':
      return 'deploy'
    case 'manifest':
    case 'blob':
      if (method === 'DELETE') return 'delete'
      return method === 'GET' || method === 'HEAD' ? 'read' : 'deploy'
    case 'tags':
    case 'referrers':
      return 'read'
  }
}

/**
 * Asks the authorizer. A registry token that lacks the scope while its user has the right is
 * answered 401 with a challenge naming the scope (the client fetches a wider token); anything
 * else refused is 401 for anonymous callers and 403 for users.
 */
async function requireAction(guard: AccessGuard, principal: Principal, action: Action, name: ImageName): Promise<void> {
  if (await guard.can(principal, action, name.repoKey, name.image)) return
  if (principal.kind === 'user' && principal.scope && (await guard.can({ ...principal, scope: undefined }, action, name.repoKey, name.image))) {
    throw new OciError('UNAUTHORIZED', `the registry token does not grant ${action} on '${name.name}'`)
  }
  throw refusal(principal, `${action} on '${name.name}'`)
}

/**
 * 401 answers carry the challenge that sends clients to the token endpoint, with the scope the
 * request needs (Docker token specification, "How to authenticate"). The token endpoint itself
 * asks for Basic credentials.
 */
function withChallenge(response: OciErrorResponse, request: FastifyRequest, configuredBase: string | undefined): OciErrorResponse {
  if (response.status !== 401) return response
  const path = pathOf(request)
  const base = registryBaseOf(path)
  if (!base || path === `${base.prefix}/token`) return { ...response, headers: { ...response.headers, 'www-authenticate': 'Basic realm="Trove"' } }
  const params = [`realm="${baseUrlOf(request, configuredBase)}${base.prefix}/token"`, `service="${serviceOf(request, configuredBase)}"`]
  const scope = scopeFor(request)
  if (scope) params.push(`scope="${scope}"`)
  if (request.principal?.kind === 'user' && request.principal.scope) params.push('error="insufficient_scope"')
  return { ...response, headers: { ...response.headers, 'www-authenticate': `Bearer ${params.join(',')}` } }
}

/** The scope a request needs, as a token request names it; `undefined` for `/v2/` itself. */
function scopeFor(request: FastifyRequest): string | undefined {
  let target: ParsedRegistryUrl | undefined
  try {
    target = request.registryTarget ?? parseRegistryUrl(request.raw.url ?? '')
  } catch {
    return undefined
  }
  if (!target) return undefined
  const endpoint = target.endpoint
  if (endpoint.kind === 'catalog') return 'registry:catalog:*'
  if (endpoint.kind === 'base') return undefined
  const action = actionFor(endpoint, request.method)
  const actions = action === 'read' ? 'pull' : action === 'delete' ? 'delete' : 'pull,push'
  const scopes = [`repository:${endpoint.name.name}:${actions}`]
  const from = stringOf((request.query as Record<string, string | string[] | undefined> | undefined)?.from)
  if (endpoint.kind === 'uploads' && from !== undefined) scopes.push(`repository:${from}:pull`)
  return scopes.join(' ')
}

function pathOf(request: FastifyRequest): string {
  const url = request.raw.url ?? ''
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

/** The `service` of challenges and tokens: the host clients reach the registry by. */
function serviceOf(request: FastifyRequest, configuredBase: string | undefined): string {
  return new URL(baseUrlOf(request, configuredBase)).host
}
