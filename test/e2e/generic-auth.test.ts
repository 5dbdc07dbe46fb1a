/**
 * Who may do what in a generic repository, over real HTTP: anonymous callers, users without a
 * grant, readers, deployers (who may not overwrite without delete), anonymous read, and access
 * tokens used as Bearer or as the Basic password.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createRepository, createUser, curl, deploy, digestsOf, expectRestError, grant } from './generic-support.js'

const backends = await metadataBackends()
const hasCurl = await requireClients('the generic access suite (curl)', ['curl'])

const PASSWORD = 'user-password-1'

describe.skipIf(!hasCurl).each(backends)('access to generic repositories (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let work: string
  /** One client per user, named after what they were granted on `team-local`. */
  const as: Record<'outsider' | 'reader' | 'deployer' | 'maintainer', Client> = {} as never

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    work = await mkdtemp(join(tmpdir(), 'trove-auth-e2e-'))
    await createRepository(admin, 'team-local')
    await deploy(admin, 'team-local/existing/file.txt', 'deployed by the admin')
    for (const name of ['outsider', 'reader', 'deployer', 'maintainer'] as const) {
      await createUser(admin, name, PASSWORD)
      as[name] = admin.asUser(name, PASSWORD)
    }
    await grant(admin, 'team-local', 'reader', ['read'])
    await grant(admin, 'team-local', 'deployer', ['read', 'deploy'])
    await grant(admin, 'team-local', 'maintainer', ['read', 'annotate', 'deploy', 'delete'])
  })

  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  describe('anonymous callers', () => {
    it('are asked to authenticate (401 with WWW-Authenticate) when they deploy', async () => {
      const response = await admin.anonymous.put('/artifactory/team-local/anon/file.txt', { body: 'anonymous bytes' })

      expectRestError(response, 401)
      expect(response.headers['www-authenticate']).toMatch(/^Basic realm=/)
      expectRestError(await admin.get('/artifactory/team-local/anon/file.txt'), 404)
    })

    it('are asked to authenticate when they deploy with curl -T', async () => {
      const input = join(work, 'anon-upload.txt')
      await writeFile(input, 'anonymous bytes via curl')

      const result = await curl(['-T', input, `${server.url}/artifactory/team-local/anon/curl.txt`], join(work, 'anon-out.json'))

      expect(result.status).toBe(401)
      expect(JSON.parse(result.body.toString())).toEqual({ errors: [{ status: 401, code: 'UNAUTHORIZED', message: expect.any(String) }] })
      expectRestError(await admin.get('/artifactory/team-local/anon/curl.txt'), 404)
    })

    it('are asked to authenticate when they download from a repository without anonymous read', async () => {
      const response = await admin.anonymous.get('/artifactory/team-local/existing/file.txt')

      expectRestError(response, 401)
      expect(response.headers['www-authenticate']).toMatch(/^Basic/)
    })

    it('with wrong credentials get 401, not anonymous access', async () => {
      expectRestError(await admin.asUser('reader', 'not-the-password').get('/artifactory/team-local/existing/file.txt'), 401)
      expectRestError(await admin.asUser('nobody', 'whatever-pass').get('/artifactory/team-local/existing/file.txt'), 401)
      expectRestError(await admin.as('Bearer trv_not-a-real-token').get('/artifactory/team-local/existing/file.txt'), 401)
    })
  })

  describe('a user without a grant', () => {
    it('may neither download nor deploy (403)', async () => {
      expectRestError(await as.outsider.get('/artifactory/team-local/existing/file.txt'), 403, /outsider/)
      expectRestError(await as.outsider.put('/artifactory/team-local/outsider/file.txt', { body: 'x' }), 403)
      expectRestError(await as.outsider.get('/artifactory/api/storage/team-local/existing/file.txt'), 403)
      expectRestError(await admin.get('/artifactory/team-local/outsider/file.txt'), 404)
    })
  })

  describe('a user with a read grant', () => {
    it('downloads and reads storage info', async () => {
      const download = await as.reader.get('/artifactory/team-local/existing/file.txt')
      expect(download.status).toBe(200)
      expect(download.text).toBe('deployed by the admin')
      expect((await as.reader.get('/artifactory/api/storage/team-local/existing/file.txt')).status).toBe(200)
    })

    it('may not deploy, delete or annotate (403), and nothing changes', async () => {
      expectRestError(await as.reader.put('/artifactory/team-local/reader/new.txt', { body: 'x' }), 403, /deploy/)
      expectRestError(await as.reader.put('/artifactory/team-local/existing/file.txt', { body: 'overwritten' }), 403)
      expectRestError(await as.reader.delete('/artifactory/team-local/existing/file.txt'), 403, /delete/)
      expectRestError(await as.reader.put('/artifactory/api/storage/team-local/existing/file.txt?properties=a=1'), 403)

      expectRestError(await admin.get('/artifactory/team-local/reader/new.txt'), 404)
      expect((await admin.get('/artifactory/team-local/existing/file.txt')).text).toBe('deployed by the admin')
      expectRestError(await admin.get('/artifactory/api/storage/team-local/existing/file.txt?properties'), 404)
    })
  })

  describe('a user with a deploy grant', () => {
    it('deploys a new path, recorded as theirs', async () => {
      const response = await as.deployer.put('/artifactory/team-local/deployer/new.txt', { body: 'by the deployer' })

      expect(response.status).toBe(201)
      expect(response.json()).toMatchObject({ createdBy: 'deployer' })
    })

    it('may not overwrite an existing file without the delete grant (403), which stays as it was', async () => {
      const response = await as.deployer.put('/artifactory/team-local/existing/file.txt', { body: 'overwritten' })

      expectRestError(response, 403, /delete/)
      expect((await admin.get('/artifactory/team-local/existing/file.txt')).text).toBe('deployed by the admin')
    })

    it('may not attach properties as matrix parameters without the annotate grant (403)', async () => {
      const response = await as.deployer.put('/artifactory/team-local/deployer/tagged.txt;release=yes', { body: 'tagged' })

      expectRestError(response, 403, /annotate/)
      expectRestError(await admin.get('/artifactory/team-local/deployer/tagged.txt'), 404)
    })

    it('may deploy by checksum content they can read, but not content from a repository they cannot (404)', async () => {
      await createRepository(admin, 'secret-local')
      await deploy(admin, 'secret-local/credentials.txt', 'the secret content')
      const secret = digestsOf('the secret content')
      const readable = digestsOf('deployed by the admin')

      // 1. Knowing the digest of content they may not read gets them nothing: it is as if unknown.
      const copy = await as.deployer.put('/artifactory/team-local/deployer/stolen.txt', {
        headers: { 'X-Checksum-Deploy': 'true', 'X-Checksum-Sha256': secret.sha256 },
      })
      expectRestError(copy, 404)
      expectRestError(await as.deployer.get('/artifactory/team-local/deployer/stolen.txt'), 404)
      const bySha1 = await as.deployer.put('/artifactory/team-local/deployer/stolen.txt', {
        headers: { 'X-Checksum-Deploy': 'true', 'X-Checksum-Sha1': secret.sha1 },
      })
      expectRestError(bySha1, 404)

      // 2. Content they may read (team-local/existing/file.txt) is theirs to copy.
      const allowed = await as.deployer.put('/artifactory/team-local/deployer/copy.txt', {
        headers: { 'X-Checksum-Deploy': 'true', 'X-Checksum-Sha256': readable.sha256 },
      })
      expect(allowed.status, allowed.text).toBe(201)
      expect((await as.deployer.get('/artifactory/team-local/deployer/copy.txt')).text).toBe('deployed by the admin')

      // 3. The admin, who may read everything, still copies anything.
      const byAdmin = await admin.put('/artifactory/team-local/admin-copy.txt', {
        headers: { 'X-Checksum-Deploy': 'true', 'X-Checksum-Sha256': secret.sha256 },
      })
      expect(byAdmin.status).toBe(201)
    })

    it('may not overwrite even their own file, nor delete it', async () => {
      await deploy(as.deployer, 'team-local/deployer/mine.txt', 'mine')

      expectRestError(await as.deployer.put('/artifactory/team-local/deployer/mine.txt', { body: 'mine, again' }), 403)
      expectRestError(await as.deployer.delete('/artifactory/team-local/deployer/mine.txt'), 403)
      expect((await admin.get('/artifactory/team-local/deployer/mine.txt')).text).toBe('mine')
    })
  })

  describe('a user with annotate, deploy and delete grants', () => {
    it('overwrites, attaches properties and deletes', async () => {
      await deploy(as.maintainer, 'team-local/maintainer/file.txt;stage=dev', 'v1')
      expect((await as.maintainer.get('/artifactory/api/storage/team-local/maintainer/file.txt?properties')).json().properties).toEqual({
        stage: ['dev'],
      })

      const overwrite = await as.maintainer.put('/artifactory/team-local/maintainer/file.txt', { body: 'v2' })
      expect(overwrite.status).toBe(201)
      expect((await admin.get('/artifactory/team-local/maintainer/file.txt')).text).toBe('v2')

      const deleted = await as.maintainer.delete('/artifactory/team-local/maintainer/file.txt')
      expect(deleted.status).toBe(204)
      expectRestError(await admin.get('/artifactory/team-local/maintainer/file.txt'), 404)
    })
  })

  describe('anonymous read on a repository', () => {
    it('lets anonymous callers download and browse once the repository allows it, and still not deploy', async () => {
      await createRepository(admin, 'public-local')
      await deploy(admin, 'public-local/pub/readme.txt', 'public content')
      expectRestError(await admin.anonymous.get('/artifactory/public-local/pub/readme.txt'), 401)

      // 1. The admin switches anonymous read on.
      const update = await admin.post('/artifactory/api/repositories/public-local', { body: { anonymousRead: true } })
      expect(update.status, update.text).toBe(200)

      // 2. Anonymous callers read, with fetch and with curl...
      const download = await admin.anonymous.get('/artifactory/public-local/pub/readme.txt')
      expect(download.status).toBe(200)
      expect(download.text).toBe('public content')
      const viaCurl = await curl([`${server.url}/artifactory/public-local/pub/readme.txt`], join(work, 'public.txt'))
      expect(viaCurl.status).toBe(200)
      expect(viaCurl.body.toString()).toBe('public content')
      expect((await admin.anonymous.get('/artifactory/api/storage/public-local/pub/readme.txt')).status).toBe(200)

      // 3. ...but do not write, and the other repository stays closed.
      expectRestError(await admin.anonymous.put('/artifactory/public-local/pub/new.txt', { body: 'x' }), 401)
      expectRestError(await admin.anonymous.delete('/artifactory/public-local/pub/readme.txt'), 401)
      expectRestError(await admin.anonymous.get('/artifactory/team-local/existing/file.txt'), 401)
    })
  })

  describe('access tokens', () => {
    let token: string
    let tokenId: string

    beforeAll(async () => {
      const response = await as.deployer.post('/access/api/v1/tokens', { body: { description: 'CI for the team' } })
      expect(response.status, response.text).toBe(200)
      const body = response.json()
      expect(body).toMatchObject({ token_id: expect.any(String), access_token: expect.any(String), token_type: 'Bearer' })
      token = body.access_token
      tokenId = body.token_id
    })

    it('deploy as the user with Authorization: Bearer', async () => {
      const response = await admin.as(`Bearer ${token}`).put('/artifactory/team-local/token/bearer.txt', { body: 'via bearer' })

      expect(response.status).toBe(201)
      expect(response.json()).toMatchObject({ createdBy: 'deployer' })
    })

    it('deploy as the user with Basic user:token, also from curl', async () => {
      const response = await admin.as(basicAuth('deployer', token)).put('/artifactory/team-local/token/basic.txt', { body: 'via basic' })
      expect(response.status).toBe(201)
      expect(response.json()).toMatchObject({ createdBy: 'deployer' })

      const input = join(work, 'token-upload.txt')
      await writeFile(input, 'via curl and a token')
      const target = `${server.url}/artifactory/team-local/token/curl.txt`
      const result = await curl(['-u', `deployer:${token}`, '-T', input, target], join(work, 'token-out.json'))
      expect(result.status).toBe(201)
      expect((await admin.get('/artifactory/team-local/token/curl.txt')).text).toBe('via curl and a token')
    })

    it('carry no more than the user may do', async () => {
      const response = await admin.as(`Bearer ${token}`).delete('/artifactory/team-local/token/bearer.txt')

      expectRestError(response, 403)
    })

    it('are refused under another user name, and once revoked', async () => {
      expectRestError(await admin.as(basicAuth('reader', token)).get('/artifactory/team-local/existing/file.txt'), 401)

      const revoked = await as.deployer.delete(`/access/api/v1/tokens/${tokenId}`)
      expect(revoked.status).toBe(200)

      expectRestError(await admin.as(`Bearer ${token}`).put('/artifactory/team-local/token/late.txt', { body: 'x' }), 401)
      expectRestError(await admin.get('/artifactory/team-local/token/late.txt'), 404)
    })
  })
})
