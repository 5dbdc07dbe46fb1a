import type { ArtifactService } from '../artifacts/artifact-service.js'
import { TroveError, conflict, notFound } from '../errors.js'
import type { Repository } from '../repositories/repository-service.js'
import type { TrashCan, TrashedFile } from './trash.js'

/** Where a restore puts what it takes out of the trash. */
export interface RestoreTarget {
  readonly repository: Repository
  /** The path of the restored file, or of the folder the restored folder's files go below (`''`: the root). */
  readonly path: string
}

/** Files restored: where each now is, so the format can regenerate its metadata. */
export interface RestoredFile {
  readonly repository: Repository
  readonly path: string
}

/**
 * Puts trashed files back (`POST /api/trash/restore/<repo>/<path>?to=<repo>/<path>`): each file is
 * recorded again, pointing at the very blob it had (the restored file is byte-identical), with its
 * properties, through the artifact service's normal write (paths checked, quota charged to the
 * target's project), then leaves the trash (the quota releases the trash's copy). A file that
 * already exists at the target is a conflict, and nothing is restored. The caller checks the
 * principal's rights and lets the format regenerate its metadata for each restored file.
 */
export class TrashRestorer {
  constructor(
    private readonly trash: Pick<TrashCan, 'get' | 'below' | 'remove'>,
    private readonly artifacts: Pick<ArtifactService, 'getItem' | 'deployBlob'>,
  ) {}

  /** What restoring `repoKey/path` would take out of the trash: the file, or the files below the folder. */
  async selection(repoKey: string, path: string): Promise<{ kind: 'file' | 'folder'; files: TrashedFile[] }> {
    const file = path === '' ? undefined : await this.trash.get(repoKey, path)
    if (file) return { kind: 'file', files: [file] }
    const files: TrashedFile[] = []
    for await (const page of this.trash.below(repoKey, path)) files.push(...page)
    if (files.length === 0) throw notFound(`'${repoKey}/${path}' is not in the trash can`)
    return { kind: 'folder', files }
  }

  async restore(repoKey: string, path: string, target: RestoreTarget, user: string): Promise<RestoredFile[]> {
    const { kind, files } = await this.selection(repoKey, path)
    const destinationOf = (file: TrashedFile) => {
      if (kind === 'file') return target.path
      const rest = path === '' ? file.path : file.path.slice(path.length + 1)
      return target.path === '' ? rest : `${target.path}/${rest}`
    }
    if (files.some((file) => destinationOf(file) === '')) throw new TroveError('PATH_INVALID', 'a file needs a path inside the repository: give ?to=<repo>/<path>')
    // Checked up front so that a clash restores nothing rather than half the folder.
    for (const file of files) {
      const existing = await this.artifacts.getItem(target.repository, destinationOf(file))
      if (existing) throw conflict(`'${target.repository.key}/${destinationOf(file)}' already exists; delete it or restore elsewhere (?to=)`)
    }
    const restored: RestoredFile[] = []
    for (const file of files) {
      const destination = destinationOf(file)
      await this.artifacts.deployBlob(
        target.repository,
        destination,
        { sha256: file.sha256, sha1: file.sha1, md5: file.md5, size: file.size },
        { user, contentType: file.contentType, properties: file.properties },
      )
      await this.trash.remove(file.repoKey, file.path, undefined, true)
      restored.push({ repository: target.repository, path: destination })
    }
    return restored
  }
}
