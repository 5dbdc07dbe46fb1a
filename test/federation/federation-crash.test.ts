import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_PASSWORD } from '../helpers/server.js'
import { ADMIN, Member, createFederated, eventually } from './federation-support.js'

/*
 * kill -9 of the sending instance (a real `trove serve` process) in the middle of replicating a
 * large blob, sent in resumable chunks: the receiver shows nothing partial, and after the sender
 * restarts the transfer goes on from what the receiver kept, and the file arrives whole.
 */
const ROOT = resolve(import.meta.dirname, '../..')
const KEY = 'big-files'
const SIZE = 96 * 1024 * 1024
const members: Member[] = []
let a: Member, b: Member
let child: ChildProcess | undefined

async function startProcess(member: Member): Promise<ChildProcess> {
  const process_ = spawn(process.execPath, ['--import', 'tsx', 'src/cli/trove.ts', 'serve'], {
    cwd: ROOT,
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TROVE_'))),
      TROVE_HOST: '127.0.0.1',
      TROVE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TROVE_LOG_LEVEL: 'warn',
      // One process: the sender that is killed is the one that was sending.
      TROVE_WORKERS: '1',
      ...member.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  await eventually('the sender to start', async () => (await fetch(`${member.url}/api/v1/system/readiness`, { signal: AbortSignal.timeout(2000) })).status === 200, 60_000)
  return process_
}

async function kill(process_: ChildProcess): Promise<void> {
  const exited = new Promise((done) => process_.once('exit', done))
  process_.kill('SIGKILL')
  await exited
}

beforeAll(async () => {
  a = await Member.create(0, 'sqlite', {}, false)
  b = await Member.create(1, 'sqlite')
  members.push(a, b)
  child = await startProcess(a)
  const created = await createFederated(a, [b], KEY, 'generic')
  expect(created.status, await created.text()).toBe(200)
}, 120_000)

afterAll(async () => {
  if (child) await kill(child)
  for (const member of members) await member.destroy()
})

describe('kill -9 during the replication of a large blob', () => {
  it('shows nothing partial on the receiver and completes after the sender restarts', async () => {
    const bytes = randomBytes(SIZE)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    const deployed = await fetch(`${a.repoUrl(KEY)}/images/disk.img`, { method: 'PUT', headers: { authorization: ADMIN }, body: bytes })
    expect(deployed.status).toBe(201)
    // 1. The transfer has begun: the receiver holds part of the blob in a resumable session.
    const sessions = () => b.trove!.services.metadata.db.selectFrom('upload_sessions').select(['id', 'size']).where('repo_key', '=', KEY).execute()
    let held = 0
    for (let i = 0; i < 3000 && held === 0; i++) {
      held = (await sessions()).reduce((sum, s) => sum + Number(s.size), 0)
      if (held === 0) await sleep(10)
    }
    expect(held).toBeGreaterThan(0)
    expect(held).toBeLessThan(SIZE)
    await kill(child!)
    child = undefined
    // 2. Nothing partial is visible on the receiver.
    expect((await fetch(`${b.repoUrl(KEY)}/images/disk.img`, { headers: { authorization: ADMIN } })).status).toBe(404)
    const kept = (await sessions()).reduce((sum, s) => sum + Number(s.size), 0)
    expect(kept).toBeGreaterThanOrEqual(held)
    // 3. The sender restarts and the transfer completes, whole.
    child = await startProcess(a)
    await eventually('the file on B', async () => (await fetch(`${b.repoUrl(KEY)}/images/disk.img`, { method: 'HEAD', headers: { authorization: ADMIN } })).status === 200, 120_000)
    const info = (await (await b.api('GET', `/artifactory/api/storage/${KEY}/images/disk.img`)).json()) as { checksums: { sha256: string }; size: string | number }
    expect(info.checksums.sha256).toBe(sha256)
    expect(Number(info.size)).toBe(SIZE)
    expect(await sessions()).toEqual([])
  }, 240_000)
})
