import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import { TroveError } from '../errors.js'
import type { Repository } from '../repositories/repository-service.js'
import type { ChangeGuard } from './artifact-types.js'

const backends = await metadataBackends()

/** More than two pages of files (a page is 500 rows), in nested folders. */
const FILES = Array.from({ length: 1201 }, (_, i) => `big/${String(Math.floor(i / 100)).padStart(2, '0')}/f${String(i).padStart(4, '0')}.txt`)
const LAST = FILES[FILES.length - 1]!

/** Allows every path but `refused`; counts what it was asked. */
function guardRefusing(refused: string): ChangeGuard & { asked: number } {
  const guard = {
    asked: 0,
    allows: (path: string) => {
      guard.asked++
      return path !== refused
    },
    refusal: () => new TroveError('DENIED', `not '${refused}'`),
  }
  return guard
}

describe.each(backends)('folder-wide changes, page by page (%s)', (backend) => {
  let core: CoreFixture
  let repository: Repository
  const fileCount = async () => (await core.artifacts.listDeep(repository.key, 'big')).files.length

  beforeAll(async () => {
    core = await createCoreFixture(backend)
    repository = await core.repositories.create('generic-local', { rclass: 'local', packageType: 'generic' })
    const first = await core.artifacts.deploy(repository, FILES[0]!, Readable.from([Buffer.from('same content')]), { user: 'test', contentType: 'text/plain' })
    const put = FILES.slice(1).map((path) => ({ path, blob: { sha256: first.sha256 }, contentType: 'text/plain' }))
    await core.artifacts.applyChanges(repository, { put }, 'test')
  }, 60_000)
  afterAll(() => core?.cleanup())

  it('a recursive property change refused on its last page changes nothing', async () => {
    const guard = guardRefusing(LAST)

    await expect(core.artifacts.setProperties(repository, 'big', new Map([['stage', ['prod']]]), true, guard)).rejects.toThrow(`not '${LAST}'`)

    expect(guard.asked).toBe(1 + 13 + FILES.length) // the folder, its 13 subfolders, every file
    expect(await core.artifacts.getProperties(repository.key, FILES[0]!)).toEqual(new Map())
    expect(await core.artifacts.getProperties(repository.key, 'big')).toEqual(new Map())
  })

  it('a recursive property change allowed everywhere reaches every file', async () => {
    await core.artifacts.setProperties(repository, 'big', new Map([['stage', ['prod']]]), true, guardRefusing('none'))

    for (const path of ['big', 'big/07', FILES[0]!, FILES[600]!, LAST]) {
      expect(await core.artifacts.getProperties(repository.key, path), path).toEqual(new Map([['stage', ['prod']]]))
    }
  })

  it('a folder delete refused on its last page deletes nothing', async () => {
    await expect(core.artifacts.delete(repository, 'big', guardRefusing(LAST))).rejects.toThrow(`not '${LAST}'`)

    expect(await fileCount()).toBe(FILES.length)
    expect(await core.artifacts.getProperties(repository.key, FILES[0]!)).toEqual(new Map([['stage', ['prod']]]))
  })

  it('a folder delete allowed everywhere deletes every file, folder and property', async () => {
    expect(await core.artifacts.delete(repository, 'big', guardRefusing('none'))).toBe(FILES.length)

    expect(await fileCount()).toBe(0)
    expect(await core.artifacts.getItem(repository, 'big/07')).toBeUndefined()
    expect(await core.artifacts.getItem(repository, 'big')).toBeUndefined()
    expect(await core.artifacts.getProperties(repository.key, LAST)).toEqual(new Map())
  })
})
