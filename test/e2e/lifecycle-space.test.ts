/**
 * Disk space is actually freed: the blob store is measured underneath (the files of the data
 * folder; the objects of an S3 bucket on moto, listed with the AWS SDK) before and after
 * delete -> garbage collection (nothing freed: the trash keeps it) -> trash emptied -> garbage
 * collection (freed, exactly the bytes of the blobs nothing else shares). Both metadata engines.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { motoOrSkip } from '../helpers/s3.js'
import { startTestServer } from '../helpers/server.js'
import { Client, createRepository, deploy, randomPayload } from './generic-support.js'

const backends = await metadataBackends()
const moto = await motoOrSkip('the disk space test on S3')
afterAll(() => moto?.stop())

const MiB = 1024 * 1024

/** Bytes of the files below `dir` (0 when it does not exist). */
async function folderBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  let total = 0
  for (const entry of entries) {
    const path = join(dir, entry.name)
    total += entry.isDirectory() ? await folderBytes(path) : (await stat(path)).size
  }
  return total
}

/** Bytes of the objects under `prefix` in `bucket`, as S3 lists them. */
async function bucketBytes(bucket: string, prefix: string): Promise<number> {
  let total = 0
  let token: string | undefined
  for (let page = 0; page < 1000; page++) {
    const listed = await moto!.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
    for (const object of listed.Contents ?? []) total += object.Size ?? 0
    if (!listed.IsTruncated) break
    token = listed.NextContinuationToken
  }
  return total
}

const stores = ['filesystem', ...(moto ? ['s3'] : [])] as const

for (const backend of backends) {
  for (const store of stores) {
    describe(`disk space freed after delete, trash emptying and GC (${backend}, ${store})`, () => {
      let server: Awaited<ReturnType<typeof startTestServer>>
      let admin: Client
      let measure: () => Promise<number>

      beforeAll(async () => {
        const bucket = store === 's3' ? await moto!.createBucket() : undefined
        server = await startTestServer({
          backend,
          settings: {
            trashcan: { enabled: true, retentionPeriodDays: 14 },
            gc: { graceSecs: 0, intervalSecs: 0 },
            ...(bucket ? { blobstore: { url: `s3://${bucket}/trove`, s3: { endpoint: moto!.endpoint, forcePathStyle: true, partSizeBytes: 5 * MiB } } } : {}),
          },
        })
        admin = new Client(server.url, server.adminAuth)
        measure = bucket ? () => bucketBytes(bucket, 'trove/blobs/') : () => folderBytes(join(server.dataDir, 'blobs'))
        await createRepository(admin, 'space')
      })

      afterAll(async () => {
        await server?.close()
      })

      it('frees the blobs of deleted files only once the trash lets them go, and records it', async () => {
        const before = await measure()
        const doomed = [randomPayload(2 * MiB + 1), randomPayload(MiB + 7)]
        const kept = randomPayload(MiB)
        await deploy(admin, 'space/a/doomed-1.bin', doomed[0]!)
        await deploy(admin, 'space/a/doomed-2.bin', doomed[1]!)
        await deploy(admin, 'space/b/kept.bin', kept)
        // The same content as a kept file: its blob must stay.
        await deploy(admin, 'space/a/copy-of-kept.bin', kept)
        const stored = await measure()
        expect(stored - before).toBe(doomed[0]!.length + doomed[1]!.length + kept.length)

        expect((await admin.delete('/artifactory/space/a')).status).toBe(204)
        expect((await admin.post('/artifactory/api/system/storage/gc')).json()).toMatchObject({ deleted: 0 })
        expect(await measure()).toBe(stored)

        expect((await admin.post('/artifactory/api/trash/empty')).status).toBe(200)
        const collected = (await admin.post('/artifactory/api/system/storage/gc')).json()
        expect(collected).toMatchObject({ deleted: 2, freedBytes: doomed[0]!.length + doomed[1]!.length })
        expect(stored - (await measure())).toBe(doomed[0]!.length + doomed[1]!.length)
        expect((await admin.get('/artifactory/space/b/kept.bin')).body.equals(kept)).toBe(true)

        // The usage report has both: what the trash let go (logical, per repository), what GC freed (physical).
        const usage = (await admin.get('/api/v1/usage/repositories/space')).json()
        expect(usage.freed).toEqual([expect.objectContaining({ source: 'trash', files: 3, bytes: doomed[0]!.length + doomed[1]!.length + kept.length })])
        const freed = await server.trove.services.metadata.db.selectFrom('usage_freed').selectAll().where('source', '=', 'gc').execute()
        expect(freed.map((row) => Number(row.bytes))).toEqual([doomed[0]!.length + doomed[1]!.length])
      })
    })
  }
}
