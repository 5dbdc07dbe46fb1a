import type { Readable } from 'node:stream'
import type { BlobInfo } from '../blobs/blob-store.js'
import type { ExpectedChecksums } from '../digest.js'

/** A file in a repository: a path pointing at a blob, with its bookkeeping. */
export interface Asset {
  readonly repoKey: string
  readonly path: string
  readonly name: string
  readonly sha256: string
  readonly sha1: string
  readonly md5: string
  readonly size: number
  readonly contentType: string
  readonly originalChecksums: Readonly<Partial<Record<'sha256' | 'sha1' | 'md5', string>>>
  readonly createdAt: number
  readonly createdBy: string
  readonly modifiedAt: number
  readonly modifiedBy: string
  readonly downloadedAt: number | null
  readonly downloadedBy: string | null
  readonly downloadCount: number
  /** For files cached by a remote repository: the upstream URL, and when it was fetched or last re-checked. */
  readonly sourceUrl: string | null
  readonly fetchedAt: number | null
}

/** A file found for a download: stored (or cached), or streaming in from an upstream as it is cached. */
export type FoundFile =
  | { readonly kind: 'file'; readonly asset: Asset }
  | { readonly kind: 'stream'; readonly stream: Readable; readonly size: number | undefined; readonly contentType: string }

export interface Folder {
  readonly repoKey: string
  readonly path: string
  readonly createdAt: number
  readonly createdBy: string
}

export type Item = { readonly kind: 'file'; readonly asset: Asset } | { readonly kind: 'folder'; readonly folder: Folder }

export type Properties = ReadonlyMap<string, readonly string[]>

export interface DeployOptions {
  readonly user: string
  readonly contentType: string
  readonly expected?: ExpectedChecksums | undefined
  readonly properties?: Properties | undefined
  readonly signal?: AbortSignal | undefined
  /** The length the client announced (an upload's Content-Length): checked against the quota before any byte is stored. */
  readonly declaredSize?: number | undefined
  /** Set by remote repositories for what they cache. */
  readonly source?: { readonly url: string; readonly fetchedAt: number } | undefined
}

export interface Children {
  readonly folders: readonly string[]
  readonly files: readonly Asset[]
}

/** A file to record for a blob that is already in the blob store. */
export interface StoredAsset {
  readonly path: string
  /** The blob: its full info when the caller just stored it, or only its sha256 when it is known already. */
  readonly blob: BlobInfo | { readonly sha256: string }
  readonly contentType: string
  readonly properties?: Properties | undefined
}

/** Changes to several files of one repository, applied together by {@link ArtifactService.applyChanges}. */
export interface AssetChanges {
  /** Folders whose files (direct children only, not subfolders) are removed. */
  readonly clearFolders?: readonly string[]
  readonly removeFiles?: readonly string[]
  /** Files recorded (created or replaced) after the removals. */
  readonly put?: readonly StoredAsset[]
  /** Paths that must not exist when the change commits (a format that never overwrites): else `CONFLICT` and nothing changes. */
  readonly mustNotExist?: readonly string[]
  /**
   * Upload sessions (of this repository) whose blob the change records: they end in the same
   * transaction, and the bytes they counted against the quota are released by it, so the blob is
   * never counted twice (see core/uploads/upload-service.ts).
   */
  readonly finishUploads?: readonly string[]
  /**
   * A deletion (a version or tag removed by its owner or a cleanup policy, not a file replaced by
   * a push): the `removeFiles` go to the trash can, as {@link ArtifactService.delete}'s do, when it
   * keeps the repository's deletes; `user` is recorded as who deleted them.
   */
  readonly trashRemoved?: { readonly user: string } | undefined
}

/** Which files {@link ArtifactService.findFiles} returns: every condition given must hold. */
export interface FileQuery {
  readonly repoKeys: readonly string[]
  /** Only files strictly below this folder (at any depth). */
  readonly below?: string | undefined
  readonly names?: readonly string[] | undefined
  readonly sha256?: readonly string[] | undefined
  readonly paths?: readonly string[] | undefined
}

/** Downloads counted in memory and recorded in one go (core/remote/downloads.ts). */
export interface DownloadCount {
  readonly repoKey: string
  readonly path: string
  readonly count: number
  readonly at: number
  readonly user: string
}

/**
 * Limits a change that reaches many items (everything below a folder) to what the caller may
 * change: the change goes through whole or, when one item it would touch is outside, not at all.
 */
export interface ChangeGuard {
  /** Whether the caller may change the item (file or folder) at `path`. */
  allows(path: string): boolean
  /** What the whole change fails with when an item it would touch is not allowed. */
  refusal(): Error
}

/** Where a page of search results starts: after this file, in (repository, path) order. */
export interface SearchPage {
  readonly after?: { readonly repoKey: string; readonly path: string } | undefined
  readonly limit: number
}
