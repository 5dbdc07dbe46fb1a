/** The npm tables (migration 004-npm); reached through `FormatContext.tables<NpmTables>()`. */
export interface NpmTables {
  npm_packages: NpmPackageTable
  npm_versions: NpmVersionTable
}

/** An npm package in a local npm repository (format `npm`, migration 004-npm). */
export interface NpmPackageTable {
  repo_key: string
  /** The package name, `name` or `@scope/name`. */
  name: string
  /** Bumped by every change of the package or its versions; keys the serialized-packument cache and `_rev`. */
  revision: number
  /** JSON `{tag: version}`. */
  dist_tags: string
  /** Summary of the version `latest` points to, for search. */
  latest_version: string | null
  description: string | null
  /** JSON array of strings. */
  keywords: string
  created_at: number
  modified_at: number
}

/** One published version of an npm package; written in the transaction that records its tarball's asset. */
export interface NpmVersionTable {
  repo_key: string
  name: string
  version: string
  /** JSON: the version manifest, derived from the package.json inside the tarball, without `dist.tarball`. */
  manifest: string
  /** The tarball's asset path in the repository (`name/-/name-1.0.0.tgz`). */
  tarball_path: string
  deprecated: string | null
  /** README text sent with the publish (at most 64 KiB); shown for the latest version. */
  readme: string | null
  published_by: string
  created_at: number
  modified_at: number
}
