/**
 * What the routes that browse (the storage API, the HTML folder listing, the quick searches)
 * share: one rule for what a caller may see, as {@link RepositoryBrowser} applies it.
 */
import type { RepositoryBrowser, ReadAccess, RepositoryView, ViewItem } from '../core/artifacts/repository-browser.js'
import type { PathAccess } from '../core/auth/path-access.js'
import type { Principal } from '../core/auth/principal.js'
import { notFound } from '../core/errors.js'
import type { Repository } from '../core/repositories/repository-service.js'
import type { CoreServices } from '../core/services.js'
import { actionRefusal } from './access.js'

/** The caller's read access to each repository's paths, asked once per repository (`known`: already asked). */
export function readAccessOf(services: CoreServices, principal: Principal, known?: { readonly repoKey: string; readonly access: PathAccess }): ReadAccess {
  const asked = new Map<string, Promise<PathAccess>>()
  if (known) asked.set(known.repoKey, Promise.resolve(known.access))
  return (repoKey) => {
    let access = asked.get(repoKey)
    if (!access) asked.set(repoKey, (access = services.authorizer.pathAccess(principal, 'read', repoKey)))
    return access
  }
}

/**
 * The item at `path` of a view. Where the caller may not read, the refusal (DENIED) comes whether
 * or not something is there, so that it tells nothing about what is; a folder may be read when
 * something in it may be.
 */
export async function readableItem(browser: RepositoryBrowser, view: RepositoryView, principal: Principal, path: string): Promise<ViewItem> {
  const { access, repository } = view
  if (!access.file(path) && !access.folder(path)) throw actionRefusal(principal, 'read', repository.key, path)
  const item = await browser.item(view, path)
  const isReadable = item?.kind === 'folder' ? access.folder(path) : access.file(path)
  if (!isReadable) throw actionRefusal(principal, 'read', repository.key, path)
  if (!item) throw notFound(`'${repository.key}/${path}' does not exist`)
  return item
}

/**
 * What a search looks in: the repositories named (a virtual: its readable members' files, shown
 * through it), or, without names, every repository's own files (a virtual has none of its own:
 * its members' are found in them).
 */
export async function searchedViews(services: CoreServices, browser: RepositoryBrowser, principal: Principal, named: readonly string[]): Promise<RepositoryView[]> {
  const keys = [...new Set(named)]
  const candidates =
    keys.length > 0
      ? (await Promise.all(keys.map((key) => services.repositories.get(key)))).filter((r): r is Repository => r !== undefined)
      : (await services.repositories.list()).filter((r) => r.rclass !== 'virtual')
  const readAccess = readAccessOf(services, principal)
  return Promise.all(candidates.map((repository) => browser.view(repository, readAccess)))
}
