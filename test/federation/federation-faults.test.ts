import { cp, rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { Member, converged, createFederated, eventually } from './federation-support.js'

/*
 * Faults: a member that is down (partitioned) gets its backlog, or past the bound a full sync,
 * when it returns; a read-only member receives nothing until it leaves read-only, then catches up;
 * a member restored from an older copy of its data folder is repaired by the full sync; an admin
 * pauses, resumes and removes a member. C runs on PostgreSQL when it is available.
 */
const backends = await metadataBackends()
const members: Member[] = []
let a: Member, b: Member, c: Member
const KEY = 'platform-files'

beforeAll(async () => {
  a = await Member.create(0, 'sqlite', { federation: { maxBacklog: 3 } })
  b = await Member.create(1, 'sqlite')
  c = await Member.create(2, backends.includes('postgres') ? 'postgres' : 'sqlite')
  members.push(a, b, c)
  const created = await createFederated(a, [b, c], KEY, 'generic')
  expect(created.status, await created.text()).toBe(200)
  await a.put(KEY, 'old/keep.txt', 'kept')
  await a.put(KEY, 'old/doomed.txt', 'to be deleted on B')
  await converged(KEY, [a, b, c])
}, 120_000)

afterAll(async () => {
  for (const member of members) await member.destroy()
})

describe('federation faults', () => {
  it('converges after a partition: writes on A and B, a delete on B, while C is down', async () => {
    await c.stop()
    for (let i = 0; i < 5; i++) await a.put(KEY, `from-a/${i}.txt`, `A wrote ${i}`)
    await b.put(KEY, 'from-b/one.txt', 'B wrote one')
    await b.delete(KEY, 'old/doomed.txt')
    // A's backlog for C passed its bound (3): dropped, and a full sync is owed instead; B keeps its backlog.
    await eventually('A to see C down', async () => {
      const member = (await a.status(KEY)).members.find((m) => m.url === c.repoUrl(KEY))!
      return member.state === 'failing' && member.lastError !== null && (member as { backlogOverflowedAt?: string | null }).backlogOverflowedAt != null
    })
    const fromB = (await b.status(KEY)).members.find((m) => m.url === c.repoUrl(KEY))!
    expect(fromB.backlog).toBe(2)
    const metrics = await (await b.api('GET', '/artifactory/api/v1/metrics')).text()
    expect(metrics).toContain(`trove_federation_backlog{repo="${KEY}",member="${c.repoUrl(KEY)}"} 2`)
    expect(metrics).toMatch(new RegExp(`trove_federation_lag_seconds\\{repo="${KEY}",member="${c.repoUrl(KEY).replace(/[.]/g, '\\.')}"\\} [0-9.]+`))

    await c.start()
    const listing = await converged(KEY, [a, b, c])
    expect(Object.keys(listing).sort()).toEqual(['from-a/0.txt', 'from-a/1.txt', 'from-a/2.txt', 'from-a/3.txt', 'from-a/4.txt', 'from-b/one.txt', 'old/keep.txt'])
    expect(await c.get(KEY, 'from-a/4.txt')).toBe('A wrote 4')
    await eventually('the backlogs drained', async () => (await Promise.all([a, b].map((m) => m.status(KEY)))).every((s) => s.members.every((m) => m.backlog === 0 && m.state === 'ok')))
  })

  it('sends nothing to a read-only member until it leaves read-only, then it catches up', async () => {
    expect((await c.api('PUT', '/api/v1/system/read-only', { enabled: true, message: 'upgrading' })).status).toBe(200)
    await a.put(KEY, 'while-read-only.txt', 'waits')
    await eventually('A to be refused by C', async () => ((await a.status(KEY)).members.find((m) => m.url === c.repoUrl(KEY))?.lastError ?? '').includes('upgrading'))
    expect(await c.get(KEY, 'while-read-only.txt')).toBeUndefined()
    expect(await b.get(KEY, 'while-read-only.txt')).toBe('waits')
    expect((await c.api('PUT', '/api/v1/system/read-only', { enabled: false })).status).toBe(200)
    await eventually('C to catch up', async () => (await c.get(KEY, 'while-read-only.txt')) === 'waits')
  })

  it('repairs a member restored from an older copy of its data folder with the full sync', async () => {
    // 1. A copy of B's data folder (SQLite and blobs), taken while it is stopped.
    await b.stop()
    const backup = `${b.dataDir}-backup`
    await cp(b.dataDir, backup, { recursive: true })
    await b.start()
    // 2. Changes B takes in after the copy: new files, a replaced one, a delete.
    await a.put(KEY, 'after-backup/new.txt', 'newer than the backup')
    await a.put(KEY, 'old/keep.txt', 'kept, changed after the backup')
    await c.delete(KEY, 'from-b/one.txt')
    await converged(KEY, [a, b, c])
    // 3. B is restored from the copy: it has lost them, and its members have nothing left to send it.
    await b.stop()
    await rm(b.dataDir, { recursive: true, force: true })
    await cp(backup, b.dataDir, { recursive: true })
    await rm(backup, { recursive: true, force: true })
    await b.start()
    expect(await b.get(KEY, 'after-backup/new.txt')).toBeUndefined()
    expect(await b.get(KEY, 'from-b/one.txt')).toBe('B wrote one')
    // 4. The admin asks A for a full sync (it runs periodically too): B is repaired.
    expect((await a.api('POST', `/artifactory/api/federation/fullSync/${KEY}`)).status).toBe(202)
    await converged(KEY, [a, b, c])
    expect(await b.get(KEY, 'after-backup/new.txt')).toBe('newer than the backup')
    expect(await b.get(KEY, 'old/keep.txt')).toBe('kept, changed after the backup')
    expect(await b.get(KEY, 'from-b/one.txt')).toBeUndefined()
    expect((await a.status(KEY)).members.every((m) => m.lastFullSync !== null)).toBe(true)
  })

  it('lets an admin pause, resume and remove a member', async () => {
    const member = encodeURIComponent(c.repoUrl(KEY))
    expect((await a.api('POST', `/artifactory/api/federation/pause/${KEY}?member=${member}`)).status).toBe(200)
    await a.put(KEY, 'paused.txt', 'held back')
    await eventually('B to have paused.txt', async () => (await b.get(KEY, 'paused.txt')) === 'held back')
    const paused = (await a.status(KEY)).members.find((m) => m.url === c.repoUrl(KEY))!
    expect(paused.state).toBe('paused')
    expect(paused.backlog).toBe(1)
    expect((await a.api('POST', `/artifactory/api/federation/resume/${KEY}?member=${member}`)).status).toBe(200)
    await eventually('C to have paused.txt', async () => (await c.get(KEY, 'paused.txt')) === 'held back')

    // Bad requests: no member named, a URL that is not a member, a repository that is not federated.
    expect((await a.api('POST', `/artifactory/api/federation/pause/${KEY}`)).status).toBe(400)
    expect((await a.api('POST', `/artifactory/api/federation/pause/${KEY}?member=${encodeURIComponent('http://127.0.0.1:9/artifactory/x')}`)).status).toBe(404)
    expect((await a.api('PUT', '/artifactory/api/repositories/plain', { rclass: 'local', packageType: 'generic' })).status).toBe(200)
    expect((await a.api('GET', '/artifactory/api/federation/status/plain')).status).toBe(409)
    expect((await fetch(`${a.url}/artifactory/api/federation/status/${KEY}`)).status).toBe(401)

    const removed = await a.api('DELETE', `/artifactory/api/federation/members/${KEY}?member=${member}`)
    expect(removed.status).toBe(200)
    expect(((await removed.json()) as { members: { url: string }[] }).members.map((m) => m.url)).toEqual([b.repoUrl(KEY)])
    await a.put(KEY, 'after-removal.txt', 'not for C from A')
    await eventually('B to have after-removal.txt', async () => (await b.get(KEY, 'after-removal.txt')) !== undefined)
    expect((await a.status(KEY)).members).toHaveLength(1)
  })
})
