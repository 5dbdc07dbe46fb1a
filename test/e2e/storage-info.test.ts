/**
 * `GET /artifactory/api/storageinfo`, Artifactory's storage summary, on the blob store of the run:
 * the data folder, or a bucket on an S3 run (this file is one of the s3 project's suites).
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isS3Run } from '../helpers/blobstore.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createRepository, createUser, deploy, expectRestError } from './generic-support.js'

describe('storage summary', () => {
  let server: TestServer
  let admin: Client

  beforeAll(async () => {
    server = await startTestServer()
    admin = new Client(server.url, server.adminAuth)
    await createRepository(admin, 'generic-local')
    await createRepository(admin, 'docker-local', { packageType: 'docker' })
    await createUser(admin, 'someone', 'someone-password-1')
  })
  afterAll(() => server?.close())

  it('counts binaries once, files and folders per repository, with a TOTAL row and the store it uses', async () => {
    const shared = randomBytes(3000)
    await deploy(admin, 'generic-local/a/one.bin', shared)
    await deploy(admin, 'generic-local/b/two.bin', shared) // the same content: one binary
    await deploy(admin, 'generic-local/b/c/three.bin', randomBytes(1000))

    const response = await admin.get('/artifactory/api/storageinfo')

    expect(response.status).toBe(200)
    const info = response.json() as {
      binariesSummary: Record<string, string>
      fileStoreSummary: Record<string, string>
      repositoriesSummaryList: Record<string, unknown>[]
    }
    expect(info.binariesSummary).toEqual({
      binariesCount: '2',
      binariesSize: '3.91 KB',
      artifactsSize: '6.84 KB',
      optimization: '57.14%',
      itemsCount: '6',
      artifactsCount: '3',
    })
    expect(info.repositoriesSummaryList).toEqual([
      { repoKey: 'docker-local', repoType: 'LOCAL', packageType: 'docker', foldersCount: 0, filesCount: 0, itemsCount: 0, usedSpace: '0 bytes', usedSpaceInBytes: 0, percentage: '0.00%' },
      { repoKey: 'generic-local', repoType: 'LOCAL', packageType: 'generic', foldersCount: 3, filesCount: 3, itemsCount: 6, usedSpace: '6.84 KB', usedSpaceInBytes: 7000, percentage: '100.00%' },
      { repoKey: 'TOTAL', repoType: 'NA', foldersCount: 3, filesCount: 3, itemsCount: 6, usedSpace: '6.84 KB', usedSpaceInBytes: 7000 },
    ])
    if (isS3Run) {
      expect(info.fileStoreSummary).toEqual({ storageType: 's3', storageDirectory: expect.stringMatching(/^s3:\/\/trove-e2e-[0-9a-f]+\/trove$/) as string })
    } else {
      expect(info.fileStoreSummary).toMatchObject({ storageType: 'filesystem', storageDirectory: server.dataDir })
      expect(info.fileStoreSummary.freeSpace).toMatch(/^\d+\.\d\d [KMGTP]B \(\d+\.\d\d%\)$/)
    }
  })

  it('is for administrators only', async () => {
    expectRestError(await admin.asUser('someone', 'someone-password-1').get('/artifactory/api/storageinfo'), 403)
    expectRestError(await admin.anonymous.get('/artifactory/api/storageinfo'), 401)
  })
})
