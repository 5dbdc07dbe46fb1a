/**
 * SQLite serves one node (issue 15): a second `trove serve` on the same database is refused at
 * start with a message that says why and what to do, and changes nothing; a node restarted after
 * a crash (kill -9) is not mistaken for a second one.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { basicAuth } from '../helpers/server.js'
import { TroveNode } from '../helpers/trove-node.js'

const PASSWORD = 'single-node-password'
const dataDir = await mkdtemp(join(tmpdir(), 'trove-sqlite-single-'))
const env = { TROVE_DATA_DIR: dataDir, TROVE_ADMIN_PASSWORD: PASSWORD }
const nodes: TroveNode[] = []

afterAll(async () => {
  for (const node of nodes) await node.kill()
  await rm(dataDir, { recursive: true, force: true })
})

it('refuses a second node on the same SQLite database, and takes a restart after a crash', { timeout: 180_000 }, async () => {
  const first = await TroveNode.start('first', env)
  nodes.push(first)
  const put = await fetch(`${first.url}/artifactory/api/repositories/kept`, {
    method: 'PUT',
    headers: { authorization: basicAuth('admin', PASSWORD), 'content-type': 'application/json' },
    body: JSON.stringify({ key: 'kept', rclass: 'local', packageType: 'generic' }),
  })
  expect(put.status).toBe(200)

  // 1. A second node: exit code 2 and a clear message; the first keeps serving.
  const second = await TroveNode.start('second', env).catch((err: Error) => err)
  expect(second).toBeInstanceOf(Error)
  expect((second as Error).message).toMatch(/exited during start \(2\)/)
  expect((second as Error).message).toContain('another Trove node is running on the SQLite database')
  expect((second as Error).message).toContain(`pid`)
  expect((second as Error).message).toContain('PostgreSQL')
  expect((await fetch(`${first.url}/api/v1/system/readiness`)).status).toBe(200)

  // 2. kill -9, then a start on the same database: the dead process is recognised at once.
  await first.kill()
  await first.restart()
  const nodesList = (await (await fetch(`${first.url}/api/v1/system/nodes`, { headers: { authorization: basicAuth('admin', PASSWORD) } })).json()) as { nodes: { state: string; isSelf: boolean }[] }
  expect(nodesList.nodes.filter((n) => n.isSelf)).toHaveLength(1)
  expect((await fetch(`${first.url}/artifactory/api/repositories/kept`, { headers: { authorization: basicAuth('admin', PASSWORD) } })).status).toBe(200)
})
