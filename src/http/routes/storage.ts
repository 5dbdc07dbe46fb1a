import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Asset, ChangeGuard, Folder } from '../../core/artifacts/artifact-service.js'
import { RepositoryBrowser, type RepositoryView } from '../../core/artifacts/repository-browser.js'
import { TroveError, notFound } from '../../core/errors.js'
import { parseRepositoryPath, type RawRepositoryPath } from '../../core/paths.js'
import type { Repository } from '../../core/repositories/repository-service.js'
import type { CoreServices } from '../../core/services.js'
import { folderChangeGuard, type AccessGuard } from '../access.js'
import { readAccessOf, readableItem, searchedViews } from '../browsing.js'
import { baseUrlOf, displayPath, encodePath, isoTime } from '../urls.js'
import { deployBody } from './artifacts.js'

const PREFIX = '/artifactory/api/storage/'

type StorageQuery = Record<string, string | undefined>

/**
 * Artifactory's storage API (item info, listings, properties, stats) and its quick searches, as
 * the caller may browse them (see {@link RepositoryBrowser}): a virtual repository shows its
 * readable members' files, through the virtual.
 */
export async function storageRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const { repositories, artifacts } = services
  const browser = new RepositoryBrowser(repositories, artifacts)

  const access = async (request: FastifyRequest, guard: AccessGuard) => {
    const target = targetOf(request)
    // Reading needs read somewhere in the repository here; which paths is decided with the item's kind (see readableItem).
    if (request.method === 'GET' || request.method === 'HEAD') return guard.require(request.principal, 'read', target.repoKey)
    await guard.require(request.principal, 'annotate', target.repoKey, target.path)
  }

  app.get<{ Querystring: StorageQuery }>(`${PREFIX}*`, { config: { access } }, async (request, reply) => {
    const target = targetOf(request)
    const query = request.query
    const repository = await repositories.require(target.repoKey)
    const view = await browser.view(repository, readAccessOf(services, request.principal))
    const item = await readableItem(browser, view, request.principal, target.path)
    const base = baseUrlOf(request, services.config.baseUrl)
    const storageUri = `${base}/artifactory/api/storage/${repository.key}/${encodePath(target.path)}`.replace(/\/$/, '')

    if ('properties' in query) {
      const properties = await artifacts.getProperties(item.source.key, target.path)
      const wanted = splitList(query.properties)
      const selected = [...properties].filter(([name]) => wanted.length === 0 || wanted.includes(name))
      if (selected.length === 0) throw notFound('No properties could be found.')
      return { properties: Object.fromEntries(selected), uri: storageUri }
    }

    if ('stats' in query) {
      if (item.kind !== 'file') throw new TroveError('BAD_REQUEST', 'statistics are kept for files, not folders')
      const asset = item.asset
      return {
        uri: storageUri,
        downloadCount: asset.downloadCount,
        lastDownloaded: asset.downloadedAt ?? 0,
        lastDownloadedBy: asset.downloadedBy ?? '',
        remoteDownloadCount: 0,
        remoteLastDownloaded: 0,
      }
    }

    if ('list' in query) {
      if (item.kind !== 'folder') throw new TroveError('BAD_REQUEST', `'${target.path}' is a file; list works on folders`)
      const isDeep = isTrue(query.deep)
      const withFolders = isTrue(query.listFolders)
      const below = isDeep ? await browser.listDeep(view, target.path) : await childItems(browser, view, target.path)
      const relative = (path: string) => `/${target.path === '' ? path : path.slice(target.path.length + 1)}`
      const files = [
        ...(withFolders
          ? below.folders.map((f) => ({ uri: relative(f.path), size: -1, lastModified: isoTime(f.createdAt), folder: true }))
          : []),
        ...below.files.map((f) => ({
          uri: relative(f.path),
          size: f.size,
          lastModified: isoTime(f.modifiedAt),
          folder: false,
          sha1: f.sha1,
          sha2: f.sha256,
        })),
      ].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0))
      return { uri: storageUri, created: isoTime(item.folder.createdAt), files }
    }

    // A virtual's file is shown as the virtual's: its URIs lead through the virtual, which serves this very file.
    if (item.kind === 'file') return fileInfo(base, { ...item.asset, repoKey: repository.key })
    const { folders, files } = await browser.children(view, target.path)
    return folderInfo(storageUri, repository.key, item.folder, [
      ...folders.map((p) => ({ uri: `/${p.slice(p.lastIndexOf('/') + 1)}`, folder: true })),
      ...files.map((f) => ({ uri: `/${f.name}`, folder: false })),
    ])
  })

  // Properties: PUT ?properties=a=1,2|b=3[&recursive=1], DELETE ?properties=a,b[&recursive=1].
  app.put<{ Querystring: StorageQuery }>(`${PREFIX}*`, { config: { access } }, async (request, reply) => {
    const target = targetOf(request)
    if (!('properties' in request.query)) throw new TroveError('BAD_REQUEST', 'use ?properties=name=value[,value][|name=value]')
    const repository = annotatable(await repositories.require(target.repoKey))
    const properties = parsePropertyAssignments(request.query.properties ?? '')
    const { isRecursive, guard } = await propertyChangeReach(services, request, repository, target.path)
    await artifacts.setProperties(repository, target.path, properties, isRecursive, guard)
    return reply.status(204).send()
  })

  app.delete<{ Querystring: StorageQuery }>(`${PREFIX}*`, { config: { access } }, async (request, reply) => {
    const target = targetOf(request)
    if (!('properties' in request.query)) throw new TroveError('BAD_REQUEST', 'use ?properties=name[,name]')
    const repository = annotatable(await repositories.require(target.repoKey))
    const names = splitList(request.query.properties)
    if (names.length === 0) throw new TroveError('BAD_REQUEST', 'name the properties to delete: ?properties=name[,name]')
    const { isRecursive, guard } = await propertyChangeReach(services, request, repository, target.path)
    await artifacts.deleteProperties(repository, target.path, names, isRecursive, guard)
    return reply.status(204).send()
  })

  app.get<{ Querystring: { name?: string; repos?: string } }>(
    '/artifactory/api/search/artifact',
    { config: { access: 'public' } },
    async (request) => {
      const name = request.query.name
      if (!name) throw new TroveError('BAD_REQUEST', 'the name parameter is required, e.g. ?name=*.jar')
      const views = await searchedViews(services, browser, request.principal, splitList(request.query.repos))
      const results = await browser.search(views, (repoKeys, page) => artifacts.search.byName(name, repoKeys, page))
      return { results: results.map((a) => ({ uri: storageUriOf(baseUrlOf(request, services.config.baseUrl), a) })) }
    },
  )

  app.get<{ Querystring: { sha256?: string; sha1?: string; md5?: string; repos?: string } }>(
    '/artifactory/api/search/checksum',
    { config: { access: 'public' } },
    async (request) => {
      const { sha256, sha1, md5 } = request.query
      const [algorithm, value] = sha256 ? (['sha256', sha256] as const) : sha1 ? (['sha1', sha1] as const) : md5 ? (['md5', md5] as const) : []
      if (!algorithm || !value) throw new TroveError('BAD_REQUEST', 'give one of sha256, sha1 or md5')
      const views = await searchedViews(services, browser, request.principal, splitList(request.query.repos))
      const results = await browser.search(views, (repoKeys, page) => artifacts.search.byChecksum(algorithm, value, repoKeys, page))
      return { results: results.map((a) => ({ uri: storageUriOf(baseUrlOf(request, services.config.baseUrl), a) })) }
    },
  )
}

