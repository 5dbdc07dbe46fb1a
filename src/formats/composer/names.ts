/** Composer's package name rule (its JSON schema): `vendor/package`, lower case. */
const PACKAGE_NAME = /^[a-z0-9]([_.-]?[a-z0-9]+)*\/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*$/

/** Whether `name` is a valid Composer package name (`vendor/package`). */
export function isPackageName(name: string): boolean {
  return name.length <= 200 && PACKAGE_NAME.test(name)
}

/** Where a local repository keeps an archive: `<vendor>/<package>/<version>/<package>-<version>.zip`. */
export function archivePath(name: string, version: string): string {
  return `${name}/${version}/${name.split('/')[1]}-${version}.zip`
}

/** Where a remote repository caches an upstream archive. */
export function remoteDistPath(name: string, version: string): string {
  return `${DIST_FOLDER}/${archivePath(name, version)}`
}

/** A remote's cached dists, and its cached upstream documents, live under these folders. */
export const DIST_FOLDER = '.composer/dist'
export const UPSTREAM_FOLDER = '.composer/upstream'

/** The package a stored path belongs to (`vendor/pkg/…` or a remote's `.composer/dist/vendor/pkg/…`), if any. */
export function packageOfPath(path: string): { name: string; version: string } | undefined {
  const rest = path.startsWith(`${DIST_FOLDER}/`) ? path.slice(DIST_FOLDER.length + 1) : path
  const segments = rest.split('/')
  if (segments.length !== 4 || !segments[3]!.endsWith('.zip')) return undefined
  const name = `${segments[0]}/${segments[1]}`
  return isPackageName(name) ? { name, version: segments[2]! } : undefined
}

/** `p2/<vendor>/<package>.json` or `…~dev.json` → the package and which file. */
export function parseMetadataPath(path: string): { name: string; dev: boolean } | undefined {
  const match = /^p2\/([^/]+\/[^/]+?)(~dev)?\.json$/.exec(path)
  if (!match || !isPackageName(match[1]!)) return undefined
  return { name: match[1]!, dev: match[2] !== undefined }
}
