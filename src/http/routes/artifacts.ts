import { finished } from 'node:stream/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { lookup as lookupMimeType } from 'mime-types'
import type { Asset, Folder } from '../../core/artifacts/artifact-service.js'
import { RepositoryBrowser } from '../../core/artifacts/repository-browser.js'
import type { PlainLayout } from '../../core/artifacts/plain-layout.js'
import type { PathAccess } from '../../core/auth/path-access.js'
import { principalName, type Principal } from '../../core/auth/principal.js'
import { CHECKSUM_PATTERNS, type ExpectedChecksums } from '../../core/digest.js'
import { TroveError, notFound } from '../../core/errors.js'
import { parseRepositoryPath, type RawRepositoryPath } from '../../core/paths.js'
import type { Repository } from '../../core/repositories/repository-service.js'
import type { CoreServices } from '../../core/services.js'
import { actionRefusal, folderChangeGuard, refusal, type AccessGuard } from '../access.js'
import { readAccessOf, searchedViews } from '../browsing.js'
import { declaredLength, uploadBody } from '../drain.js'
import { sendRestUploadError } from '../errors.js'
import { PlainResolver } from '../../core/remote/plain-resolver.js'
import { sendFile, sendGenerated } from '../send.js'
import { baseUrlOf, displayPath, encodePath, isoTime } from '../urls.js'

const PREFIX = '/artifactory/'

/**
 * Plain-layout repositories under `/artifactory/{repo}/{path}`: deploy (`PUT`), download
 * (`GET`/`HEAD`), delete. Request bodies are never parsed here: they stream to the blob store.
 * The formats served on this layout are those in `layouts`, keyed by package type, with their rules
 * (none for generic; Maven, Helm); the others (npm, docker, PyPI) are read here but deployed only
 * through their own protocols.
 */
