/**
 * The console's package views (issue #18 item 1), format-neutral: a repository's packages, a
 * package's versions and one version's details. Each format fills them through its
 * `Format.packages` hook; the console renders what it gets (labels, sections) and holds no
 * package type. Shared by the server and the console (`web/`).
 */
import type { Snippet } from './formats.js'

/** One package of a repository: `GET /api/v1/ui/repositories/{key}/packages`. */
export interface UiPackageSummary {
  /** As the format names it: `app/web`, `@scope/name`. */
  readonly name: string
  /** The version the format calls latest (a `latest` tag, the newest upload). */
  readonly latestVersion?: string
  readonly versionCount: number
  /** ISO 8601: when the newest of its files was stored. */
  readonly updatedAt: string
  /** Bytes of its files. */
  readonly size: number
  /** ISO 8601, remote repositories: when the newest of its files was cached from the upstream. */
  readonly cachedAt?: string
}

export interface UiPackageList {
  readonly repoKey: string
  readonly rclass: string
  /** Whether the repository's format has package views; without them the console shows the file tree. */
  readonly supported: boolean
  /** What one package is called (the format's console descriptor): `image`, `package`. */
  readonly noun: string
  readonly packages: readonly UiPackageSummary[]
}

/** One version (a tag, an untagged manifest, a release) in a package's list. */
export interface UiVersionSummary {
  readonly version: string
  /**
   * Short words the format attaches, shown as badges: `latest`, `untagged`, `multi-platform`,
   * `deprecated`, `yanked`, `snapshot`, a dist-tag's name.
   */
  readonly labels: readonly string[]
  /** Content digest where the format has one (`sha256:…`). */
  readonly digest?: string
  readonly size: number
  readonly updatedAt: string
  readonly downloadedAt?: string
  readonly cachedAt?: string
}

/** `GET /api/v1/ui/repositories/{key}/package?name=`. */
export interface UiPackage {
  readonly repoKey: string
  readonly rclass: string
  readonly name: string
  readonly noun: string
  readonly description?: string
  readonly versions: readonly UiVersionSummary[]
}

/** A file of a version, as stored (in a virtual repository: by the member named in `repoKey`). */
export interface UiPackageFile {
  /** The path in the repository shown (for a virtual: the path through it). */
  readonly path: string
  readonly repoKey: string
  readonly size: number
  readonly sha256: string
  readonly downloadedAt?: string
  readonly downloadCount: number
  readonly cachedAt?: string
}

export interface UiDependency {
  readonly name: string
  /** The version requirement as written: `^1.2.0`, `>=2,<3`. */
  readonly requirement: string
  /** `runtime`, `dev`, `peer`, `optional`, a Maven scope… as the format words it. */
  readonly kind?: string
}

/** A block of format-specific details, rendered as given: a table, key–value pairs or a list. */
export type UiSection =
  | {
      readonly kind: 'table'
      readonly title: string
      readonly columns: readonly string[]
      /** Cells are text; a cell may link to another version of the package (`version`). */
      readonly rows: readonly (readonly UiCell[])[]
      /** Said when there are no rows. */
      readonly empty?: string
    }
  | { readonly kind: 'pairs'; readonly title: string; readonly pairs: readonly (readonly [string, string])[] }
  | { readonly kind: 'list'; readonly title: string; readonly items: readonly string[]; readonly empty?: string }

export type UiCell = string | { readonly text: string; readonly version: string }

/** `GET /api/v1/ui/repositories/{key}/package-version?name=&version=`. */
export interface UiPackageVersion {
  readonly repoKey: string
  readonly rclass: string
  readonly name: string
  readonly version: string
  readonly noun: string
  readonly labels: readonly string[]
  readonly digest?: string
  /** Bytes of its files. */
  readonly size: number
  readonly updatedAt: string
  readonly downloadedAt?: string
  readonly downloadCount: number
  readonly description?: string
  /** Markdown or plain text, as published. */
  readonly readme?: string
  /** Commands with the real names filled in: pull or install this very version. */
  readonly install: readonly Snippet[]
  /** Absent where the format has no dependencies (images); empty where it has but this version declares none. */
  readonly dependencies?: readonly UiDependency[]
  readonly files: readonly UiPackageFile[]
  readonly sections: readonly UiSection[]
  /** Where the version's files are in the file tree (a folder or a file path). */
  readonly treePath?: string
}
