import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TrashFileInfo, TrashFolderInfo, TrashRemoveResult, TrashRestoreResult } from '../../api/lifecycle-trash.js'
import type { PlainLayout } from '../../core/artifacts/plain-layout.js'
import { principalName } from '../../core/auth/principal.js'
import { TroveError, notFound } from '../../core/errors.js'
import { TRASHCAN_KEY, type TrashedFile } from '../../core/lifecycle/trash.js'
import { TrashRestorer } from '../../core/lifecycle/trash-restore.js'
import { parseRepositoryPath, type RawRepositoryPath } from '../../core/paths.js'
import type { CoreServices } from '../../core/services.js'
import { actionRefusal, type AccessGuard } from '../access.js'
import { baseUrlOf, displayPath, encodePath, isoTime } from '../urls.js'

const STORAGE = `/artifactory/api/storage/${TRASHCAN_KEY}`
const RESTORE = '/artifactory/api/trash/restore/'
const CLEAN = '/artifactory/api/trash/clean/'
const DAY_MS = 24 * 3600 * 1000

/**
 * The trash can's REST API, Artifactory's (docs/lifecycle.md). Listing shows what the caller may
 * read of the original repositories; a restore needs the right to delete the trashed path (who
 * could delete it may bring it back) and to deploy at the target; cleaning and emptying are for
 * admins. A restored file's format regenerates its metadata (`PlainLayout.changed`).
 */
export async function lifecycleTrashRoutes(app: FastifyInstance, services: CoreServices, layouts: ReadonlyMap<string, PlainLayout>): Promise<void> {
  const { trash, repositories, authorizer } = services
  const restorer = new TrashRestorer(trash, services.artifacts)

  const list = async (request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
    const base = baseUrlOf(request, services.config.baseUrl)
    const rest = pathAfter(request, STORAGE)
    const uri = `${base}${STORAGE}${rest === '' ? '' : `/${rest}`}`
    if (rest === '') {
      const keys = [...(await authorizer.readableRepositories(request.principal, await trash.repositories()))].sort()
      return folder(uri, '', keys.map((key) => ({ uri: `/${key}`, folder: true })))
    }
    const target = parseRepositoryPath(rest)
    if (!(await authorizer.can(request.principal, 'read', target.repoKey, target.path || undefined))) throw actionRefusal(request.principal, 'read', target.repoKey, target.path)
    const file = target.path === '' ? undefined : await trash.get(target.repoKey, target.path)
    if (file) {
      const info = fileInfo(base, file, services.trash.settings.retentionPeriodDays)
      return 'properties' in request.query ? { properties: info.properties, uri } : info
    }
    if (!(await trash.has(target.repoKey, target.path))) throw notFound(`'${target.repoKey}/${target.path}' is not in the trash can`)
    if ('list' in request.query) {
      const files: { uri: string; size: number; lastModified: string; folder: boolean; sha1: string; sha2: string }[] = []
      const isDeep = request.query.deep === '1' || request.query.deep === 'true'
      const prefix = target.path === '' ? '' : `${target.path}/`
      for await (const page of trash.below(target.repoKey, target.path)) {
        for (const f of page) {
          const relative = f.path.slice(prefix.length)
          if (!isDeep && relative.includes('/')) continue
          files.push({ uri: `/${relative}`, size: f.size, lastModified: isoTime(f.deletedAt), folder: false, sha1: f.sha1, sha2: f.sha256 })
        }
      }
      return { uri, files }
    }
    const children = await trash.children(target.repoKey, target.path)
    return folder(uri, `${target.repoKey}/${target.path}`, [
      ...children.folders.map((p) => ({ uri: `/${p.slice(p.lastIndexOf('/') + 1)}`, folder: true })),
      ...children.files.map((f) => ({ uri: `/${f.path.slice(f.path.lastIndexOf('/') + 1)}`, folder: false })),
    ])
  }
  app.get(STORAGE, { config: { access: 'authenticated' } }, list)
  app.get(`${STORAGE}/*`, { config: { access: 'authenticated' } }, list)

  // Who could delete the file may restore it; the target needs the right to deploy there.
  const restoreAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const source = parseRepositoryPath(pathAfter(request, RESTORE))
    await guard.require(request.principal, 'delete', source.repoKey, source.path || undefined)
    const to = destinationOf(request, source)
    await guard.require(request.principal, 'deploy', to.repoKey, to.path || undefined)
  }
  app.post(
    `${RESTORE}*`,
    { config: { access: restoreAccess, audit: { action: 'trash.restore', target: (request) => pathAfter(request, RESTORE) } } },
    async (request) => {
      const source = parseRepositoryPath(pathAfter(request, RESTORE))
      const to = destinationOf(request, source)
      const target = await repositories.require(to.repoKey)
      if (target.rclass !== 'local' && target.rclass !== 'federated') throw new TroveError('UNSUPPORTED', `'${target.key}' is ${target.rclass}: restore into a local repository`)
      const layout = layouts.get(target.packageType)
      if (!layout) {
        // Its files are what its own protocol made of a publish, indexed in its own tables.
        throw new TroveError('UNSUPPORTED', `'${target.key}' is a ${target.packageType} repository: its files cannot be restored from the trash can`)
      }
      const restored = await restorer.restore(source.repoKey, source.path, { repository: target, path: to.path }, principalName(request.principal))
      for (const file of restored) await layout.changed?.(file.repository, file.path, 'deployed')
      request.log.info({ from: `${source.repoKey}/${source.path}`, to: `${to.repoKey}/${to.path}`, files: restored.length }, 'restored from the trash can')
      return { message: 'Successfully restored trash items', restored: restored.map((f) => `${f.repository.key}/${f.path}`) } satisfies TrashRestoreResult
    },
  )

  app.delete(
    `${CLEAN}*`,
    { config: { access: 'admin', audit: { action: 'trash.clean', target: (request) => pathAfter(request, CLEAN) } } },
    async (request) => {
      const source = parseRepositoryPath(pathAfter(request, CLEAN))
      if (!(await trash.has(source.repoKey, source.path))) throw notFound(`'${source.repoKey}/${source.path}' is not in the trash can`)
      return (await trash.remove(source.repoKey, source.path, 'trash')) satisfies TrashRemoveResult
    },
  )

  app.post('/artifactory/api/trash/empty', { config: { access: 'admin', audit: { action: 'trash.empty', target: () => TRASHCAN_KEY } } }, async () => (await trash.empty()) satisfies TrashRemoveResult)
}

