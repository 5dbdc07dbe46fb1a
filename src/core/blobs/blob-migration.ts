import { createHash, randomUUID } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import type { StorageDriver } from '../../storage/storage-driver.js'
import { HashingStream } from '../digest.js'

/** Writers of a migration are named so: a later run removes what an interrupted one left. */
const WRITER_PREFIX = 'migrate-'
const BLOB_PREFIX = 'blobs/sha256/'
const SHA256 = /^[0-9a-f]{64}$/

export interface MigrationOptions {
  /** Blobs copied at once. */
  readonly concurrency: number
  /** Also hash the blobs the target already has (else a matching size is enough). */
  readonly verifyExisting: boolean
  /** Told of each blob as it is done. */
  readonly onBlob?: ((event: { sha256: string; outcome: 'copied' | 'present' | 'failed'; error?: string }) => void) | undefined
}

export interface MigrationResult {
  readonly examined: number
  readonly copied: number
  readonly present: number
  readonly failed: number
  readonly bytesCopied: number
  /** Temporary data of interrupted earlier runs removed from the target. */
  readonly leftoversRemoved: number
}

/**
 * Copies every blob from one store to another by content address, e.g. a filesystem store to
 * S3 before pointing Trove at the bucket. Each copy streams through a sha256 check and is
 * committed only if the bytes match the blob's name, so the target never holds a wrong blob.
 * Resumable: blobs the target has already (same size; with `verifyExisting`, same digest) are
 * left alone, and a run cut off leaves nothing visible. Metadata is not touched: both stores hold
 * the same content under the same keys.
 */
export async function migrateBlobs(source: StorageDriver, target: StorageDriver, options: MigrationOptions): Promise<MigrationResult> {
  let leftoversRemoved = 0
  for await (const temporary of target.listTemporary()) {
    if (!temporary.id.startsWith(WRITER_PREFIX)) continue
    await target.deleteTemporary(temporary.id)
    leftoversRemoved++
  }
  const counts = { examined: 0, copied: 0, present: 0, failed: 0, bytesCopied: 0 }
  const keys = source.list(BLOB_PREFIX)[Symbol.asyncIterator]()
  const worker = async () => {
    for (let next = await keys.next(); !next.done; next = await keys.next()) {
      const key = next.value
      const sha256 = key.slice(key.lastIndexOf('/') + 1)
      if (!SHA256.test(sha256)) continue
      counts.examined++
      try {
        const outcome = await migrateOne(source, target, key, sha256, options.verifyExisting)
        if (outcome === 'present') counts.present++
        else {
          counts.copied++
          counts.bytesCopied += outcome.bytes
        }
        options.onBlob?.({ sha256, outcome: outcome === 'present' ? 'present' : 'copied' })
      } catch (err) {
        counts.failed++
        options.onBlob?.({ sha256, outcome: 'failed', error: (err as Error).message })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker))
  return { ...counts, leftoversRemoved }
}

async function migrateOne(source: StorageDriver, target: StorageDriver, key: string, sha256: string, verifyExisting: boolean): Promise<'present' | { bytes: number }> {
  const [from, there] = await Promise.all([source.stat(key), target.stat(key)])
  if (!from) throw new Error('gone from the source while migrating')
  if (there && there.size === from.size && (!verifyExisting || (await digestOf(target, key)) === sha256)) return 'present'
  if (there) await target.delete(key) // a wrong copy (another size or digest): replaced
  const writer = await target.createWriter(`${WRITER_PREFIX}${randomUUID()}`)
  const hashing = new HashingStream()
  try {
    await pipeline(await source.read(key), hashing, writer.stream)
    const digest = hashing.digest().sha256
    if (digest !== sha256) throw new Error(`the source's bytes hash to ${digest}: not copied`)
    await writer.commit(key)
    return { bytes: hashing.size }
  } catch (err) {
    await writer.abort().catch(() => {})
    throw err
  }
}

async function digestOf(store: StorageDriver, key: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of await store.read(key)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
