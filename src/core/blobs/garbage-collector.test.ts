import { utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import type { Repository } from '../repositories/repository-service.js'
import { GarbageCollector } from './garbage-collector.js'

const backends = await metadataBackends()
const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

describe.each(backends)('garbage collection (%s)', (backend) => {
  let core: CoreFixture
  let repository: Repository
  let gc: GarbageCollector

  beforeEach(async () => {
    core = await createCoreFixture(backend)
    repository = await core.repositories.create('generic-local', { rclass: 'local', packageType: 'generic' })
    gc = new GarbageCollector(core.records, core.blobs, { sweep: async () => ({ removed: 0, kept: 0 }) }, core.logger)
  })
  afterEach(() => core.cleanup())

  /** Dates the blob's file back a day. */
  async function makeFileOld(sha256: string): Promise<void> {
    const then = new Date(Date.now() - DAY)
    await utimes(join(core.dataDir, ...core.blobs.keyOf(sha256).split('/')), then, then)
  }

  const deploy = (path: string, content: string) =>
    core.artifacts.deploy(repository, path, Readable.from([Buffer.from(content)]), { user: 'test', contentType: 'text/plain' })

  it('removes a blob once no asset refers to it, and keeps referenced ones', async () => {
    const kept = await deploy('a/kept.txt', 'kept content')
    const dropped = await deploy('a/dropped.txt', 'dropped content')
    await core.artifacts.delete(repository, 'a/dropped.txt')

    const result = await gc.collect(0)

    expect(result).toMatchObject({ examined: 2, deleted: 1, freedBytes: 'dropped content'.length })
    expect(await core.blobs.exists(dropped.sha256)).toBe(false)
    expect(await core.blobs.exists(kept.sha256)).toBe(true)
    const rows = await core.metadata.db.selectFrom('blobs').select('sha256').execute()
    expect(rows.map((r) => r.sha256)).toEqual([kept.sha256])
  })

  it('keeps a shared blob while any of the paths pointing at it remains', async () => {
    const first = await deploy('one.txt', 'shared')
    await deploy('two.txt', 'shared')
    await core.artifacts.delete(repository, 'one.txt')

    expect((await gc.collect(0)).deleted).toBe(0)
    expect(await core.blobs.exists(first.sha256)).toBe(true)
  })

  it('keeps unreferenced blobs younger than the grace period (an upload whose asset is not recorded yet)', async () => {
    const orphan = await core.blobs.put(Readable.from([Buffer.from('uploaded, not yet recorded')]))

    expect((await gc.collect(60 * 60 * 1000)).deleted).toBe(0)
    expect(await core.blobs.exists(orphan.sha256)).toBe(true)
    expect((await gc.collect(0)).deleted).toBe(1)
    expect(await core.blobs.exists(orphan.sha256)).toBe(false)
  })

  it('counts the grace period from the last write recorded in the metadata store, not from the stored file', async () => {
    const blob = await core.blobs.put(Readable.from([Buffer.from('written long ago, or so the file says')]))
    // The file looks a day old (an object store never refreshes its time); the record is fresh.
    await makeFileOld(blob.sha256)

    expect((await gc.collect(HOUR)).deleted).toBe(0)
    expect(await core.blobs.exists(blob.sha256)).toBe(true)

    // Once the recorded write is old too, the blob goes.
    await core.metadata.db.updateTable('blobs').set({ written_at: Date.now() - DAY }).where('sha256', '=', blob.sha256).execute()
    expect((await gc.collect(HOUR)).deleted).toBe(1)
    expect(await core.blobs.exists(blob.sha256)).toBe(false)
    expect(await core.metadata.db.selectFrom('blobs').select('sha256').execute()).toEqual([])
  })

  it('a repeated upload of stored content restarts its grace period without touching the stored file', async () => {
    const first = await core.blobs.put(Readable.from([Buffer.from('uploaded twice')]))
    await core.metadata.db.updateTable('blobs').set({ written_at: Date.now() - DAY }).where('sha256', '=', first.sha256).execute()
    await makeFileOld(first.sha256)

    // The second upload finds the content stored: nothing is written to the store, only the record.
    await core.blobs.put(Readable.from([Buffer.from('uploaded twice')]))

    expect((await gc.collect(HOUR)).deleted).toBe(0)
    expect(await core.blobs.exists(first.sha256)).toBe(true)
  })

  it('a stored blob without a row (cut between storing and recording) counts from its file', async () => {
    const blob = await core.blobs.put(Readable.from([Buffer.from('no row for me')]))
    await core.metadata.db.deleteFrom('blobs').where('sha256', '=', blob.sha256).execute()

    expect((await gc.collect(HOUR)).deleted).toBe(0)
    await makeFileOld(blob.sha256)
    expect((await gc.collect(HOUR)).deleted).toBe(1)
  })

  it('lets content come back after collection: a new deploy stores it again', async () => {
    const first = await deploy('x.txt', 'comes back')
    await core.artifacts.delete(repository, 'x.txt')
    await gc.collect(0)
    const again = await deploy('x.txt', 'comes back')
    expect(again.sha256).toBe(first.sha256)
    expect(await core.blobs.exists(again.sha256)).toBe(true)
  })
})