/** The direct children of a folder of a view, folders with their own facts. */
async function childItems(browser: RepositoryBrowser, view: RepositoryView, path: string): Promise<{ folders: Folder[]; files: Asset[] }> {
  const { folders, files } = await browser.children(view, path)
  const infos = await Promise.all(
    folders.map(async (p) => {
      const item = await browser.item(view, p)
      return item?.kind === 'folder' ? item.folder : { repoKey: view.repository.key, path: p, createdAt: 0, createdBy: '' }
    }),
  )
  return { folders: infos, files: [...files] }
}

/**
 * How far a property change reaches: below the item too unless `recursive=0` (Artifactory's
 * default), and then only as far as the caller may annotate all of it (see folderChangeGuard).
 */
async function propertyChangeReach(
  services: CoreServices,
  request: FastifyRequest<{ Querystring: StorageQuery }>,
  repository: Repository,
  path: string,
): Promise<{ isRecursive: boolean; guard: ChangeGuard | undefined }> {
  const isRecursive = isTrue(request.query.recursive ?? '1')
  const guard = isRecursive ? await folderChangeGuard(services.authorizer, request.principal, 'annotate', repository.key, path) : undefined
  return { isRecursive, guard }
}

/** Properties are set on a file where it is stored: a virtual stores none. */
function annotatable(repository: Repository): Repository {
  if (repository.rclass === 'virtual') throw new TroveError('UNSUPPORTED', `'${repository.key}' is virtual; change properties in its member repository`)
  return repository
}

