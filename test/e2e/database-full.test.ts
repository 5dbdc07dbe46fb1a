/**
 * A metadata database whose disk fills up, for real: the SQLite file lives on a small tmpfs that
 * the test fills. The write that meets the full disk answers 507 Insufficient Storage with a
 * message saying so (not a 500), stores nothing, and the server keeps serving reads; once space
 * is freed, the same deploy goes through. (PostgreSQL's `disk_full`, SQLSTATE 53100, takes the
 * same path: src/metadata/metadata-errors.ts.)
 */
import { randomBytes } from 'node:crypto'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { OneConnectionClient } from '../helpers/one-connection.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { TMPFS, mountTmpfs } from '../helpers/tmpfs.js'

const canMount = await requireClients('the database-full suite', [TMPFS])

/** Deploys tried before the database must have run out of room (each adds rows). */
const MAX_DEPLOYS = 2000

/** Writes into `file` until the file system has no room left. */
async function fill(file: string): Promise<void> {
  const handle = await open(file, 'w')
  const block = Buffer.alloc(64 * 1024, 1)
  try {
    for (let block_size = block.length; block_size >= 512; ) {
      try {
        await handle.write(block, 0, block_size)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
        block_size /= 2
      }
    }
  } finally {
    await handle.close()
  }
}

describe.skipIf(!canMount)('writes to a full metadata database (SQLite on a real full tmpfs)', () => {
  let server: TestServer
  let store: { dir: string; unmount: () => Promise<void> }
  let client: OneConnectionClient
  let refused: { path: string; status: number; text: string } | undefined

  beforeAll(async () => {
    const mounted = await mountTmpfs('4m')
    if ('reason' in mounted) throw new Error(mounted.reason)
    store = mounted
    // Only the database is on the small disk; the blobs are in the ordinary data folder.
    server = await startTestServer({ backend: 'sqlite', settings: { database: { url: join(store.dir, 'trove.db') } } })
    client = new OneConnectionClient(server.url, server.adminAuth)
    const created = await client.send('PUT', '/artifactory/api/repositories/generic-local', JSON.stringify({ key: 'generic-local', rclass: 'local', packageType: 'generic' }), {
      'content-type': 'application/json',
    })
    expect(created.status, created.text).toBe(200)
    expect((await client.send('PUT', '/artifactory/generic-local/before.txt', Buffer.from('stored before the disk filled'))).status).toBe(201)
    await fill(join(store.dir, 'filler'))
  })

  afterAll(async () => {
    client?.close()
    await server?.close()
    await store?.unmount()
  })

  it('refuses the deploy that finds no room with 507 and a message, and stores nothing', async () => {
    for (let i = 0; i < MAX_DEPLOYS && refused === undefined; i++) {
      const path = `generic-local/after/${i}.bin;build.name=full;build.number=${i}`
      const reply = await client.send('PUT', `/artifactory/${path}`, randomBytes(64))
      if (reply.status !== 201) refused = { path: `generic-local/after/${i}.bin`, status: reply.status, text: reply.text }
    }
    expect(refused, `${MAX_DEPLOYS} deploys went through on a full disk`).toBeDefined()
    expect(refused!.status, refused!.text).toBe(507)
    expect(JSON.parse(refused!.text)).toEqual({
      errors: [{ status: 507, code: 'INSUFFICIENT_STORAGE', message: 'the metadata database is full: nothing was stored; an administrator must free or add storage' }],
    })
    expect((await client.send('GET', `/artifactory/${refused!.path}`)).status).toBe(404)
  })

  it('keeps serving reads, and takes the same deploy once space is freed', async () => {
    const before = await client.send('GET', '/artifactory/generic-local/before.txt')
    expect(before.status).toBe(200)
    expect(before.text).toBe('stored before the disk filled')
    await rm(join(store.dir, 'filler'))
    const deployed = await client.send('PUT', `/artifactory/${refused!.path}`, randomBytes(64))
    expect(deployed.status, deployed.text).toBe(201)
  })
})
