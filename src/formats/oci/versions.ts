import { nameOf, parentOf, readLimited, type FormatContext, type PackageVersion, type PackageVersions } from '../../core/index.js'
import { INDEX_FILE, MANIFEST_FILES, UPLOADS_FOLDER, tagOfFolder } from './layout.js'
import { MAX_MANIFEST_BYTES, indexEntries } from './manifests.js'

/**
 * Images as cleanup policies and immutability rules see them (layout.ts): a version is a tag
 * (its folder: manifest and blobs); a digest folder (an index's child, a manifest whose tag moved
 * on) is a unit no rule selects, kept while a kept index names it. An index keeps the folders
 * that hold its children, tagged or not, so a kept multi-arch tag is never broken. Deleting a
 * tag clears its folder (and the untagged children only it kept) in one change of files.
 */
export function ociVersions(services: FormatContext): PackageVersions {
  return {
    async list(_repository, files) {
      const byFolder = new Map<string, string[]>()
      for (const file of files) {
        const folder = parentOf(file.path)
        const paths = byFolder.get(folder)
        if (paths) paths.push(file.path)
        else byFolder.set(folder, [file.path])
      }
      const units = new Map<string, PackageVersion & { keeps: string[] }>()
      const holders = new Map<string, string[]>() // image + manifest digest → folders holding it
      const indexes: { folder: string; image: string; hex: string }[] = []
      for (const file of files) {
        if (!MANIFEST_FILES.includes(nameOf(file.path))) continue
        const folder = parentOf(file.path)
        const name = nameOf(folder)
        if (folder === '' || name === UPLOADS_FOLDER || units.has(folder)) continue
        const image = parentOf(folder)
        const tag = tagOfFolder(name)
        units.set(folder, { id: folder, package: image, version: tag ?? name, paths: byFolder.get(folder) ?? [], selectable: tag !== undefined, keeps: [] })
        const key = `${image}\0${file.sha256}`
        holders.set(key, [...(holders.get(key) ?? []), folder])
        if (nameOf(file.path) === INDEX_FILE) indexes.push({ folder, image, hex: file.sha256 })
      }
      for (const index of indexes) {
        const bytes = await readLimited(await services.blobs.open(index.hex), MAX_MANIFEST_BYTES, () => new Error(`manifest sha256:${index.hex} is larger than ${MAX_MANIFEST_BYTES} bytes`))
        for (const child of indexEntries(bytes)) units.get(index.folder)!.keeps.push(...(holders.get(`${index.image}\0${child.hex}`) ?? []))
      }
      return [...units.values()]
    },
    versionOf(path) {
      const folder = parentOf(path)
      const tag = tagOfFolder(nameOf(folder))
      // A tag folder is `<image>/<tag>`: one below an image, never at the root.
      return !folder.includes('/') || tag === undefined ? undefined : { package: parentOf(folder), version: tag }
    },
    async delete(repository, units, user) {
      await services.artifacts.applyChanges(repository, { clearFolders: units.map((u) => u.id) }, user)
    },
  }
}
