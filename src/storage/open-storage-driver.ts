import { FilesystemStorageDriver } from './filesystem/filesystem-storage-driver.js'
import { S3StorageDriver, type S3StorageOptions } from './s3/s3-storage-driver.js'
import type { StorageDriver } from './storage-driver.js'

/** Where blobs live: a folder, or a bucket and a key prefix (see `parseBlobstoreUrl`). */
export type StorageLocation =
  | { readonly kind: 'filesystem'; readonly root: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string }

export type S3Settings = Omit<S3StorageOptions, 'bucket' | 'prefix'>

/** The driver for a location; S3 connections use `s3` (credentials come from the SDK's default chain). */
export function openStorageDriver(location: StorageLocation, s3: S3Settings): StorageDriver {
  if (location.kind === 'filesystem') return new FilesystemStorageDriver(location.root)
  return new S3StorageDriver({ ...s3, bucket: location.bucket, prefix: location.prefix })
}

/** How a location is written in settings and logs: the folder, or `s3://bucket/prefix`. */
export function describeLocation(location: StorageLocation): string {
  return location.kind === 'filesystem' ? location.root : `s3://${location.bucket}/${location.prefix}`
}
