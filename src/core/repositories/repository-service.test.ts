import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'

const backends = await metadataBackends()
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe.each(backends)('repository lookups (%s)', (backend) => {
  let core: CoreFixture
  beforeEach(async () => {
    core = await createCoreFixture(backend)
    await core.repositories.create('files', { rclass: 'local', packageType: 'generic' })
    await nextTurn()
  })
  afterEach(() => core.cleanup())

  it('shares a lookup within one turn of the event loop, and reads the database again in the next', async () => {
    const [first, second] = await Promise.all([core.repositories.get('files'), core.repositories.get('files')])
    expect(first).toBeDefined()
    expect(second).toBe(first)
    await nextTurn()
    // Another node changes the repository: the next turn sees it.
    const config = JSON.stringify({ ...first!.config, anonymousRead: true })
    await core.metadata.db.updateTable('repositories').set({ config }).where('key', '=', 'files').execute()
    await nextTurn()
    expect((await core.repositories.get('files'))?.config.anonymousRead).toBe(true)
  })

  it('never answers with a lookup made before its own writes, even in the same turn', async () => {
    const before = core.repositories.get('files')
    const missing = core.repositories.get('later')
    expect((await before)?.config.anonymousRead).toBeUndefined()
    expect(await missing).toBeUndefined()

    await core.repositories.update('files', { anonymousRead: true })
    expect((await core.repositories.get('files'))?.config.anonymousRead).toBe(true)

    await core.repositories.create('later', { rclass: 'local', packageType: 'generic' })
    expect((await core.repositories.get('later'))?.key).toBe('later')

    await core.repositories.delete('files')
    expect(await core.repositories.get('files')).toBeUndefined()
  })
})
