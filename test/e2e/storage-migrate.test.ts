/**
 * Moving a filesystem blob store to S3 with `trove storage migrate --to s3://…`, as docs/storage.md
 * tells an operator: blobs copied by content address and verified, a corrupt source blob refused
 * (and the run failing), a second run resuming where the first stopped, and Trove restarted on the
 * bucket with the same database serving every artifact.
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { pino } from 'pino'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createTrove, type Trove } from '../../src/main.js'
import { S3StorageDriver } from '../../src/storage/s3/s3-storage-driver.js'
import { createTestBlobstore } from '../helpers/blobstore.js'
import { TEST_CREDENTIALS, motoOrSkip } from '../helpers/s3.js'
import { ADMIN_PASSWORD, basicAuth, testConfig } from '../helpers/server.js'

const ROOT = resolve(import.meta.dirname, '../..')
const MiB = 1024 * 1024
const ADMIN = basicAuth('admin', ADMIN_PASSWORD)
const moto = await motoOrSkip('the storage migration tests')
afterAll(() => moto?.stop())

describe.skipIf(!moto)('trove storage migrate', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('copies a filesystem store to S3, verified and resumable; Trove then serves everything from the bucket', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'trove-migrate-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const bucket = await moto!.createBucket()
    const target = new S3StorageDriver({ bucket, prefix: 'trove', endpoint: moto!.endpoint, forcePathStyle: true, credentials: TEST_CREDENTIALS, partSizeBytes: 5 * MiB, maxConcurrentParts: 2 })
    cleanups.push(() => target.close())

    // 1. Trove on its data folder, with artifacts (one larger than an S3 part).
    const files = new Map<string, Buffer>([
      ['a/small.txt', Buffer.from('small\n')],
      ['a/copy.txt', Buffer.from('small\n')],
      ['b/medium.bin', randomBytes(300_000)],
      ['c/large.bin', randomBytes(7 * MiB + 5)],
    ])
    let trove = await startTrove(dataDir, {})
    await api(trove.url, 'PUT', '/artifactory/api/repositories/generic-local', { key: 'generic-local', rclass: 'local', packageType: 'generic' })
    for (const [path, content] of files) {
      const deployed = await fetch(`${trove.url}/artifactory/generic-local/${path}`, { method: 'PUT', headers: { authorization: ADMIN }, body: content })
      expect(deployed.status).toBe(201)
    }
    await trove.trove.close()
    const keyOf = (content: Buffer) => {
      const sha256 = createHash('sha256').update(content).digest('hex')
      return `blobs/sha256/${sha256.slice(0, 2)}/${sha256}`
    }

    // 2. An interrupted earlier run left a half-written copy in the bucket; a source blob is corrupt.
    const leftover = await target.createWriter(`migrate-${randomBytes(4).toString('hex')}`)
    await pipeline(Readable.from([randomBytes(6 * MiB)]), leftover.stream).catch(() => {})
    const medium = join(dataDir, ...keyOf(files.get('b/medium.bin')!).split('/'))
    await writeFile(medium, randomBytes(300_000))

    const first = await migrate(dataDir, bucket)

    expect(first.code, first.stderr).toBe(1)
    expect(first.stderr).toMatch(/FAILED sha256:[0-9a-f]{64}: the source's bytes hash to [0-9a-f]{64}: not copied/)
    expect(first.summary).toMatchObject({ examined: 3, copied: 2, present: 0, failed: 1, leftoversRemoved: 1 })
    expect(await target.stat(keyOf(files.get('b/medium.bin')!))).toBeUndefined()
    expect(await collect(target.listTemporary())).toEqual([])

    // 3. Repaired, a second run copies only what is missing.
    await writeFile(medium, files.get('b/medium.bin')!)
    const second = await migrate(dataDir, bucket)
    expect(second.code, second.stderr).toBe(0)
    expect(second.summary).toMatchObject({ examined: 3, copied: 1, present: 2, failed: 0, bytesCopied: 300_000 })

    // 4. Trove restarted on the bucket (same database) serves every artifact, byte for byte.
    trove = await startTrove(dataDir, { url: `s3://${bucket}/trove`, s3: { endpoint: moto!.endpoint, forcePathStyle: true } })
    cleanups.push(() => trove.trove.close())
    await rm(join(dataDir, 'blobs'), { recursive: true, force: true })
    for (const [path, content] of files) {
      const download = await fetch(`${trove.url}/artifactory/generic-local/${path}`, { headers: { authorization: ADMIN } })
      expect(download.status, path).toBe(200)
      expect(Buffer.from(await download.arrayBuffer()).equals(content), path).toBe(true)
    }
  }, 120_000)

  it('refuses a target that cannot be written, naming it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'trove-migrate-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const result = await migrate(dataDir, 'no-such-bucket-anywhere')
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/cannot write to s3:\/\/no-such-bucket-anywhere\/trove/)
  })
})

async function startTrove(dataDir: string, blobstore: Record<string, unknown>): Promise<{ trove: Trove; url: string }> {
  const config = testConfig({ dataDir, blobstore: await createTestBlobstore(dataDir), settings: Object.keys(blobstore).length > 0 ? { blobstore } : {} })
  const trove = await createTrove(config, { logger: pino({ level: 'silent' }) })
  return { trove, url: await trove.listen() }
}

async function api(base: string, method: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(base + path, { method, headers: { authorization: ADMIN, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect(response.status, await response.text()).toBe(200)
}

/** Runs `trove storage migrate --to s3://<bucket>/trove` on the data folder, as an operator would. */
function migrate(dataDir: string, bucket: string): Promise<{ code: number; stderr: string; summary: Record<string, unknown> | undefined }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/trove.ts', 'storage', 'migrate', '--to', `s3://${bucket}/trove`],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? tmpdir(),
          TROVE_DATA_DIR: dataDir,
          TROVE_BLOBSTORE_S3_ENDPOINT: moto!.endpoint,
          TROVE_BLOBSTORE_S3_FORCE_PATH_STYLE: 'true',
          AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        timeout: 90_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
        let summary: Record<string, unknown> | undefined
        try {
          summary = JSON.parse(stdout) as Record<string, unknown>
        } catch {
          summary = undefined
        }
        done({ code, stderr: String(stderr), summary })
      },
    )
  })
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

