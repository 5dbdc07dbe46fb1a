import { parseBlobstoreUrl, type TroveConfig } from '../config/config.js'
import { migrateBlobs, type MigrationResult } from '../core/blobs/blob-migration.js'
import { describeLocation, openStorageDriver } from '../storage/open-storage-driver.js'

export interface MigrateCommandOptions {
  /** The blob store to copy to: a folder, `file://…` or `s3://bucket/prefix`. */
  readonly to: string
  /** The blob store to copy from; the configured one when omitted. */
  readonly from?: string | undefined
  readonly concurrency: number
  readonly verifyExisting: boolean
}

/**
 * `trove storage migrate --to <url>`: copies every blob of the configured blob store (or `--from`)
 * to another one, verified by digest, skipping what is there already, so it can be run while
 * Trove serves and again to catch up (see docs/storage.md). S3 settings (endpoint, region,
 * path-style) come from the configuration's `blobstore.s3`, credentials from the SDK's chain.
 * Progress and failures go to `log`; the summary is returned.
 */
export async function migrateStorage(config: TroveConfig, options: MigrateCommandOptions, log: (line: string) => void): Promise<MigrationResult> {
  const from = options.from === undefined ? config.blobstoreLocation : parseBlobstoreUrl(options.from)
  const to = parseBlobstoreUrl(options.to)
  if (describeLocation(from) === describeLocation(to)) throw new Error(`--to names the store blobs are copied from (${describeLocation(to)})`)
  const source = openStorageDriver(from, config.blobstore.s3)
  const target = openStorageDriver(to, config.blobstore.s3)
  try {
    await target.checkHealth().catch((err: unknown) => {
      throw new Error(`cannot write to ${describeLocation(to)}: ${(err as Error).message}`)
    })
    log(`copying the blobs of ${describeLocation(from)} to ${describeLocation(to)}`)
    let done = 0
    const result = await migrateBlobs(source, target, {
      concurrency: options.concurrency,
      verifyExisting: options.verifyExisting,
      onBlob(event) {
        done++
        if (event.outcome === 'failed') log(`FAILED sha256:${event.sha256}: ${event.error ?? 'unknown error'}`)
        else if (done % 500 === 0) log(`${done} blobs done`)
      },
    })
    log(`${result.copied} copied, ${result.present} already there, ${result.failed} failed, of ${result.examined}`)
    return result
  } finally {
    await source.close?.()
    await target.close?.()
  }
}
