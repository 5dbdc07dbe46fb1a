import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { FilesystemStorageDriver } from '../../src/storage/filesystem/filesystem-storage-driver.js'
import { S3StorageDriver } from '../../src/storage/s3/s3-storage-driver.js'
import type { StorageDriver } from '../../src/storage/storage-driver.js'
import { ownerOf } from '../../src/core/blobs/temporary-sweeper.js'
import { TEST_CREDENTIALS, TEST_REGION } from './s3.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The moto server the `s3` project's global setup started. */
    motoEndpoint: string
  }
}

/**
 * The one switch that runs the e2e suites on an S3 blob store: `TROVE_TEST_BLOBSTORE=s3`, set by
 * the `s3` Vitest project (`npx vitest run --project s3 <files>`), whose global setup starts moto.
 * Such a run also keeps its metadata in PostgreSQL, as a cluster would.
 */
export const isS3Run = process.env.TROVE_TEST_BLOBSTORE === 's3'

/** Smallest part S3 allows: partial uploads show in the store after 5 MiB. */
export const TEST_PART_SIZE = 5 * 1024 * 1024

export interface TestBlobstore {
  /** Settings for `loadConfig` overrides (empty: the data folder). */
  readonly settings: { readonly blobstore?: Record<string, unknown> }
  /** The same as `TROVE_*` variables, for a `trove serve` process. */
  readonly env: Record<string, string>
  /** A driver on the same store, for looking underneath. */
  readonly driver: StorageDriver
  close(): Promise<void>
}

/** The store a test server keeps its blobs in: `dataDir`, or a fresh bucket on this run's moto. */
export async function createTestBlobstore(dataDir: string): Promise<TestBlobstore> {
  if (!isS3Run) {
    return { settings: {}, env: {}, driver: new FilesystemStorageDriver(dataDir), close: async () => {} }
  }
  const endpoint = motoEndpoint()
  const bucket = `trove-e2e-${randomBytes(5).toString('hex')}`
  const admin = new S3Client({ endpoint, region: TEST_REGION, forcePathStyle: true, credentials: TEST_CREDENTIALS })
  await admin.send(new CreateBucketCommand({ Bucket: bucket }))
  admin.destroy()
  const url = `s3://${bucket}/trove`
  const driver = new S3StorageDriver({
    bucket,
    prefix: 'trove',
    endpoint,
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
    partSizeBytes: TEST_PART_SIZE,
    maxConcurrentParts: 4,
  })
  return {
    settings: { blobstore: { url, s3: { endpoint, forcePathStyle: true, partSizeBytes: TEST_PART_SIZE } } },
    env: {
      TROVE_BLOBSTORE_URL: url,
      TROVE_BLOBSTORE_S3_ENDPOINT: endpoint,
      TROVE_BLOBSTORE_S3_FORCE_PATH_STYLE: 'true',
      TROVE_BLOBSTORE_S3_PART_SIZE_BYTES: String(TEST_PART_SIZE),
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    },
    driver,
    // moto's buckets live as long as the run's moto; dropping the client is enough.
    close: () => driver.close(),
  }
}

/** The ids of uploads' temporary data in a store (not the readiness probe's short-lived writes). */
export async function uploadTemporaries(driver: StorageDriver): Promise<string[]> {
  const ids: string[] = []
  for await (const temporary of driver.listTemporary()) if (ownerOf(temporary.id) !== undefined) ids.push(temporary.id)
  return ids.sort()
}

function motoEndpoint(): string {
  const endpoint = inject('motoEndpoint')
  if (!endpoint) throw new Error('TROVE_TEST_BLOBSTORE=s3 runs in the s3 Vitest project, which starts moto: npx vitest run --project s3 <files>')
  return endpoint
}
