import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import type { Repository } from '../repositories/repository-service.js'
import { GarbageCollector } from './garbage-collector.js'

const backends = await metadataBackends()

describe.each(backends)('garbage collection (%s)', (backend) => {
  let core: CoreFixture
  let repository: Repository
  let gc: GarbageCollector

  beforeEach(async () => {
    core = await createCoreFixture(backend)
    repository = await core.repositories.create('generic-local', { rclass: 'local', packageType: 'generic' })
    gc = new GarbageCollector(core.metadata.db, core.blobs, core.logger)
  })
  afterEach(() => core.cleanup())

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

  it('lets content come back after collection: a new deploy stores it again', async () => {
    const first = await deploy('x.txt', 'comes back')
    await core.artifacts.delete(repository, 'x.txt')
    await gc.collect(0)
    const again = await deploy('x.txt', 'comes back')
    expect(again.sha256).toBe(first.sha256)
    expect(await core.blobs.exists(again.sha256)).toBe(true)
  })
})