function targetOf(request: FastifyRequest): RawRepositoryPath {
  const url = request.raw.url ?? ''
  const query = url.indexOf('?')
  const pathname = query === -1 ? url : url.slice(0, query)
  if (pathname.includes('//')) throw new TroveError('PATH_INVALID', `path '${pathname}' has an empty segment ('//')`)
  return parseRepositoryPath(pathname.slice(PREFIX.length))
}

function fileInfo(base: string, asset: Asset) {
  const { repo, path, created, createdBy, downloadUri, mimeType, size, checksums, originalChecksums, uri } = deployBody(base, asset)
  return {
    repo,
    path,
    created,
    createdBy,
    lastModified: isoTime(asset.modifiedAt),
    modifiedBy: asset.modifiedBy,
    lastUpdated: isoTime(asset.fetchedAt ?? asset.modifiedAt),
    ...(asset.sourceUrl ? { remoteUrl: asset.sourceUrl } : {}),
    downloadUri,
    mimeType,
    size,
    checksums,
    originalChecksums,
    uri,
  }
}

function folderInfo(uri: string, repoKey: string, folder: Folder, children: { uri: string; folder: boolean }[]) {
  return {
    repo: repoKey,
    path: displayPath(folder.path),
    created: isoTime(folder.createdAt),
    createdBy: folder.createdBy,
    lastModified: isoTime(folder.createdAt),
    modifiedBy: folder.createdBy,
    lastUpdated: isoTime(folder.createdAt),
    children,
    uri,
  }
}

function storageUriOf(base: string, asset: Asset): string {
  return `${base}/artifactory/api/storage/${asset.repoKey}/${encodePath(asset.path)}`
}

/**
 * Artifactory's property syntax: `a=1,2|b=3`; `\` escapes `,`, `|`, `=` and itself. The query
 * string has already been percent-decoded.
 */
export function parsePropertyAssignments(text: string): Map<string, string[]> {
  const properties = new Map<string, string[]>()
  for (const assignment of splitEscaped(text, '|')) {
    if (assignment === '') continue
    const [name, ...rest] = splitEscaped(assignment, '=')
    const key = unescape(name ?? '').trim()
    if (key === '' || rest.length === 0) throw new TroveError('BAD_REQUEST', `bad property assignment '${assignment}': use name=value`)
    const values = splitEscaped(rest.join('='), ',').map(unescape)
    properties.set(key, [...(properties.get(key) ?? []), ...values])
  }
  if (properties.size === 0) throw new TroveError('BAD_REQUEST', 'no properties given: use ?properties=name=value')
  return properties
}

function splitEscaped(text: string, separator: string): string[] {
  const parts: string[] = []
  let current = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[++i]
    } else if (c === separator) {
      parts.push(current)
      current = ''
    } else {
      current += c
    }
  }
  parts.push(current)
  return parts
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1')
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

function isTrue(value: string | undefined): boolean {
  return value === '1' || value === 'true'
}
