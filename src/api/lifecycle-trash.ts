/**
 * The trash can as Artifactory answers it (docs/lifecycle.md): listed with the storage API under
 * the `auto-trashcan` repository (`GET /artifactory/api/storage/auto-trashcan/<repo>/<path>`),
 * `POST /artifactory/api/trash/restore/<repo>/<path>?to=<repo>/<path>`,
 * `DELETE /artifactory/api/trash/clean/<repo>/<path>`, `POST /artifactory/api/trash/empty`.
 */
import type { Checksums } from './storage.js'

/** A trashed file, as the storage API shows it; its `trash.*` properties say where it was and who deleted it when. */
export interface TrashFileInfo {
  readonly repo: 'auto-trashcan'
  /** `/<original repo>/<original path>`. */
  readonly path: string
  readonly created: string
  readonly createdBy: string
  readonly lastModified: string
  readonly modifiedBy: string
  readonly size: string
  readonly mimeType: string
  readonly checksums: Checksums
  readonly originalChecksums: Checksums
  readonly uri: string
  /** `trash.time` (ISO), `trash.deletedBy`, `trash.originalRepository`, `trash.originalPath`, `trash.expiresAt` (ISO), and the file's own. */
  readonly properties: Readonly<Record<string, readonly string[]>>
}

export interface TrashFolderInfo {
  readonly repo: 'auto-trashcan'
  readonly path: string
  readonly children: readonly { readonly uri: string; readonly folder: boolean }[]
  readonly uri: string
}

/** `POST /artifactory/api/trash/restore/…`: what was restored, and where. */
export interface TrashRestoreResult {
  readonly message: string
  readonly restored: readonly string[]
}

/** `DELETE /artifactory/api/trash/clean/…` and `POST /artifactory/api/trash/empty`. */
export interface TrashRemoveResult {
  readonly files: number
  readonly bytes: number
}
