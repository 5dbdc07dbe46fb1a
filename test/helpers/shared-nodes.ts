import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { createTrove, type Trove } from '../../src/main.js'
import { createTestBlobstore } from './blobstore.js'
import { createTestDatabase } from './postgres.js'
import { testConfig } from './server.js'

/** `count` Troves in this process sharing one new PostgreSQL database and one blob store, with `settings`; `close()` removes it all. */
export async function startSharedNodes(count: number, settings: Record<string, unknown> = {}): Promise<{ urls: string[]; close(): Promise<void> }> {
  const database = await createTestDatabase()
  const dataDir = await mkdtemp(join(tmpdir(), 'trove-shared-nodes-'))
  const blobstore = await createTestBlobstore(dataDir)
  const nodes: { trove: Trove; url: string }[] = []
  const close = async () => {
    for (const node of nodes) await node.trove.close()
    await blobstore.close()
    await database.drop()
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const config = testConfig({ dataDir, databaseUrl: database.url, blobstore, settings })
    for (let i = 0; i < count; i++) {
      const trove = await createTrove(config, { logger: pino({ level: 'silent' }) })
      nodes.push({ trove, url: await trove.listen() })
    }
  } catch (err) {
    await close()
    throw err
  }
  return { urls: nodes.map((n) => n.url), close }
}
