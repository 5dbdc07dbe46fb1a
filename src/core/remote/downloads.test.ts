/**
 * The download statistics of the one download path, on a real ArtifactService (SQLite and
 * PostgreSQL): each download counted once, on the file of the repository that served it; a
 * stream only once it has ended; what is pending written at close. (The policy check of the same
 * path is exercised over HTTP: test/e2e/virtual-resolution.test.ts.)
 */
import { PassThrough, Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import type { Repository } from '../repositories/repository-service.js'
import { Downloads } from './downloads.js'

const backends = await metadataBackends()
const noPolicies = { assertDownloadAllowed: async () => {} }

describe.each(backends)('Downloads statistics (%s)', (backend) => {
  let core: CoreFixture
  let repository: Repository
  let serial = 0

  beforeAll(async () => {
    core = await createCoreFixture(backend)
    repository = await core.repositories.create('files', { rclass: 'local', packageType: 'generic' })
  })
  afterAll(() => core?.cleanup())

  const stored = async (content = 'bytes') => {
    const path = `f/${++serial}.txt`
    return core.artifacts.deploy(repository, path, Readable.from([Buffer.from(content)]), { user: 'deployer', contentType: 'text/plain' })
  }
  const countOf = async (path: string) => (await core.artifacts.getAsset(repository.key, path))!
  const downloads = () => new Downloads({ db: core.metadata.db, policies: noPolicies, artifacts: core.artifacts, logger: core.logger })

  it('counts every download of a stored file, the last downloader and time kept', async () => {
    const asset = await stored()
    const path = downloads()
    for (const user of ['ann', 'bob', 'cid']) path.count({ kind: 'file', repository, asset }, user)
    await path.close()

    const after = await countOf(asset.path)
    expect(after.downloadCount).toBe(3)
    expect(after.downloadedBy).toBe('cid')
    expect(after.downloadedAt).toBeGreaterThanOrEqual(asset.createdAt)
  })

  it('writes downloads counted while a write runs in the next one, none lost', async () => {
    const asset = await stored()
    const path = downloads()
    path.count({ kind: 'file', repository, asset }, 'first')
    await new Promise((resolve) => setImmediate(resolve)) // the first write has started
    for (let i = 0; i < 5; i++) path.count({ kind: 'file', repository, asset }, 'later')
    await path.close()
    expect((await countOf(asset.path)).downloadCount).toBe(6)
  })

  it('counts a stream once it has ended, on the file it committed; one that never ends is not counted', async () => {
    const ended = await stored('streamed')
    const cut = await stored('cut short')
    const path = downloads()
    const whole = new PassThrough()
    const broken = new PassThrough()
    broken.on('error', () => {})
    path.count({ kind: 'stream', repository, path: ended.path, stream: whole, size: undefined, contentType: 'text/plain' }, 'puller')
    path.count({ kind: 'stream', repository, path: cut.path, stream: broken, size: undefined, contentType: 'text/plain' }, 'puller')

    whole.write('streamed')
    await path.close()
    expect((await countOf(ended.path)).downloadCount).toBe(0) // not ended yet

    whole.end()
    whole.resume()
    broken.destroy(new Error('the upstream went away'))
    await new Promise((resolve) => whole.once('end', resolve))
    await path.close()
    expect((await countOf(ended.path)).downloadCount).toBe(1)
    expect((await countOf(cut.path)).downloadCount).toBe(0)
  })

  it('counts something served from its bytes (an OCI manifest) by its repository key and path', async () => {
    const asset = await stored()
    const path = downloads()
    path.count({ kind: 'stored', repository: repository.key, path: asset.path, sha256: asset.sha256 }, 'puller')
    await path.close()
    expect((await countOf(asset.path)).downloadCount).toBe(1)
  })
})
