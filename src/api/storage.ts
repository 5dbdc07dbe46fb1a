/** Artifactory's storage and search APIs as Trove answers them (`/artifactory/api/storage/…`, `/artifactory/api/search/…`). */

export interface Checksums {
  readonly sha1?: string
  readonly sha256?: string
  readonly md5?: string
}

/** `GET /artifactory/api/storage/{repo}/{path}`: a file's or a folder's facts. */
export interface StorageItem {
  readonly repo: string
  /** `/a/b`, `/` for the root. */
  readonly path: string
  readonly created: string
  readonly createdBy: string
  readonly lastModified: string
  readonly modifiedBy: string
  readonly lastUpdated?: string
  readonly uri: string
  /** Folders only: the children, `uri` being `/<name>`. */
  readonly children?: readonly { readonly uri: string; readonly folder: boolean }[]
  /** Files only, from here down. The size in bytes, as a string (Artifactory's). */
  readonly size?: string
  readonly mimeType?: string
  readonly downloadUri?: string
  readonly checksums?: Checksums
  readonly originalChecksums?: Checksums
  /** A remote repository's cached file: where it came from. */
  readonly remoteUrl?: string
}

/** `GET …/{path}?stats`. */
export interface StorageStats {
  readonly uri: string
  readonly downloadCount: number
  /** Epoch milliseconds; 0 when never downloaded. */
  readonly lastDownloaded: number
  readonly lastDownloadedBy: string
}

/** `GET …/{path}?properties[=name,…]`. */
export interface StorageProperties {
  readonly properties: Readonly<Record<string, readonly string[]>>
  readonly uri: string
}

/** `GET /artifactory/api/search/artifact?name=…` and `…/search/checksum?sha256=…`: storage URIs of what was found. */
export interface SearchResults {
  readonly results: readonly { readonly uri: string }[]
}

/** `GET /artifactory/api/storageinfo` (admins). */
export interface StorageInfo {
  readonly repositoriesSummaryList: readonly {
    readonly repoKey: string
    /** The class in upper case: `LOCAL`, `REMOTE`, `VIRTUAL`. */
    readonly repoType: string
    readonly packageType: string
    readonly filesCount: number
    readonly usedSpaceInBytes: number
  }[]
  readonly fileStoreSummary: { readonly storageType: string }
  readonly totals: { readonly filesCount: number; readonly usedSpaceInBytes: number }
}
