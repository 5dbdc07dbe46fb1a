import { AbortMultipartUploadCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'

/** How Trove reaches one bucket. Credentials are never part of it: the SDK's default chain finds them. */
export interface S3ConnectionOptions {
  /** For S3-compatible stores (MinIO, Ceph RGW, OpenShift Data Foundation); AWS when omitted. */
  readonly endpoint?: string | undefined
  /** Else `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1` (what S3-compatible stores usually expect). */
  readonly region?: string | undefined
  /** `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`; most S3-compatible stores need it. */
  readonly forcePathStyle?: boolean | undefined
  /** Attempts per request, the first included; throttling, 5xx and reset connections are retried with backoff. */
  readonly maxAttempts?: number | undefined
  /** Only for programs that are handed credentials (tests, tools); the server always uses the default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | undefined
}

const CONNECT_TIMEOUT_MS = 10_000
/** A socket with no bytes moving either way for this long is given up (and the request retried where safe). */
const SOCKET_IDLE_TIMEOUT_MS = 120_000
/** Parts in flight × concurrent uploads and downloads: the SDK's default of 50 sockets queues 16 streams of parts. */
const MAX_SOCKETS = 256

export function createS3Client(options: S3ConnectionOptions): S3Client {
  return new S3Client({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? false,
    maxAttempts: options.maxAttempts ?? 5,
    retryMode: 'standard',
    ...(options.credentials ? { credentials: options.credentials } : {}),
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      socketTimeout: SOCKET_IDLE_TIMEOUT_MS,
      httpAgent: { maxSockets: MAX_SOCKETS },
      httpsAgent: { maxSockets: MAX_SOCKETS },
    },
    // Every blob is verified by its sha256 as it is written; a second (CRC) pass over every download
    // would cost CPU on the hot path for nothing. Uploads keep the SDK's per-request checksums.
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
}

/** The error name S3 answered with (`NoSuchKey`, `NotFound`, `NoSuchUpload`…), if any. */
export function s3ErrorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { name?: unknown }).name === 'string' ? (err as { name: string }).name : undefined
}

/** A missing key: `NoSuchKey` from GET, a bare 404 (`NotFound`) from HEAD, which has no body to say more. */
export function isMissingKey(err: unknown): boolean {
  const name = s3ErrorName(err)
  return name === 'NoSuchKey' || name === 'NotFound'
}

/** Whether an object exists at `key`. */
export async function objectExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    return true
  } catch (err) {
    if (isMissingKey(err)) return false
    throw err
  }
}

/** Aborts a multipart upload; one already completed or aborted is fine (`NoSuchUpload`). */
export async function abortMultipartUpload(client: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  try {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
  } catch (err) {
    if (s3ErrorName(err) !== 'NoSuchUpload') throw err
  }
}
