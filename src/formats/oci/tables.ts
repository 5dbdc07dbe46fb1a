/** The tables of the container registry (migration 003-oci); reached through `FormatContext.tables<OciTables>()`. */
export interface OciTables {
  oci_uploads: OciUploadTable
  oci_upload_chunks: OciUploadChunkTable
  oci_referrers: OciReferrerTable
}

/** A resumable blob upload session of the container registry (migration 003-oci). */
export interface OciUploadTable {
  /** The session UUID, as in its `Location`. */
  id: string
  repo_key: string
  image: string
  /** Bytes received so far. */
  size: number
  created_by: string
  created_at: number
  updated_at: number
}

/** One received chunk of an upload session: a blob of its own, kept by an asset in the image's uploads folder. */
export interface OciUploadChunkTable {
  upload_id: string
  start_offset: number
  size: number
  sha256: string
  /** The chunk's asset path, `<image>/_uploads/<upload id>.<offset>`. */
  path: string
}

/** What the referrers API needs of a manifest that has a `subject`; keyed by the manifest's digest (content facts). */
export interface OciReferrerTable {
  /** `sha256:<hex>` of the referrer manifest. */
  digest: string
  /** `sha256:<hex>` of the manifest it refers to. */
  subject: string
  artifact_type: string | null
  /** JSON object, or null when the manifest has none. */
  annotations: string | null
  created_at: number
}
