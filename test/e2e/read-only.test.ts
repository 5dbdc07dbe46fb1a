/**
 * The read-only switch, as a platform team uses it for maintenance: while it is on, every write
 * on every route is refused with 503 and the admin's message, and every read works; switched off,
 * writes work again. Only an admin may flip it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import {
  Client,
  createRepository,
  createUser,
  curl,
  deploy,
  digestsOf,
  expectRestError,
  grant,
  randomPayload,
  storeSnapshot,
  type HttpResponse,
} from './generic-support.js'

const backends = await metadataBackends()
const hasCurl = await requireClients('the read-only suite (curl)', ['curl'])

const MESSAGE = 'maintenance until 5pm'

describe.skipIf(!hasCurl).each(backends)('read-only mode (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let developer: Client
  let tokenId: string
  let work: string
  const existing = Buffer.from('deployed before the maintenance\n')

  const setReadOnly = async (enabled: boolean, message?: string) => {
    const response = await admin.put('/api/v1/system/read-only', { body: { enabled, ...(message ? { message } : {}) } })
    expect(response.status, response.text).toBe(200)
    return response.json()
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    work = await mkdtemp(join(tmpdir(), 'trove-read-only-e2e-'))
    await createRepository(admin, 'generic-local')
    await deploy(admin, 'generic-local/dir/existing.txt;stage=prod', existing)
    await createUser(admin, 'developer', 'developer-password')
    await grant(admin, 'generic-local', 'developer', ['read', 'annotate', 'deploy', 'delete'])
    developer = admin.asUser('developer', 'developer-password')
    const token = await developer.post('/access/api/v1/tokens', { body: { description: 'before maintenance' } })
    expect(token.status).toBe(200)
    tokenId = token.json().token_id
  })

  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('is off on a fresh server', async () => {
    const response = await admin.anonymous.get('/api/v1/system/read-only')

    expect(response.status).toBe(200)
    expect(response.json()).toMatchObject({ enabled: false })
  })

  it('cannot be switched by anonymous callers (401) or by users who are not admins (403)', async () => {
    expectRestError(await admin.anonymous.put('/api/v1/system/read-only', { body: { enabled: true, message: 'x' } }), 401)
    expectRestError(await developer.put('/api/v1/system/read-only', { body: { enabled: true, message: 'x' } }), 403)
    expect((await admin.get('/api/v1/system/read-only')).json()).toMatchObject({ enabled: false })
  })

  it('refuses a malformed switch request (400)', async () => {
    expectRestError(await admin.put('/api/v1/system/read-only', { body: { enabled: 'yes' } }), 400)
    expectRestError(await admin.put('/api/v1/system/read-only', { body: { enabled: true, message: 42 } }), 400)
    expect((await admin.get('/api/v1/system/read-only')).json()).toMatchObject({ enabled: false })
  })

  describe('while on', () => {
    beforeAll(async () => {
      const state = await setReadOnly(true, MESSAGE)
      expect(state).toMatchObject({ enabled: true, message: MESSAGE })
    })

    afterAll(async () => {
      await setReadOnly(false)
    })

    it('reports its state and message to anyone', async () => {
      const response = await admin.anonymous.get('/api/v1/system/read-only')

      expect(response.json()).toEqual({ enabled: true, message: MESSAGE, updatedAt: expect.any(String) })
    })

    const propertiesOfExisting = async () =>
      (await admin.get('/artifactory/api/storage/generic-local/dir/existing.txt?properties')).json().properties

    /** Each write, and a read that shows it changed nothing. */
    const writes: [string, () => Promise<HttpResponse>, () => Promise<void>][] = [
      [
        'a deploy',
        () => admin.put('/artifactory/generic-local/dir/new.txt', { body: 'new' }),
        async () => expectRestError(await admin.get('/artifactory/generic-local/dir/new.txt'), 404),
      ],
      [
        'a deploy by a user with a deploy grant',
        () => developer.put('/artifactory/generic-local/dir/by-developer.txt', { body: 'new' }),
        async () => expectRestError(await admin.get('/artifactory/generic-local/dir/by-developer.txt'), 404),
      ],
      [
        'an overwrite',
        () => admin.put('/artifactory/generic-local/dir/existing.txt', { body: 'changed' }),
        async () => expect((await admin.get('/artifactory/generic-local/dir/existing.txt')).body).toEqual(existing),
      ],
      [
        'a deploy by checksum',
        () =>
          admin.put('/artifactory/generic-local/dir/copy.txt', {
            headers: { 'X-Checksum-Deploy': 'true', 'X-Checksum-Sha256': digestsOf(existing).sha256 },
          }),
        async () => expectRestError(await admin.get('/artifactory/generic-local/dir/copy.txt'), 404),
      ],
      [
        'a folder creation',
        () => admin.put('/artifactory/generic-local/new-folder/'),
        async () => expectRestError(await admin.get('/artifactory/api/storage/generic-local/new-folder'), 404),
      ],
      [
        'a file delete',
        () => admin.delete('/artifactory/generic-local/dir/existing.txt'),
        async () => expect((await admin.get('/artifactory/generic-local/dir/existing.txt')).status).toBe(200),
      ],
      [
        'a folder delete',
        () => admin.delete('/artifactory/generic-local/dir'),
        async () => expect((await admin.get('/artifactory/generic-local/dir/existing.txt')).status).toBe(200),
      ],
      [
        'setting properties',
        () => admin.put('/artifactory/api/storage/generic-local/dir/existing.txt?properties=stage=dev'),
        async () => expect(await propertiesOfExisting()).toEqual({ stage: ['prod'] }),
      ],
      [
        'deleting properties',
        () => admin.delete('/artifactory/api/storage/generic-local/dir/existing.txt?properties=stage'),
        async () => expect(await propertiesOfExisting()).toEqual({ stage: ['prod'] }),
      ],
      [
        'a repository creation',
        () => admin.put('/artifactory/api/repositories/maintenance-local', { body: { rclass: 'local', packageType: 'generic' } }),
        async () => expectRestError(await admin.get('/artifactory/api/repositories/maintenance-local'), 404),
      ],
      [
        'a repository update',
        () => admin.post('/artifactory/api/repositories/generic-local', { body: { description: 'changed' } }),
        async () => expect((await admin.get('/artifactory/api/repositories/generic-local')).json().description).toBeUndefined(),
      ],
      [
        'a repository delete',
        () => admin.delete('/artifactory/api/repositories/generic-local'),
        async () => expect((await admin.get('/artifactory/api/repositories/generic-local')).status).toBe(200),
      ],
      [
        'a grant',
        () => admin.put('/api/v1/repositories/generic-local/grants/developer', { body: { actions: ['read'] } }),
        async () => expect((await admin.get('/api/v1/repositories/generic-local/grants')).json().grants).toEqual([
          { user: 'developer', actions: ['read', 'annotate', 'deploy', 'delete'] },
        ]),
      ],
      [
        'a user creation',
        () => admin.put('/artifactory/api/security/users/newcomer', { body: { email: 'n@example.test', password: 'newcomer-password' } }),
        async () => expectRestError(await admin.get('/artifactory/api/security/users/newcomer'), 404),
      ],
      [
        'a user delete',
        () => admin.delete('/artifactory/api/security/users/developer'),
        async () => expect((await admin.get('/artifactory/api/security/users/developer')).status).toBe(200),
      ],
      [
        'a token creation',
        () => developer.post('/access/api/v1/tokens', { body: { description: 'during maintenance' } }),
        async () => expect((await developer.get('/access/api/v1/tokens')).json().tokens).toHaveLength(1),
      ],
      [
        'a token revocation',
        () => developer.delete(`/access/api/v1/tokens/${tokenId}`),
        async () => expect((await developer.get('/access/api/v1/tokens')).json().tokens).toHaveLength(1),
      ],
    ]

    it.each(writes)('refuses %s with 503 and the message, and changes nothing', async (_name, write, isUnchanged) => {
      const response = await write()

      expectRestError(response, 503, MESSAGE)
      expect(response.json().errors[0].message).toBe(MESSAGE)
      await isUnchanged()
    })

    it('refuses a large upload from curl -T before storing a byte', async () => {
      const before = await storeSnapshot(server)
      const input = join(work, 'maintenance-upload.bin')
      await writeFile(input, randomPayload(512 * 1024))

      const target = `${server.url}/artifactory/generic-local/dir/big.bin`
      const result = await curl(['-u', `admin:${ADMIN_PASSWORD}`, '-T', input, target], join(work, 'refused.json'))

      expect(result.status).toBe(503)
      expect(JSON.parse(result.body.toString())).toEqual({ errors: [{ status: 503, code: 'READ_ONLY', message: MESSAGE }] })
      expectRestError(await admin.get('/artifactory/generic-local/dir/big.bin'), 404)
      expect(await storeSnapshot(server)).toEqual(before)
    })

    it('serves every read: downloads, storage info, listings, properties, search, repositories', async () => {
      const download = await developer.get('/artifactory/generic-local/dir/existing.txt')
      expect(download.status).toBe(200)
      expect(download.body).toEqual(existing)
      expect((await admin.head('/artifactory/generic-local/dir/existing.txt')).status).toBe(200)
      expect((await admin.get('/artifactory/generic-local/dir/existing.txt', { headers: { range: 'bytes=0-3' } })).status).toBe(206)
      expect((await admin.get('/artifactory/api/storage/generic-local/dir/existing.txt')).json()).toMatchObject({ path: '/dir/existing.txt' })
      expect((await admin.get('/artifactory/api/storage/generic-local/dir?list&deep=1')).json().files).toHaveLength(1)
      expect((await admin.get('/artifactory/api/storage/generic-local/dir/existing.txt?properties')).status).toBe(200)
      expect((await admin.get('/artifactory/api/storage/generic-local/dir/existing.txt?stats')).status).toBe(200)
      expect((await admin.get('/artifactory/api/search/artifact?name=existing.txt')).json().results).toHaveLength(1)
      expect((await admin.get('/artifactory/api/repositories')).json()).toEqual([expect.objectContaining({ key: 'generic-local' })])
      expect((await admin.get('/artifactory/api/repositories/generic-local')).status).toBe(200)
      expect((await admin.get('/artifactory/api/security/users')).status).toBe(200)
      expect((await developer.get('/access/api/v1/tokens')).status).toBe(200)
      expect((await admin.anonymous.get('/artifactory/api/system/ping')).text).toBe('OK')
    })

    it('still cannot be switched off by a user who is not an admin', async () => {
      expectRestError(await developer.put('/api/v1/system/read-only', { body: { enabled: false } }), 403)
      expectRestError(await admin.anonymous.put('/api/v1/system/read-only', { body: { enabled: false } }), 401)
      expect((await admin.get('/api/v1/system/read-only')).json()).toMatchObject({ enabled: true, message: MESSAGE })
    })
  })

  describe('switched off again', () => {
    it('accepts writes again', async () => {
      const state = await setReadOnly(false)
      expect(state).toMatchObject({ enabled: false })

      await deploy(developer, 'generic-local/dir/after.txt', 'after the maintenance')
      expect((await admin.put('/artifactory/api/storage/generic-local/dir/after.txt?properties=stage=dev')).status).toBe(204)
      expect((await admin.put('/artifactory/api/repositories/after-local', { body: { rclass: 'local', packageType: 'generic' } })).status).toBe(200)
      const newcomer = { email: 'n@example.test', password: 'newcomer-password' }
      expect((await admin.put('/artifactory/api/security/users/newcomer', { body: newcomer })).status).toBe(201)
      expect((await developer.post('/access/api/v1/tokens', { body: {} })).status).toBe(200)
      expect((await developer.delete('/artifactory/generic-local/dir/after.txt')).status).toBe(204)
    })

    it('uses a default message when switched on without one', async () => {
      const state = await setReadOnly(true)
      try {
        expect(state.message).toMatch(/read-only/)
        expectRestError(await admin.put('/artifactory/generic-local/dir/x.txt', { body: 'x' }), 503, state.message)
      } finally {
        await setReadOnly(false)
      }
    })
  })
})
