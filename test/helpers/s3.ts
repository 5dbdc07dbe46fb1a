import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  AbortMultipartUploadCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { freePort } from './ports.js'
import { requireClients } from './clients.js'

/** moto accepts any credentials; the server finds these through the SDK's default chain (environment). */
export const TEST_CREDENTIALS = { accessKeyId: 'trove-test', secretAccessKey: 'trove-test-secret' } as const
export const TEST_REGION = 'us-east-1'

const START_TIMEOUT_MS = 60_000

/** A real S3 protocol server (moto) on 127.0.0.1, for the tests of the S3 blob store. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string
  readonly port: number
  /** A client of this server with the test credentials. */
  readonly client: S3Client
  /** Creates an empty bucket with a fresh name and returns the name. */
  createBucket(): Promise<string>
  /** Empties and removes a bucket (unfinished multipart uploads included). */
  deleteBucket(bucket: string): Promise<void>
  stop(): Promise<void>
}

/**
 * Starts `moto_server` on a free port and waits until it answers. Also puts the test credentials
 * into this process's environment (unless some are set), where the SDK's default chain, which the
 * server uses, finds them.
 */
export async function startMoto(options: { port?: number } = {}): Promise<MotoServer> {
  process.env.AWS_ACCESS_KEY_ID ??= TEST_CREDENTIALS.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY ??= TEST_CREDENTIALS.secretAccessKey
  const port = options.port ?? (await freePort())
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] })
  let output = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4096)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))
  const endpoint = `http://127.0.0.1:${port}`
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    const failed = await Promise.race([spawnError, sleep(100).then(() => undefined)])
    if (failed) throw new Error(`could not start moto_server: ${failed.message}`)
    if (child.exitCode !== null) throw new Error(`moto_server exited during start (${child.exitCode}):\n${output}`)
    if (await answers(endpoint)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`moto_server did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms:\n${output}`)
    }
  }
  const client = new S3Client({ endpoint, region: TEST_REGION, forcePathStyle: true, credentials: TEST_CREDENTIALS })
  return {
    endpoint,
    port,
    client,
    async createBucket() {
      const bucket = `trove-${randomBytes(6).toString('hex')}`
      await client.send(new CreateBucketCommand({ Bucket: bucket }))
      return bucket
    },
    async deleteBucket(bucket) {
      await emptyBucket(client, bucket)
      await client.send(new DeleteBucketCommand({ Bucket: bucket }))
    },
    async stop() {
      client.destroy()
      await stopProcess(child, exited)
    },
  }
}

/**
 * moto for a test file: started, or `undefined` when `moto_server` is not installed — the one
 * skip-or-fail rule of `requireClients` (by hand: skipped with a message; under CI=true: fails).
 */
export async function motoOrSkip(suite: string): Promise<MotoServer | undefined> {
  if (!(await requireClients(suite, ['moto_server']))) return undefined
  return startMoto()
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(2000) })
    await response.arrayBuffer()
    return response.ok
  } catch {
    return false
  }
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const isGone = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])
  if (!isGone) {
    child.kill('SIGKILL')
    await exited
  }
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  for (const upload of uploads.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }))
  }
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }))
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }))
    if (keys.length === 0) return
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }))
  }
}
