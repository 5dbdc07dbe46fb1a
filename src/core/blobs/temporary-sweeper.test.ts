import { spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import { FilesystemStorageDriver } from '../../storage/filesystem/filesystem-storage-driver.js'
import { InstanceRegistry } from '../system/instances.js'
import { BlobStore } from './blob-store.js'
import { TemporarySweeper, ownerOf, writerId } from './temporary-sweeper.js'

const backends = await metadataBackends()
const logger = pino({ level: 'silent' })

describe.each(backends)('sweeping abandoned uploads (%s)', (backend) => {
  let core: CoreFixture
  let driver: FilesystemStorageDriver
  let instances: InstanceRegistry
  let blobs: BlobStore
  let sweeper: TemporarySweeper

  beforeEach(async () => {
    core = await createCoreFixture(backend)
    driver = new FilesystemStorageDriver(core.dataDir)
    instances = new InstanceRegistry(core.metadata.db, logger)
    await instances.start()
    blobs = new BlobStore(driver, { owner: instances.id })
    sweeper = new TemporarySweeper(driver, instances, (id) => blobs.isWriting(id), logger)
  })
  afterEach(async () => {
    await instances.stop()
    await core.cleanup()
  })

  /** Temporary data as a writer of `owner` leaves it (bytes written, never committed). */
  async function leftBy(owner: string): Promise<string> {
    const id = writerId(owner)
    const writer = await driver.createWriter(id)
    await new Promise<void>((resolve, reject) => writer.stream.write(Buffer.from('partial'), (err) => (err ? reject(err) : resolve())))
    return id
  }

  async function temporaries(): Promise<string[]> {
    return (await readdir(join(core.dataDir, '_uploads')).catch(() => [])).sort()
  }

  async function registerInstance(id: string, row: { pid: number; heartbeatAgoMs?: number; local?: boolean }): Promise<void> {
    const now = Date.now()
    const sameHost = await core.metadata.db.selectFrom('instances').select('host_identity').where('id', '=', instances.id).executeTakeFirstOrThrow()
    await core.metadata.db
      .insertInto('instances')
      .values({
        id,
        hostname: row.local ? hostname() : 'another-node',
        host_identity: row.local ? sameHost.host_identity : 'another-boot/pid:[1]',
        pid: row.pid,
        started_at: now - 60_000,
        heartbeat_at: now - (row.heartbeatAgoMs ?? 0),
      })
      .execute()
  }

  it('keeps the data of this process’s running uploads and of live instances, removes every orphan', async () => {
    // 1. A running upload of this process: a put whose body has not ended.
    const body = new Readable({ read() {} })
    body.push(Buffer.from('still coming'))
    const running = blobs.put(body)
    await waitFor(async () => (await temporaries()).length === 1)
    const [runningId] = await temporaries()
    expect(ownerOf(runningId!)).toBe(instances.id)

    // 2. Leftovers of this process (a clean-up that failed), of a live node, of a node that
    //    stopped beating, of a node that shut down (no row), of a crashed process on this host.
    const ownLeak = await leftBy(instances.id)
    await registerInstance('aaaaaaaaaaaaaaaa', { pid: 4242 })
    const live = await leftBy('aaaaaaaaaaaaaaaa')
    await registerInstance('bbbbbbbbbbbbbbbb', { pid: 4242, heartbeatAgoMs: 5 * 60_000 })
    const stale = await leftBy('bbbbbbbbbbbbbbbb')
    const gone = await leftBy('cccccccccccccccc')
    await registerInstance('dddddddddddddddd', { pid: exitedPid(), local: true })
    const crashed = await leftBy('dddddddddddddddd')

    expect(await sweeper.sweep()).toEqual({ removed: 4, kept: 2 })

    expect(await temporaries()).toEqual([runningId!, live].sort())
    for (const id of [ownLeak, stale, gone, crashed]) expect(await temporaries()).not.toContain(id)

    // 3. The running upload is untouched and completes.
    body.push(null)
    const blob = await running
    expect(await blobs.exists(blob.sha256)).toBe(true)
    expect(await temporaries()).toEqual([live])
  })

  it('takes a process with this process’s own pid on this host for a previous life of it', async () => {
    // A container restarted after a crash gets the same pid (often 1): the row is the dead one.
    await registerInstance('eeeeeeeeeeeeeeee', { pid: process.pid, local: true })
    const previous = await leftBy('eeeeeeeeeeeeeeee')

    expect(await sweeper.sweep()).toEqual({ removed: 1, kept: 0 })
    expect(await temporaries()).not.toContain(previous)
  })

  it('removes data of unknown owners (written by an earlier version) only once an hour old', async () => {
    await mkdir(join(core.dataDir, '_uploads'), { recursive: true })
    for (const [name, ageMs] of [['1f0c0c52-aaaa-4bbb-8ccc-000000000001', 2 * 3600_000], ['1f0c0c52-aaaa-4bbb-8ccc-000000000002', 60_000]] as const) {
      const file = join(core.dataDir, '_uploads', name)
      await writeFile(file, 'old')
      const then = new Date(Date.now() - ageMs)
      await utimes(file, then, then)
    }

    expect(await sweeper.sweep()).toEqual({ removed: 1, kept: 1 })
    expect(await temporaries()).toEqual(['1f0c0c52-aaaa-4bbb-8ccc-000000000002'])
  })

  it('an instance’s row goes with its clean shutdown, so what it left counts as abandoned at once', async () => {
    await registerInstance('ffffffffffffffff', { pid: 4242 })
    const left = await leftBy('ffffffffffffffff')
    expect(await sweeper.sweep()).toEqual({ removed: 0, kept: 1 })

    await core.metadata.db.deleteFrom('instances').where('id', '=', 'ffffffffffffffff').execute()

    expect(await sweeper.sweep()).toEqual({ removed: 1, kept: 0 })
    expect(await temporaries()).not.toContain(left)
    // And this registry's own stop() removes its row.
    await instances.stop()
    expect(await core.metadata.db.selectFrom('instances').select('id').execute()).toEqual([])
  })
})

/** The pid of a process that has exited (and that nothing reuses within the test). */
function exitedPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(child.stdout)
}

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