export async function artifactRoutes(
  app: FastifyInstance,
  services: CoreServices,
  layouts: ReadonlyMap<string, PlainLayout> = new Map(),
): Promise<void> {
  const { repositories, artifacts } = services
  const layoutOf = (repository: Repository) => layouts.get(repository.packageType)
  const resolver = new PlainResolver(repositories, artifacts, services.remote, layoutOf, services.resolution)
  const browser = new RepositoryBrowser(repositories, artifacts, services.resolution)

  // Uploads are raw bytes whatever their Content-Type: no parser may touch the body.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  app.setErrorHandler(async (err, request, reply) => sendRestUploadError(request, reply, err))

  // The caller's read access to the paths of the repository a GET asks for: worked out by the access rule, used by the handler.
  const readAccesses = new WeakMap<FastifyRequest, PathAccess>()

  const access = async (request: FastifyRequest, guard: AccessGuard) => {
    const target = targetOf(request)
    const principal = request.principal
    if (request.method === 'GET' || request.method === 'HEAD') {
      // Read somewhere in the repository; whether at this path depends on what is there (download).
      readAccesses.set(request, await guard.requirePaths(principal, 'read', target.repoKey))
      return
    }
    if (request.method === 'DELETE') return guard.require(principal, 'delete', target.repoKey, target.path)
    await guard.require(principal, 'deploy', target.repoKey, target.path)
    // As in Artifactory, properties given as matrix parameters need the right to annotate.
    if (target.matrix.size > 0) await guard.require(principal, 'annotate', target.repoKey, target.path)
    // As in Artifactory, replacing an existing file needs the right to delete it too.
    if (target.path !== '' && (await artifacts.getAsset(target.repoKey, target.path))) {
      await guard.require(principal, 'delete', target.repoKey, target.path)
    }
  }

  const download = async (request: FastifyRequest, reply: FastifyReply) => {
    const target = targetOf(request)
    const repository = await repositories.require(target.repoKey)
    const paths = readAccesses.get(request) ?? (await services.authorizer.pathAccess(request.principal, 'read', repository.key))
    const readAccess = readAccessOf(services, request.principal, { repoKey: repository.key, access: paths })
    // A folder is listed as the storage API shows it: what the caller may read in it, a virtual's
    // readable members merged. `undefined` when no folder the caller may browse is there.
    const listFolder = async () => {
      const view = await browser.view(repository, readAccess)
      const item = view.access.folder(target.path) ? await browser.item(view, target.path) : undefined
      return item?.kind === 'folder' ? sendListing(reply, repository, item.folder, await browser.children(view, target.path)) : undefined
    }
    // A folder URL (a trailing slash), or a path the caller may read only as a folder, is browsed
    // first: where only a folder may be readable, nothing is fetched upstream or generated, and a
    // path the caller may not read is refused whether or not something is there.
    const isListingTried = target.isFolder || !paths.file(target.path)
    if (isListingTried) {
      if (await listFolder()) return reply
      if (!paths.file(target.path)) throw actionRefusal(request.principal, 'read', repository.key, target.path)
    }
    const options = {
      canRead: (key: string) => services.authorizer.can(request.principal, 'read', key, target.path),
      principal: request.principal,
    }
    const found = await resolver.resolve(repository, target.path, target.isFolder, options)
    if (found.kind === 'generated') return sendGenerated(request, reply, found.file)
    if (found.kind === 'folder') {
      if (!isListingTried && (await listFolder())) return reply
      throw notFound(`'${repository.key}/${target.path}' does not exist`)
    }
    // Download policies: a blocked file is refused before any byte is sent.
    await services.downloads.admit(repository, found)
    if (found.kind === 'stream' && request.method === 'GET' && request.headers.range !== undefined) {
      // A range of a file not cached yet: the one download finishes into the cache (its stream
      // ends only once the file is verified and committed), and the range is served from there.
      await finished(found.stream.resume())
      const cached = await resolver.resolve(repository, target.path, false, options)
      if (cached.kind === 'file' || cached.kind === 'stream') return sendFile(request, reply, services.downloads, cached)
    }
    await sendFile(request, reply, services.downloads, found)
  }

  app.get(`${PREFIX}*`, { config: { access }, exposeHeadRoute: false }, download)
  app.head(`${PREFIX}*`, { config: { access } }, download)

  app.put(`${PREFIX}*`, { config: { access } }, async (request, reply) => {
    const target = targetOf(request)
    const requested = await repositories.require(target.repoKey)
    if (!layouts.has(requested.packageType)) {
      // An npm, docker or PyPI repository's files are what its own protocol made of a publish; a
      // plain file dropped among them would be served as if it had been checked.
      throw new TroveError(
        'UNSUPPORTED',
        `'${requested.key}' is a ${requested.packageType} repository: deploy with its client (${requested.packageType} API), not a plain PUT`,
      )
    }
    const repository = await resolver.deploymentTarget(requested)
    if (repository !== requested && !(await services.authorizer.can(request.principal, 'deploy', repository.key, target.path))) {
      throw refusal(request.principal, `deploy to '${repository.key}', the default deployment repository of '${requested.key}'`)
    }
    const user = principalName(request.principal)
    const base = baseUrlOf(request, services.config.baseUrl)
    if (target.isFolder) {
      const folder = await artifacts.createFolder(repository, target.path, user)
      return reply.status(201).send(folderBody(base, repository.key, folder))
    }
    const expected = checksumHeaders(request)
    const options = {
      user,
      contentType: contentTypeFor(target.path, request.headers['content-type']),
      expected,
      properties: target.matrix,
      declaredSize: declaredLength(request),
    }
    const isChecksumDeploy = String(request.headers['x-checksum-deploy']).toLowerCase() === 'true'
    if (isChecksumDeploy) await assertReadableContent(services, browser, request.principal, expected)
    const layout = layoutOf(repository)
    // A format's checks apply to a checksum deploy too: it gets the stored content as the body.
    const body = isChecksumDeploy && layout?.deploy ? await services.blobs.open((await artifacts.blobByChecksum(expected)).sha256) : uploadBody(request)
    const outcome = await layout?.deploy?.({ repository, path: target.path, body, options, principal: request.principal })
    if (outcome?.kind === 'accepted') {
      request.log.info({ repo: repository.key, path: target.path }, 'deploy accepted, nothing stored')
      return reply.status(201).send()
    }
    const asset =
      outcome?.asset ??
      (isChecksumDeploy
        ? await artifacts.deployByChecksum(repository, target.path, options)
        : await artifacts.deploy(repository, target.path, body, options))
    request.log.info({ repo: repository.key, path: asset.path, size: asset.size, sha256: asset.sha256 }, 'deployed')
    await layout?.changed?.(repository, asset.path, 'deployed')
    return reply.status(201).send(deployBody(base, asset))
  })

  app.delete(`${PREFIX}*`, { config: { access } }, async (request, reply) => {
    const target = targetOf(request)
    const repository = await repositories.require(target.repoKey)
    if (repository.rclass === 'virtual') throw new TroveError('UNSUPPORTED', `'${repository.key}' is virtual; delete in its member repository`)
    const guard = await folderChangeGuard(services.authorizer, request.principal, 'delete', repository.key, target.path)
    const count = await artifacts.delete(repository, target.path, guard, principalName(request.principal))
    request.log.info({ repo: repository.key, path: target.path, files: count }, 'deleted')
    await layoutOf(repository)?.changed?.(repository, target.path, 'deleted')
    return reply.status(204).send()
  })
}

