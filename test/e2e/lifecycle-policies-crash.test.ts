/**
 * A cleanup policy run killed midway (kill -9 of the real `trove serve` process): every release is
 * then either whole (all its files) or gone, never half deleted; after a restart the run's job is
 * taken over and finishes, leaving exactly what the policy keeps.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestBlobstore } from '../helpers/blobstore.js'
import { buildWheel, uploadDist } from '../helpers/python.js'
import { createTestDatabase, metadataBackends } from '../helpers/postgres.js'
import { TroveNode } from '../helpers/trove-node.js'

const ADMIN_PASSWORD = 'cleanup-crash-admin-password'
const ADMIN_AUTH = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`
const RELEASES = 200
const KEEP = 5
/** Two wheels per release, each with its `.metadata` beside it: four files. */
const TAGS = ['py3-none-any', 'py2.py3-none-any']
const FILES_PER_RELEASE = 4
const POLICY = '/artifactory/api/cleanup/packages/policies/crash'

const backends = await metadataBackends()
const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe.each(backends)('a cleanup run killed midway (%s)', (backend) => {
  it('leaves every release whole or gone, and the restarted server finishes the run', { timeout: 600_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'trove-cleanup-crash-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const database = backend === 'postgres' ? await createTestDatabase() : undefined
    if (database) cleanups.push(() => database.drop())
    const blobstore = await createTestBlobstore(dataDir)
    cleanups.push(() => blobstore.close())
    const env = {
      TROVE_DATA_DIR: dataDir,
      TROVE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TROVE_CLUSTER_HEARTBEAT_SECS: '1',
      TROVE_CLUSTER_NODE_TIMEOUT_SECS: '2',
      ...(database ? { TROVE_DATABASE_URL: database.url } : {}),
      ...blobstore.env,
    }
    const node = await TroveNode.start('cleanup', env)
    cleanups.push(() => node.kill())
    const call = async (method: string, path: string, body?: string | unknown, expected?: number) => {
      const res = await fetch(`${node.url}${path}`, {
        method,
        headers: { authorization: ADMIN_AUTH, ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      })
      const text = await res.text()
      if (expected !== undefined) expect(res.status, text).toBe(expected)
      return res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as Record<string, unknown>) : undefined
    }
    /** Files per release folder of the project, as the storage API lists them. */
    const releases = async () => {
      const listing = (await call('GET', '/artifactory/api/storage/pylocal/proj?list&deep=1', undefined, 200)) as { files: { uri: string }[] }
      const counts = new Map<string, number>()
      for (const { uri } of listing.files) {
        const version = uri.split('/')[1]!
        counts.set(version, (counts.get(version) ?? 0) + 1)
      }
      return counts
    }

    // 1. 200 releases of 4 files each, uploaded as twine does.
    await call('PUT', '/artifactory/api/repositories/pylocal', { key: 'pylocal', rclass: 'local', packageType: 'pypi' }, 200)
    for (let r = 0; r < RELEASES; r++) {
      for (const tag of TAGS) {
        const release = { name: 'proj', version: `1.${r}.0` }
        const res = await uploadDist(`${node.url}/artifactory/api/pypi/pylocal`, ADMIN_AUTH, release, await buildWheel({ ...release, tag }))
        expect(res.status, res.text).toBe(200)
      }
    }
    expect((await releases()).size).toBe(RELEASES)

    // 2. A run, killed as soon as a release is gone.
    await call('PUT', POLICY, { searchCriteria: { repos: ['pylocal'], keepLastNVersions: KEEP } }, 201)
    const started = await call('POST', `${POLICY}/run`, undefined, 201)
    // The release folders (one cheap listing), until the first has gone.
    const folders = async () => ((await call('GET', '/artifactory/api/storage/pylocal/proj', undefined, 200)) as { children: unknown[] }).children.length
    for (let i = 0; i < 6000 && (await folders()) === RELEASES; i++) await sleep(5)
    await node.kill()
    const runId = String(started!.runId)

    // 3. Restarted (once the dead node's heartbeat is stale): every release whole or gone.
    await sleep(3000)
    await node.restart()
    const after = await releases()
    expect(after.size).toBeLessThan(RELEASES)
    expect(after.size, 'the run was killed before its end').toBeGreaterThan(KEEP)
    for (const [version, files] of after) expect(files, version).toBe(FILES_PER_RELEASE)

    // 4. The run's job is taken over and ends with what the policy keeps.
    let run: Record<string, unknown> | undefined
    for (let i = 0; i < 600; i++) {
      run = await call('GET', `/artifactory/api/cleanup/runs/${runId}?limit=1`, undefined, 200)
      if (run!.status === 'succeeded' || run!.status === 'failed') break
      await sleep(200)
    }
    expect(run!.status, node.log).toBe('succeeded')
    const kept = await releases()
    expect([...kept.keys()].sort()).toEqual(Array.from({ length: KEEP }, (_, i) => `1.${RELEASES - KEEP + i}.0`).sort())
    for (const files of kept.values()) expect(files).toBe(FILES_PER_RELEASE)
  })
})
