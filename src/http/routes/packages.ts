import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { UiRepositoryActions } from '../../api/ui.js'
import type { UiPackage, UiPackageList, UiPackageSummary, UiPackageVersion } from '../../api/packages.js'
import { RepositoryBrowser } from '../../core/artifacts/repository-browser.js'
import { packageFiles, type PackageFiles } from '../../core/artifacts/package-files.js'
import { ACTIONS } from '../../core/auth/principal.js'
import { TroveError, notFound } from '../../core/errors.js'
import type { CoreServices } from '../../core/services.js'
import type { Format, PackageViews } from '../../formats/format.js'
import type { AccessRule } from '../access.js'
import { readAccessOf } from '../browsing.js'
import { baseUrlOf } from '../urls.js'

type Params = { key: string }
type Query = { name?: string; version?: string; q?: string; sort?: string }

const SORTS = ['name', 'updated'] as const
const MAX_NAME = 1024

/**
 * The console's package views (issue #18 item 1): a repository's packages, a package's versions
 * and a version, as the repository's format reads them from the files the caller may read (a
 * virtual's merged members, a remote's cache). Formats without views answer `supported: false`
 * for the list and 404 for the rest: the console shows their file tree.
 */
export async function packageRoutes(app: FastifyInstance, services: CoreServices, formats: readonly Format[], views: ReadonlyMap<string, PackageViews>): Promise<void> {
  const browser = new RepositoryBrowser(services.repositories, services.artifacts, services.resolution)
  const readable: { access: AccessRule } = { access: async (request, guard) => guard.require(request.principal, 'read', (request.params as Params).key) }

  async function open(request: FastifyRequest<{ Params: Params }>): Promise<{ files: PackageFiles; views?: PackageViews; noun: string }> {
    const repository = await services.repositories.require(request.params.key)
    const format = formats.find((f) => f.id === repository.packageType)
    const view = await browser.view(repository, readAccessOf(services, request.principal))
    return { files: packageFiles(browser, view, services.artifacts), views: views.get(repository.packageType), noun: format?.console?.packageNoun ?? 'package' }
  }

  const shown = (files: PackageFiles, noun: string) => ({ repoKey: files.repository.key, rclass: files.repository.rclass, noun })

  // What the caller may do in the repository (at a path), so that the console offers only those controls.
  app.get<{ Params: Params; Querystring: { path?: string } }>('/api/v1/ui/repositories/:key/actions', { config: readable }, async (request) => {
    const repository = await services.repositories.require(request.params.key)
    const path = request.query.path || undefined
    const allowed = await Promise.all(ACTIONS.map((action) => services.authorizer.can(request.principal, action, repository.key, path)))
    return { actions: ACTIONS.filter((_, i) => allowed[i]) } satisfies UiRepositoryActions
  })

  app.get<{ Params: Params; Querystring: Query }>('/api/v1/ui/repositories/:key/packages', { config: readable }, async (request) => {
    const sort = request.query.sort ?? 'name'
    if (!(SORTS as readonly string[]).includes(sort)) throw new TroveError('BAD_REQUEST', `sort must be one of ${SORTS.join(', ')}, not '${sort}'`)
    const { files, views, noun } = await open(request)
    const q = (request.query.q ?? '').trim().toLowerCase()
    let packages: UiPackageSummary[] = views ? await views.list(files) : []
    if (q) packages = packages.filter((p) => p.name.toLowerCase().includes(q))
    packages.sort(sort === 'updated' ? (a, b) => b.updatedAt.localeCompare(a.updatedAt) || a.name.localeCompare(b.name) : (a, b) => a.name.localeCompare(b.name))
    return { ...shown(files, noun), supported: views !== undefined, packages } satisfies UiPackageList
  })

  app.get<{ Params: Params; Querystring: Query }>('/api/v1/ui/repositories/:key/package', { config: readable }, async (request) => {
    const name = required(request.query, 'name')
    const { files, views, noun } = await open(request)
    const found = await views?.package(files, name)
    if (!found) throw notFound(`no ${noun} '${name}' in '${files.repository.key}' that you may read`)
    return { ...shown(files, noun), ...found } satisfies UiPackage
  })

  app.get<{ Params: Params; Querystring: Query }>('/api/v1/ui/repositories/:key/package-version', { config: readable }, async (request) => {
    const name = required(request.query, 'name')
    const version = required(request.query, 'version')
    const { files, views, noun } = await open(request)
    const principal = request.principal
    const setup = { key: files.repository.key, rclass: files.repository.rclass, baseUrl: baseUrlOf(request, services.config.baseUrl), user: principal.kind === 'user' ? principal.name : 'anonymous' }
    const found = await views?.version(files, name, version, setup)
    if (!found) throw notFound(`no version '${version}' of the ${noun} '${name}' in '${files.repository.key}' that you may read`)
    return { ...shown(files, noun), ...found } satisfies UiPackageVersion
  })
}

function required(query: Query, field: 'name' | 'version'): string {
  const value = query[field]
  if (typeof value !== 'string' || value === '') throw new TroveError('BAD_REQUEST', `the query parameter '${field}' is required`)
  if (value.length > MAX_NAME) throw new TroveError('BAD_REQUEST', `'${field}' is longer than ${MAX_NAME} characters`)
  return value
}