/** The raw (still percent-encoded) rest of the URL path after `prefix`, without slashes around it. */
function pathAfter(request: FastifyRequest, prefix: string): string {
  const url = request.raw.url ?? ''
  const query = url.indexOf('?')
  const pathname = query === -1 ? url : url.slice(0, query)
  if (!pathname.startsWith(prefix)) return ''
  const rest = pathname.slice(prefix.length).replace(/^\/+/, '')
  if (rest.includes('//')) throw new TroveError('PATH_INVALID', `path '${pathname}' has an empty segment ('//')`)
  return rest.replace(/\/$/, '')
}

/** `?to=<repo>/<path>`; without it, where the file was. */
function destinationOf(request: FastifyRequest, source: RawRepositoryPath): RawRepositoryPath {
  const to = (request.query as Record<string, unknown>).to
  if (to === undefined) return source
  if (typeof to !== 'string' || to.replace(/^\/+/, '') === '') throw new TroveError('BAD_REQUEST', 'to= must name a repository and an optional path: ?to=<repo>/<path>')
  return parseRepositoryPath(to.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/'))
}

function folder(uri: string, path: string, children: TrashFolderInfo['children']): TrashFolderInfo {
  return { repo: TRASHCAN_KEY, path: displayPath(path), children, uri }
}

function fileInfo(base: string, file: TrashedFile, retentionDays: number): TrashFileInfo {
  return {
    repo: TRASHCAN_KEY,
    path: displayPath(`${file.repoKey}/${file.path}`),
    created: isoTime(file.createdAt),
    createdBy: file.createdBy,
    lastModified: isoTime(file.modifiedAt),
    modifiedBy: file.modifiedBy,
    size: String(file.size),
    mimeType: file.contentType,
    checksums: { sha1: file.sha1, md5: file.md5, sha256: file.sha256 },
    originalChecksums: file.originalChecksums,
    uri: `${base}${STORAGE}/${file.repoKey}/${encodePath(file.path)}`,
    properties: {
      ...Object.fromEntries(file.properties),
      'trash.time': [isoTime(file.deletedAt)],
      'trash.deletedBy': [file.deletedBy],
      'trash.originalRepository': [file.repoKey],
      'trash.originalPath': [file.path],
      'trash.expiresAt': [isoTime(file.deletedAt + retentionDays * DAY_MS)],
    },
  }
}
