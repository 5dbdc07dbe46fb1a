/** The sample format's one table (migration 20261207-sample-packages). */
export interface SampleTables {
  sample_packages: SamplePackageTable
}

/** A package uploaded to a local sample repository; its file is an ordinary asset of the core. */
export interface SamplePackageTable {
  repo_key: string
  name: string
  version: string
  /** The file's path in the repository. */
  path: string
  uploaded_by: string
  created_at: number
}
