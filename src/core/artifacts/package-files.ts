import type { UiPackageFile } from '../../api/packages.js'
import { TroveError } from '../errors.js'
import { readLimited } from '../streams.js'
import type { Repository } from '../repositories/repository-service.js'
import type { ArtifactQueries } from './artifact-queries.js'
import type { Asset } from './artifact-types.js'
import type { RepositoryBrowser, RepositoryView } from './repository-browser.js'

/** What a format's package views read a small file into at most (manifests, image configs). */
export const PACKAGE_TEXT_LIMIT = 4 * 1024 * 1024

/**
 * The files of one repository as one caller may read them, for a format's package views
 * (`Format.packages`): a local or remote repository's own (a remote's: what it has cached), a
 * virtual's merged from the members the caller may read (a path found in several members is the
 * first one's). A file's `repoKey` names the repository that stores it.
 */
export interface PackageFiles {
  readonly repository: Repository
  /** The repositories the files come from, in order (a virtual's readable members; else the repository itself). */
  readonly sourceKeys: readonly string[]
  /** Every readable file below `folder` (`''`: all), at any depth, ordered by path. */
  below(folder: string): Promise<readonly Asset[]>
  /** The readable file at `path`, or `undefined`. */
  file(path: string): Promise<Asset | undefined>
  /** A small file's content as text; `BAD_REQUEST` past `limit` bytes (a file the format expects small, e.g. a manifest). */
  text(asset: Asset, limit?: number): Promise<string>
}

export function packageFiles(browser: RepositoryBrowser, view: RepositoryView, artifacts: ArtifactQueries): PackageFiles {
  let all: Promise<readonly Asset[]> | undefined
  return {
    repository: view.repository,
    sourceKeys: view.sources.map((s) => s.repository.key),
    async below(folder) {
      // One listing per request: the views ask for the whole repository and then for folders of it.
      all ??= browser.listDeep(view, '').then((listed) => listed.files)
      const files = await all
      return folder === '' ? files : files.filter((f) => f.path.startsWith(`${folder}/`))
    },
    async file(path) {
      const item = await browser.item(view, path)
      return item?.kind === 'file' ? item.asset : undefined
    },
    async text(asset, limit = PACKAGE_TEXT_LIMIT) {
      if (asset.size > limit) throw new TroveError('BAD_REQUEST', `'${asset.path}' is larger than ${limit} bytes`)
      const bytes = await readLimited(await artifacts.open(asset), limit, () => new TroveError('BAD_REQUEST', `'${asset.path}' is larger than ${limit} bytes`))
      return bytes.toString('utf8')
    },
  }
}

/** ISO 8601 of a time in milliseconds; `undefined` for none. */
export function isoTime(ms: number | null | undefined): string | undefined {
  return ms === null || ms === undefined ? undefined : new Date(ms).toISOString()
}

/** A file as a version page lists it. */
export function packageFile(asset: Asset): UiPackageFile {
  const downloadedAt = isoTime(asset.downloadedAt)
  const cachedAt = isoTime(asset.fetchedAt)
  return {
    path: asset.path,
    repoKey: asset.repoKey,
    size: asset.size,
    sha256: asset.sha256,
    downloadCount: asset.downloadCount,
    ...(downloadedAt ? { downloadedAt } : {}),
    ...(cachedAt ? { cachedAt } : {}),
  }
}

/** Totals over a version's or a package's files: size, newest change, last download and cache time, downloads. */
export function fileTotals(assets: readonly Asset[]): { size: number; updatedAt: string; downloadedAt?: string; cachedAt?: string; downloadCount: number } {
  let size = 0
  let updated = 0
  let downloaded: number | undefined
  let cached: number | undefined
  let downloadCount = 0
  for (const a of assets) {
    size += a.size
    updated = Math.max(updated, a.modifiedAt)
    downloadCount += a.downloadCount
    if (a.downloadedAt !== null) downloaded = Math.max(downloaded ?? 0, a.downloadedAt)
    if (a.fetchedAt !== null) cached = Math.max(cached ?? 0, a.fetchedAt)
  }
  const downloadedAt = isoTime(downloaded)
  const cachedAt = isoTime(cached)
  return { size, updatedAt: new Date(updated).toISOString(), downloadCount, ...(downloadedAt ? { downloadedAt } : {}), ...(cachedAt ? { cachedAt } : {}) }
}