/** The repository path of a request, parsed from the raw URL (see {@link parseRepositoryPath}). */
function targetOf(request: FastifyRequest): RawRepositoryPath {
  const url = request.raw.url ?? ''
  const query = url.indexOf('?')
  const pathname = query === -1 ? url : url.slice(0, query)
  if (!pathname.startsWith(PREFIX)) throw notFound('not an artifact path')
  if (pathname.includes('//')) throw new TroveError('PATH_INVALID', `path '${pathname}' has an empty segment ('//')`)
  return parseRepositoryPath(pathname.slice(PREFIX.length))
}

/**
 * A checksum deploy copies content the caller never sent, so it must be content they could
 * download: a file they may read (at its path) somewhere; otherwise a deploy grant and a known
 * digest would disclose any artifact. Content they may not read is reported as unknown (404), like
 * missing content. Malformed or missing checksums are left to {@link ArtifactService.deployByChecksum}.
 */
async function assertReadableContent(services: CoreServices, browser: RepositoryBrowser, principal: Principal, expected: ExpectedChecksums): Promise<void> {
  const algorithm = (['sha256', 'sha1', 'md5'] as const).find((a) => expected[a] !== undefined)
  const value = algorithm ? expected[algorithm] : undefined
  if (!algorithm || !value || !CHECKSUM_PATTERNS[algorithm].test(value)) return
  const views = await searchedViews(services, browser, principal, [])
  if (views.every((view) => view.access.isEverywhere)) return // may read everything: nothing to disclose
  const found = await browser.search(views, (repoKeys, page) => services.artifacts.search.byChecksum(algorithm, value, repoKeys, page), 1)
  if (found.length === 0) throw notFound(`checksum deploy failed: no content with ${algorithm} ${value} is stored`)
}

function checksumHeaders(request: FastifyRequest): ExpectedChecksums {
  const header = (name: string) => {
    const value = request.headers[name]
    return typeof value === 'string' && value !== '' ? value.trim().toLowerCase() : undefined
  }
  return { sha256: header('x-checksum-sha256'), sha1: header('x-checksum-sha1') ?? header('x-checksum'), md5: header('x-checksum-md5') }
}

function contentTypeFor(path: string, given: string | undefined): string {
  const byName = lookupMimeType(path)
  if (byName) return byName
  if (given && !given.startsWith('application/x-www-form-urlencoded') && !given.startsWith('multipart/')) return given
  return 'application/octet-stream'
}

export function deployBody(base: string, asset: Asset) {
  const path = encodePath(asset.path)
  return {
    repo: asset.repoKey,
    path: displayPath(asset.path),
    created: isoTime(asset.createdAt),
    createdBy: asset.createdBy,
    downloadUri: `${base}/artifactory/${asset.repoKey}/${path}`,
    mimeType: asset.contentType,
    size: String(asset.size),
    checksums: { sha1: asset.sha1, md5: asset.md5, sha256: asset.sha256 },
    originalChecksums: asset.originalChecksums,
    uri: `${base}/artifactory/api/storage/${asset.repoKey}/${path}`,
  }
}

function folderBody(base: string, repoKey: string, folder: Folder) {
  return {
    repo: repoKey,
    path: displayPath(folder.path),
    created: isoTime(folder.createdAt),
    createdBy: folder.createdBy,
    children: [],
    uri: `${base}/artifactory/api/storage/${repoKey}/${encodePath(folder.path)}`,
  }
}

function sendListing(reply: FastifyReply, repository: Repository, folder: Folder, children: { folders: readonly string[]; files: readonly Asset[] }) {
  const title = escapeHtml(`${repository.key}/${folder.path}`)
  const name = (path: string) => path.slice(path.lastIndexOf('/') + 1)
  const lines = [
    folder.path === '' ? '' : '<a href="../">../</a>',
    ...children.folders.map((p) => `<a href="${encodeURIComponent(name(p))}/">${escapeHtml(name(p))}/</a>`),
    ...children.files.map(
      (f) => `<a href="${encodeURIComponent(f.name)}">${escapeHtml(f.name)}</a>  ${isoTime(f.modifiedAt)}  ${f.size}`,
    ),
  ].filter((l) => l !== '')
  return reply
    .type('text/html; charset=utf-8')
    .send(`<!DOCTYPE html>\n<html><head><title>Index of ${title}</title></head><body><h1>Index of ${title}</h1><pre>${lines.join('\n')}</pre></body></html>\n`)
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
