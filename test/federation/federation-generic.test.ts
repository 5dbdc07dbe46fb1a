import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN, Member, TOKENS, converged, createFederated, eventually } from './federation-support.js'

/*
 * Three instances, each with its own data; C on PostgreSQL when it is available. A federated
 * generic repository created on A with B and C as members is created on B and C too; every
 * deploy, property change and delete on any member reaches the others, and the same path written
 * on two members ends identical everywhere.
 */
const backends = await metadataBackends()
const members: Member[] = []
let a: Member, b: Member, c: Member

beforeAll(async () => {
  a = await Member.create(0, 'sqlite')
  b = await Member.create(1, 'sqlite')
  c = await Member.create(2, backends.includes('postgres') ? 'postgres' : 'sqlite')
  members.push(a, b, c)
}, 120_000)

afterAll(async () => {
  for (const member of members) await member.destroy()
})

describe('federated generic repository on three instances', () => {
  it('is created on the members through the federation API, and refuses a member of another type', async () => {
    // 1. B already has a local generic repository of that key: creating the federation is refused, nothing is created.
    expect((await b.api('PUT', '/artifactory/api/repositories/clash', { rclass: 'local', packageType: 'generic' })).status).toBe(200)
    const refused = await createFederated(a, [b, c], 'clash', 'generic')
    expect(refused.status).toBe(409)
    const message = JSON.stringify(await refused.json())
    expect(message).toContain(b.repoUrl('clash'))
    expect(message).toContain('is a local generic repository')
    expect((await a.api('GET', '/artifactory/api/repositories/clash')).status).toBe(404)
    expect((await c.api('GET', '/artifactory/api/repositories/clash')).status).toBe(404)

    // 2. A member that is not the same-named repository is refused by validation.
    const misnamed = await a.api('PUT', '/artifactory/api/repositories/shared', { rclass: 'federated', packageType: 'generic', members: [{ url: b.repoUrl('other'), enabled: true }] })
    expect(misnamed.status).toBe(400)

    // 3. Created on A: B and C have it, federated, each listing the two others.
    const created = await createFederated(a, [b, c], 'shared', 'generic', { description: 'platform files' })
    expect(created.status, await created.clone().text()).toBe(200)
    for (const member of [b, c]) {
      const config = (await (await member.api('GET', '/artifactory/api/repositories/shared')).json()) as { rclass: string; description: string; members: { url: string }[] }
      expect(config.rclass).toBe('federated')
      expect(config.description).toBe('platform files')
      expect(config.members.map((m) => m.url).sort()).toEqual([a, b, c].filter((m) => m !== member).map((m) => m.repoUrl('shared')).sort())
    }
  })

  it('refuses calls between instances without a federation token, and bad replication batches', async () => {
    const noToken = await fetch(`${b.url}/artifactory/api/federation/changes/shared`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"from":"x","files":[]}' })
    expect(noToken.status).toBe(401)
    // A user's credentials are not a federation credential.
    const userOnly = await fetch(`${b.url}/artifactory/api/federation/changes/shared`, { method: 'POST', headers: { authorization: ADMIN, 'content-type': 'application/json' }, body: '{"from":"x","files":[]}' })
    expect(userOnly.status).toBe(401)
    const peer = { 'x-trove-federation-token': TOKENS[0]!, 'content-type': 'application/json' }
    const bad = await fetch(`${b.url}/artifactory/api/federation/changes/shared`, { method: 'POST', headers: peer, body: JSON.stringify({ from: 'x', files: [{ path: 'a', hlc: 'yesterday', deleted: true }] }) })
    expect(bad.status).toBe(400)
    const unknownBlob = await fetch(`${b.url}/artifactory/api/federation/changes/shared`, {
      method: 'POST',
      headers: peer,
      body: JSON.stringify({ from: 'x', files: [{ path: 'ghost.txt', hlc: '000000000000001.000000.x', deleted: false, blob: { sha256: 'a'.repeat(64), sha1: 'a'.repeat(40), md5: 'a'.repeat(32), size: 1 } }] }),
    })
    expect(unknownBlob.status).toBe(404)
    const corrupt = await fetch(`${b.url}/artifactory/api/federation/blobs/${'b'.repeat(64)}?repo=shared`, { method: 'PUT', headers: { ...peer, 'content-type': 'application/octet-stream' }, body: 'not those bytes' })
    expect(corrupt.status).toBe(400)
    expect(await b.get('shared', 'ghost.txt')).toBeUndefined()
  })

  it('replicates deploys, properties and deletes from any member to the others', async () => {
    await a.put('shared', 'tools/one.txt', 'one from A')
    await b.put('shared', 'tools/two.txt', 'two from B')
    await eventually('one.txt on C', async () => (await c.get('shared', 'tools/one.txt')) === 'one from A').catch(async (err) => {
      throw new Error(`${String(err)} ${JSON.stringify(await a.status('shared'))}`)
    })
    await eventually('two.txt on A and C', async () => (await a.get('shared', 'tools/two.txt')) === 'two from B' && (await c.get('shared', 'tools/two.txt')) === 'two from B')

    const set = await c.api('PUT', '/artifactory/api/storage/shared/tools/one.txt?properties=release=1.0%7Cteam=platform')
    expect(set.status).toBe(204)
    await eventually('the properties on A', async () => {
      const response = await a.api('GET', '/artifactory/api/storage/shared/tools/one.txt?properties')
      if (response.status !== 200) return false
      const { properties } = (await response.json()) as { properties: Record<string, string[]> }
      return properties.release?.[0] === '1.0' && properties.team?.[0] === 'platform'
    }).catch(async (err) => {
      throw new Error(`${String(err)} ${JSON.stringify(await c.status('shared'))}`)
    })

    await b.delete('shared', 'tools/one.txt')
    await eventually('one.txt gone from A and C', async () => (await a.get('shared', 'tools/one.txt')) === undefined && (await c.get('shared', 'tools/one.txt')) === undefined)
    const listing = await converged('shared', [a, b, c])
    expect(Object.keys(listing)).toEqual(['tools/two.txt'])
    const status = await a.status('shared')
    expect(status.members.map((m) => m.state)).toEqual(['ok', 'ok'])
  })

  it('ends identical everywhere when the same path is written on two members at once', async () => {
    await Promise.all([a.put('shared', 'race.txt', 'bytes of A'), b.put('shared', 'race.txt', 'bytes of B')])
    const listing = await converged('shared', [a, b, c])
    const winner = await a.get('shared', 'race.txt')
    expect(['bytes of A', 'bytes of B']).toContain(winner)
    expect(await b.get('shared', 'race.txt')).toBe(winner)
    expect(await c.get('shared', 'race.txt')).toBe(winner)
    expect(listing['race.txt']).toBeDefined()
  })
})
