/**
 * Artifactory's storage API over real HTTP: item info, folder listings, properties (matrix
 * parameters and `?properties`), download statistics, and the artifact and checksum searches,
 * filtered by what the caller may read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createRepository, createUser, deploy, digestsOf, expectRestError, grant, waitUntil } from './generic-support.js'

const backends = await metadataBackends()

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

describe.each(backends)('storage API (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  const storage = (path: string) => `/artifactory/api/storage/generic-local/${path}`
  const storageUri = (repoPath: string) => `${server.url}/artifactory/api/storage/${repoPath}`

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    await createRepository(admin, 'generic-local')
  })

  afterAll(async () => {
    await server?.close()
  })

  describe('item info', () => {
    it('describes a file: checksums, size as a string, mime type, who and when', async () => {
      const content = Buffer.from('{"name":"info"}\n')
      const digests = digestsOf(content)
      await deploy(admin, 'generic-local/info/dir/file.json', content, { 'X-Checksum-Sha1': digests.sha1 })

      const response = await admin.get(storage('info/dir/file.json'))

      expect(response.status).toBe(200)
      expect(response.headers['content-type']).toMatch(/^application\/json/)
      expect(response.json()).toEqual({
        repo: 'generic-local',
        path: '/info/dir/file.json',
        created: expect.stringMatching(ISO_TIME),
        createdBy: 'admin',
        lastModified: expect.stringMatching(ISO_TIME),
        modifiedBy: 'admin',
        lastUpdated: expect.stringMatching(ISO_TIME),
        downloadUri: `${server.url}/artifactory/generic-local/info/dir/file.json`,
        mimeType: 'application/json',
        size: String(content.length),
        checksums: { sha1: digests.sha1, md5: digests.md5, sha256: digests.sha256 },
        originalChecksums: { sha1: digests.sha1 },
        uri: storageUri('generic-local/info/dir/file.json'),
      })
    })

    it('describes a folder with its direct children, folders and files', async () => {
      await deploy(admin, 'generic-local/info/tree/a.txt', 'a')
      await deploy(admin, 'generic-local/info/tree/sub/b.txt', 'b')
      await deploy(admin, 'generic-local/info/tree/sub/deeper/c.txt', 'c')

      const response = await admin.get(storage('info/tree'))

      expect(response.status).toBe(200)
      const body = response.json()
      expect(body).toMatchObject({
        repo: 'generic-local',
        path: '/info/tree',
        created: expect.stringMatching(ISO_TIME),
        createdBy: 'admin',
        uri: storageUri('generic-local/info/tree'),
      })
      expect(body.children).toEqual(
        expect.arrayContaining([
          { uri: '/a.txt', folder: false },
          { uri: '/sub', folder: true },
        ]),
      )
      expect(body.children).toHaveLength(2)
    })

    it('describes the repository root', async () => {
      const response = await admin.get('/artifactory/api/storage/generic-local')

      expect(response.status).toBe(200)
      expect(response.json()).toMatchObject({ repo: 'generic-local', path: '/', children: expect.arrayContaining([{ uri: '/info', folder: true }]) })
    })

    it('answers 404 for a path that does not exist, and for an unknown repository', async () => {
      expectRestError(await admin.get(storage('info/missing.txt')), 404)
      expectRestError(await admin.get('/artifactory/api/storage/no-such-repo/file.txt'), 404)
    })
  })

  describe('listing', () => {
    beforeAll(async () => {
      for (const path of ['list/top.txt', 'list/a/one.txt', 'list/a/b/two.txt', 'list/c/three.txt']) {
        await deploy(admin, `generic-local/${path}`, `content of ${path}`)
      }
    })

    it('lists everything below a folder with ?list&deep=1&listFolders=1', async () => {
      const response = await admin.get(`${storage('list')}?list&deep=1&listFolders=1`)

      expect(response.status).toBe(200)
      const body = response.json()
      expect(body).toMatchObject({ uri: storageUri('generic-local/list'), created: expect.stringMatching(ISO_TIME) })
      expect(body.files.map((f: { uri: string; folder: boolean }) => [f.uri, f.folder])).toEqual([
        ['/a', true],
        ['/a/b', true],
        ['/a/b/two.txt', false],
        ['/a/one.txt', false],
        ['/c', true],
        ['/c/three.txt', false],
        ['/top.txt', false],
      ])
      const two = digestsOf('content of list/a/b/two.txt')
      expect(body.files.find((f: { uri: string }) => f.uri === '/a/b/two.txt')).toEqual({
        uri: '/a/b/two.txt',
        size: 'content of list/a/b/two.txt'.length,
        lastModified: expect.stringMatching(ISO_TIME),
        folder: false,
        sha1: two.sha1,
        sha2: two.sha256,
      })
    })

    it('lists only files below a folder with ?list&deep=1', async () => {
      const response = await admin.get(`${storage('list')}?list&deep=1`)

      expect(response.json().files.map((f: { uri: string }) => f.uri)).toEqual(['/a/b/two.txt', '/a/one.txt', '/c/three.txt', '/top.txt'])
    })

    it('lists only the direct children without deep', async () => {
      const files = await admin.get(`${storage('list')}?list`)
      expect(files.json().files.map((f: { uri: string }) => f.uri)).toEqual(['/top.txt'])

      const withFolders = await admin.get(`${storage('list')}?list&listFolders=1`)
      expect(withFolders.json().files.map((f: { uri: string; folder: boolean }) => [f.uri, f.folder])).toEqual([
        ['/a', true],
        ['/c', true],
        ['/top.txt', false],
      ])
    })

    it('refuses to list a file (400)', async () => {
      expectRestError(await admin.get(`${storage('list/top.txt')}?list`), 400)
    })
  })

  describe('statistics', () => {
    it('counts downloads (GET, not HEAD) and records who downloaded last', async () => {
      await deploy(admin, 'generic-local/stats/file.bin', 'count me')
      const before = await admin.get(`${storage('stats/file.bin')}?stats`)
      expect(before.json()).toMatchObject({ uri: storageUri('generic-local/stats/file.bin'), downloadCount: 0, lastDownloaded: 0 })

      expect((await admin.head('/artifactory/generic-local/stats/file.bin')).status).toBe(200)
      expect((await admin.get('/artifactory/generic-local/stats/file.bin')).status).toBe(200)
      expect((await admin.get('/artifactory/generic-local/stats/file.bin')).status).toBe(200)

      // The count is written after the response; wait (bounded) for it.
      const countIs = async (n: number) => (await admin.get(`${storage('stats/file.bin')}?stats`)).json().downloadCount >= n
      expect(await waitUntil(() => countIs(2))).toBe(true)
      const after = (await admin.get(`${storage('stats/file.bin')}?stats`)).json()
      expect(after).toMatchObject({ downloadCount: 2, lastDownloadedBy: 'admin' })
      expect(after.lastDownloaded).toBeGreaterThan(0)
    })

    it('refuses statistics of a folder (400)', async () => {
      await deploy(admin, 'generic-local/stats/sub/file.bin', 'x')

      expectRestError(await admin.get(`${storage('stats/sub')}?stats`), 400)
    })
  })

  describe('properties', () => {
    it('are set from matrix parameters at deploy; repeated names give several values', async () => {
      const response = await admin.put('/artifactory/generic-local/props/matrix.txt;a=1;a=2;b=x;c=hello%20world', { body: 'with properties' })
      expect(response.status).toBe(201)
      expect(response.json()).toMatchObject({ path: '/props/matrix.txt' })

      const properties = await admin.get(`${storage('props/matrix.txt')}?properties`)

      expect(properties.status).toBe(200)
      expect(properties.json()).toEqual({
        properties: { a: ['1', '2'], b: ['x'], c: ['hello world'] },
        uri: storageUri('generic-local/props/matrix.txt'),
      })
      // The file itself is at the path without the parameters.
      expect((await admin.get('/artifactory/generic-local/props/matrix.txt')).text).toBe('with properties')
    })

    it('are set from matrix parameters on the deployment base URL, as Maven sends them', async () => {
      // Artifactory's documented example: the repository URL carries the parameters, the path follows.
      const response = await admin.put('/artifactory/generic-local;buildNumber=249;revision=1052/props/org/acme/app-1.0.jar', {
        body: 'a jar',
      })

      expect(response.status, response.text).toBe(201)
      expect(response.json()).toMatchObject({ repo: 'generic-local', path: '/props/org/acme/app-1.0.jar' })
      expect((await admin.get(`${storage('props/org/acme/app-1.0.jar')}?properties`)).json().properties).toEqual({
        buildNumber: ['249'],
        revision: ['1052'],
      })
      expect((await admin.get('/artifactory/generic-local/props/org/acme/app-1.0.jar')).text).toBe('a jar')
    })

    it('are read selectively with ?properties=name[,name]', async () => {
      await deploy(admin, 'generic-local/props/select.txt;a=1;b=2;c=3', 'x')

      const response = await admin.get(`${storage('props/select.txt')}?properties=a,c`)

      expect(response.json().properties).toEqual({ a: ['1'], c: ['3'] })
      expectRestError(await admin.get(`${storage('props/select.txt')}?properties=zzz`), 404)
    })

    it('are set with PUT ?properties=a=1,2|b=3 and deleted with DELETE ?properties=a', async () => {
      await deploy(admin, 'generic-local/props/api.txt;a=old;keep=me', 'x')

      // 1. Set: a gets two values (replacing the old one), b one; keep is untouched.
      const set = await admin.put(`${storage('props/api.txt')}?properties=a=1,2|b=3`)
      expect(set.status).toBe(204)
      expect((await admin.get(`${storage('props/api.txt')}?properties`)).json().properties).toEqual({ a: ['1', '2'], b: ['3'], keep: ['me'] })

      // 2. Delete a.
      const deleted = await admin.delete(`${storage('props/api.txt')}?properties=a`)
      expect(deleted.status).toBe(204)
      expect((await admin.get(`${storage('props/api.txt')}?properties`)).json().properties).toEqual({ b: ['3'], keep: ['me'] })

      // 3. Delete the rest: then there are none, which is a 404 as in Artifactory.
      expect((await admin.delete(`${storage('props/api.txt')}?properties=b,keep`)).status).toBe(204)
      expectRestError(await admin.get(`${storage('props/api.txt')}?properties`), 404)
    })

    it('take escaped separators and percent-encoded values', async () => {
      await deploy(admin, 'generic-local/props/escaped.txt', 'x')

      const set = await admin.put(`${storage('props/escaped.txt')}?properties=${encodeURIComponent('list=a\\,b|eq=x\\=y|space=one two')}`)

      expect(set.status).toBe(204)
      expect((await admin.get(`${storage('props/escaped.txt')}?properties`)).json().properties).toEqual({
        eq: ['x=y'],
        list: ['a,b'],
        space: ['one two'],
      })
    })

    it('answer 404 when an item has none', async () => {
      await deploy(admin, 'generic-local/props/none.txt', 'no properties')

      const response = await admin.get(`${storage('props/none.txt')}?properties`)

      expectRestError(response, 404)
    })

    it('are set and deleted recursively on a folder, or on the folder alone with recursive=0', async () => {
      for (const path of ['props/tree/one.txt', 'props/tree/sub/two.txt']) await deploy(admin, `generic-local/${path}`, path)
      await deploy(admin, 'generic-local/props/tree-sibling/three.txt', 'outside')
      const propertiesOf = async (path: string) => {
        const response = await admin.get(`${storage(path)}?properties`)
        return response.status === 404 ? {} : response.json().properties
      }

      // 1. Recursive (the default): the folder and everything below it.
      expect((await admin.put(`${storage('props/tree')}?properties=team=core`)).status).toBe(204)
      for (const path of ['props/tree', 'props/tree/one.txt', 'props/tree/sub', 'props/tree/sub/two.txt']) {
        expect(await propertiesOf(path), path).toEqual({ team: ['core'] })
      }
      expect(await propertiesOf('props/tree-sibling/three.txt')).toEqual({})

      // 2. recursive=0: the folder alone.
      expect((await admin.put(`${storage('props/tree')}?properties=owner=alice&recursive=0`)).status).toBe(204)
      expect(await propertiesOf('props/tree')).toEqual({ owner: ['alice'], team: ['core'] })
      expect(await propertiesOf('props/tree/one.txt')).toEqual({ team: ['core'] })

      // 3. Recursive delete.
      expect((await admin.delete(`${storage('props/tree')}?properties=team`)).status).toBe(204)
      expect(await propertiesOf('props/tree')).toEqual({ owner: ['alice'] })
      expect(await propertiesOf('props/tree/sub/two.txt')).toEqual({})
    })

    it('refuse malformed assignments and missing items, and change nothing', async () => {
      await deploy(admin, 'generic-local/props/strict.txt;a=1', 'x')

      expectRestError(await admin.put(`${storage('props/strict.txt')}?properties=novalue`), 400)
      expectRestError(await admin.put(`${storage('props/strict.txt')}?properties==1`), 400)
      expectRestError(await admin.put(`${storage('props/strict.txt')}`), 400)
      expectRestError(await admin.delete(`${storage('props/strict.txt')}?properties=`), 400)
      expectRestError(await admin.put(`${storage('props/missing.txt')}?properties=a=2`), 404)
      expect((await admin.get(`${storage('props/strict.txt')}?properties`)).json().properties).toEqual({ a: ['1'] })
    })
  })

  describe('search', () => {
    const content = Buffer.from('shared search content\n')
    const digests = digestsOf(content)

    beforeAll(async () => {
      await createRepository(admin, 'other-local')
      await deploy(admin, 'generic-local/search/findme-one.bin', content)
      await deploy(admin, 'generic-local/search/deep/er/findme-two.bin', 'two')
      await deploy(admin, 'generic-local/search/findme-a.bin', 'a')
      await deploy(admin, 'generic-local/search/findme-ab.bin', 'ab')
      await deploy(admin, 'generic-local/search/findme-one.txt', 'not a bin')
      await deploy(admin, 'other-local/findme-other.bin', content)
      await createUser(admin, 'searcher', 'searcher-password')
    })

    const uris = (response: { json(): { results: { uri: string }[] } }) => response.json().results.map((r) => r.uri).sort()

    it('finds files by name with * across repositories', async () => {
      const response = await admin.get('/artifactory/api/search/artifact?name=findme-*.bin')

      expect(response.status).toBe(200)
      expect(uris(response)).toEqual(
        [
          'generic-local/search/deep/er/findme-two.bin',
          'generic-local/search/findme-a.bin',
          'generic-local/search/findme-ab.bin',
          'generic-local/search/findme-one.bin',
          'other-local/findme-other.bin',
        ].map(storageUri),
      )
    })

    it('matches exactly one character with ?, case-insensitively, and takes _ and % literally', async () => {
      expect(uris(await admin.get('/artifactory/api/search/artifact?name=findme-?.bin'))).toEqual([storageUri('generic-local/search/findme-a.bin')])
      expect(uris(await admin.get('/artifactory/api/search/artifact?name=FINDME-A.BIN'))).toEqual([storageUri('generic-local/search/findme-a.bin')])
      expect(uris(await admin.get('/artifactory/api/search/artifact?name=findme-_.bin'))).toEqual([])
      expect(uris(await admin.get('/artifactory/api/search/artifact?name=findme-%25.bin'))).toEqual([])
    })

    it('narrows to the repositories named in repos', async () => {
      const response = await admin.get('/artifactory/api/search/artifact?name=findme-*&repos=other-local')

      expect(uris(response)).toEqual([storageUri('other-local/findme-other.bin')])
    })

    it('finds files by sha256, sha1 or md5', async () => {
      const expected = [storageUri('generic-local/search/findme-one.bin'), storageUri('other-local/findme-other.bin')]

      for (const algorithm of ['sha256', 'sha1', 'md5'] as const) {
        const response = await admin.get(`/artifactory/api/search/checksum?${algorithm}=${digests[algorithm]}`)
        expect(response.status).toBe(200)
        expect(uris(response), algorithm).toEqual(expected)
      }
      expect(uris(await admin.get(`/artifactory/api/search/checksum?sha256=${digests.sha256}&repos=other-local`))).toEqual([expected[1]])
      expect(uris(await admin.get(`/artifactory/api/search/checksum?sha256=${'0'.repeat(64)}`))).toEqual([])
    })

    it('refuses a search without a name or a checksum (400)', async () => {
      expectRestError(await admin.get('/artifactory/api/search/artifact'), 400)
      expectRestError(await admin.get('/artifactory/api/search/checksum'), 400)
    })

    it('shows a caller only what they may read', async () => {
      const searcher = admin.asUser('searcher', 'searcher-password')
      const byName = '/artifactory/api/search/artifact?name=findme-*.bin'
      const bySum = `/artifactory/api/search/checksum?sha256=${digests.sha256}`

      // 1. Without a grant, and anonymously, nothing is found.
      expect(uris(await searcher.get(byName))).toEqual([])
      expect(uris(await searcher.get(bySum))).toEqual([])
      expect(uris(await admin.anonymous.get(byName))).toEqual([])
      expect(uris(await searcher.get(`${byName}&repos=generic-local,other-local`))).toEqual([])

      // 2. With read on other-local: what is there, and only that.
      await grant(admin, 'other-local', 'searcher', ['read'])
      expect(uris(await searcher.get(byName))).toEqual([storageUri('other-local/findme-other.bin')])
      expect(uris(await searcher.get(bySum))).toEqual([storageUri('other-local/findme-other.bin')])
      expect(uris(await searcher.get(`${bySum}&repos=generic-local`))).toEqual([])
    })
  })
})
