/**
 * How images appear as files in a repository, the way Artifactory users browse them:
 *
 * ```
 * <image>/<tag>/manifest.json             an image manifest (list.manifest.json for an index)
 * <image>/<tag>/sha256__<hex>             its config and layers
 * <image>/sha256__<hex>/manifest.json     a manifest no tag points at (index children, referrers,
 *                                         a manifest whose tag moved on), with its blobs beside it
 * <image>/_uploads/sha256__<hex>          a blob pushed but not yet referenced by a manifest
 * ```
 *
 * These assets are the registry's only record of tags, manifests and which blobs an image holds,
 * so the storage API, searches, repository sizes and garbage collection see exactly what clients
 * see, and deleting a folder through the REST API deletes the tag or image.
 */
export const MANIFEST_FILE = 'manifest.json'
export const INDEX_FILE = 'list.manifest.json'
export const MANIFEST_FILES: readonly string[] = [MANIFEST_FILE, INDEX_FILE]
export const UPLOADS_FOLDER = '_uploads'
const DIGEST_PREFIX = 'sha256__'

export function tagFolder(image: string, tag: string): string {
  return `${image}/${tag}`
}

export function digestFolder(image: string, hex: string): string {
  return `${image}/${DIGEST_PREFIX}${hex}`
}

export function blobFileName(hex: string): string {
  return `${DIGEST_PREFIX}${hex}`
}

export function uploadedBlobPath(image: string, hex: string): string {
  return `${image}/${UPLOADS_FOLDER}/${blobFileName(hex)}`
}

/**
 * Whether a file of an image folder is a blob the image holds. Chunks of uploads in progress are
 * no files (core/uploads); before they were, they sat in the uploads folder without the digest
 * prefix, and migration 20261207-uploads-sessions removed them.
 */
export function isHeldBlobFile(folderName: string, fileName: string): boolean {
  return folderName !== UPLOADS_FOLDER || fileName.startsWith(DIGEST_PREFIX)
}

/** Tags that would collide with the layout's own folder names. */
export function isReservedTag(tag: string): boolean {
  return tag === UPLOADS_FOLDER || tag.startsWith(DIGEST_PREFIX)
}

/** The tag a manifest folder stands for, or `undefined` for a digest or uploads folder. */
export function tagOfFolder(folderName: string): string | undefined {
  return isReservedTag(folderName) ? undefined : folderName
}

/**
 * The folder's name when `folder` is a direct child of the image folder (a tag, digest or uploads
 * folder of this image and not of an image nested below it), else `undefined`.
 */
export function childOfImage(image: string, folder: string): string | undefined {
  if (!folder.startsWith(`${image}/`)) return undefined
  const name = folder.slice(image.length + 1)
  return name === '' || name.includes('/') ? undefined : name
}

/** Bounds of every path strictly below `folder`: `[folder/, folder0)` (`0` follows `/`). */
export function below(folder: string): { readonly from: string; readonly to: string } {
  return { from: `${folder}/`, to: `${folder}0` }
}
