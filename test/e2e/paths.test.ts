/**
 * Paths and repository keys that could escape, alias or corrupt a repository, sent byte for byte
 * over real HTTP (node:http or a raw socket: fetch would normalise `..`, `%2e%2e` and `//` away
 * before they reach the server). Every one is refused with 400, or 404 for a well-formed key
 * that names no repository, and changes nothing; the edge cases that are valid still work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createRepository, deploy, expectRestError, rawExchange, storeSnapshot, type StoreSnapshot } from './generic-support.js'

const backends = await metadataBackends()

/** Paths below `/artifactory/`, as sent on the wire, that must be refused with 400. */
const BAD_PATHS: readonly [string, string][] = [
  ['a .. segment', 'generic-local/keep/../escape.txt'],
  ['a .. segment leading into another repository', 'generic-local/../other-local/secret.txt'],
  ['a trailing .. (the repository root, for a delete)', 'generic-local/keep/..'],
  ['an encoded .. (%2e%2e)', 'generic-local/keep/%2e%2e/escape.txt'],
  ['an encoded .. in capitals (%2E%2E)', 'generic-local/%2E%2E/other-local/secret.txt'],
  ['a half-encoded .. (.%2e)', 'generic-local/.%2e/other-local/secret.txt'],
  ['a . segment', 'generic-local/./keep/file.txt'],
  ['an encoded slash (%2F) inside a segment', 'generic-local/keep%2Ffile.txt'],
  ['an encoded slash hiding .. (..%2F)', 'generic-local/keep/..%2F..%2Fother-local%2Fsecret.txt'],
  ['an empty segment (//)', 'generic-local/keep//file.txt'],
  ['an empty segment right after the key', 'generic-local//keep/file.txt'],
  ['an empty segment before the key', '/generic-local/keep/file.txt'],
  ['an encoded backslash (%5C)', 'generic-local/keep%5C..%5Cfile.txt'],
  ['a raw backslash', 'generic-local/keep\\file.txt'],
  ['NUL (%00)', 'generic-local/keep/file.txt%00.jpg'],
  ['a control character (%01)', 'generic-local/keep/a%01b.txt'],
  ['a newline (%0A)', 'generic-local/keep/a%0Ab.txt'],
  ['a carriage return (%0D)', 'generic-local/keep/a%0Db.txt'],
  ['DEL (%7F)', 'generic-local/keep/a%7Fb.txt'],
  ['a segment of 256 bytes', `generic-local/keep/${'s'.repeat(256)}`],
  ['a segment of 128 two-byte characters (256 bytes)', `generic-local/keep/${encodeURIComponent('é'.repeat(128))}`],
  ['a path over 1024 characters', `generic-local/${Array.from({ length: 5 }, () => 'p'.repeat(250)).join('/')}`],
  ['a path over 2048 characters (the router limit for parameters)', `generic-local/${Array.from({ length: 12 }, () => 'q'.repeat(250)).join('/')}`],
  ['invalid percent-encoding (%zz)', 'generic-local/keep/%zz.txt'],
  ['a truncated UTF-8 sequence (%E0%A4)', 'generic-local/keep/%E0%A4.txt'],
  ['a matrix parameter without a name', 'generic-local/keep/new.txt;=x'],
  ['an upper-case repository key', 'UPPER/keep/file.txt'],
  ['a repository key with a leading dash', '-x/keep/file.txt'],
  ['a one-character repository key', 'x/keep/file.txt'],
  ['the reserved repository key api', 'api/keep/file.txt'],
  ['an encoded .. as the repository key', '%2e%2e/generic-local/keep/file.txt'],
]

describe.each(backends)('path validation (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let initial: { store: StoreSnapshot; listing: unknown; other: unknown }

  /** Everything a bad request could have changed. */
  const state = async () => ({
    store: await storeSnapshot(server),
    listing: (await admin.get('/artifactory/api/storage/generic-local?list&deep=1&listFolders=1')).json(),
    other: (await admin.get('/artifactory/api/storage/other-local?list&deep=1&listFolders=1')).json(),
  })

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    await createRepository(admin, 'generic-local')
    await createRepository(admin, 'other-local')
    await deploy(admin, 'generic-local/keep/file.txt;tag=kept', 'kept content')
    await deploy(admin, 'other-local/secret.txt', 'secret content')
    initial = await state()
  })

  afterAll(async () => {
    await server?.close()
  })

  describe.each(BAD_PATHS)('a path with %s', (_description, path) => {
    it('is refused for deploy, download, HEAD and delete with 400, and nothing changes', async () => {
      const url = `/artifactory/${path}`

      expectRestError(await admin.put(url, { body: 'should never be stored' }), 400)
      expectRestError(await admin.get(url), 400)
      expect((await admin.head(url)).status).toBe(400)
      expectRestError(await admin.delete(url), 400)

      expect(await state()).toEqual(initial)
    })

    it('is refused by the storage API (info, properties) with 400, and nothing changes', async () => {
      const url = `/artifactory/api/storage/${path}`

      expectRestError(await admin.get(url), 400)
      expectRestError(await admin.get(`${url}?properties`), 400)
      expectRestError(await admin.put(`${url}?properties=tag=changed`), 400)
      expectRestError(await admin.delete(`${url}?properties=tag`), 400)

      expect(await state()).toEqual(initial)
      expect((await admin.get('/artifactory/api/storage/generic-local/keep/file.txt?properties')).json().properties).toEqual({ tag: ['kept'] })
    })
  })

  describe('raw bytes that are not allowed in a request target', () => {
    it.each([
      ['NUL', '\u0000'],
      ['a tab', '\t'],
      ['a control character', '\u0001'],
      ['DEL', '\u007f'],
    ])('%s is refused with 400 by the HTTP parser', async (_name, character) => {
      const response = await rawExchange(
        server.url,
        `PUT /artifactory/generic-local/keep/a${character}b.txt HTTP/1.1\r\nAuthorization: ${server.adminAuth}\r\nContent-Length: 0`,
      )

      expect(response.status).toBe(400)
      expect(await state()).toEqual(initial)
    })
  })

  describe('repository keys', () => {
    it.each([
      ['upper case', 'UPPER'],
      ['a leading dash', '-x'],
      ['a leading dot', '.hidden'],
      ['one character', 'x'],
      ['65 characters', 'k'.repeat(65)],
      ['a space', 'my%20repo'],
      ['an encoded slash', 'a%2Fb'],
      ['the reserved api', 'api'],
      ['the reserved ui', 'ui'],
    ])('with %s cannot be created (400)', async (_name, key) => {
      const response = await admin.put(`/artifactory/api/repositories/${key}`, { body: { rclass: 'local', packageType: 'generic' } })

      expectRestError(response, 400, /key/, 'key')
      const keys = (await admin.get('/artifactory/api/repositories')).json().map((r: { key: string }) => r.key)
      expect(keys).toEqual(['generic-local', 'other-local'])
    })

    it('that are well-formed but unknown answer 404 everywhere, and nothing is stored', async () => {
      expectRestError(await admin.put('/artifactory/no-such-repo/file.txt', { body: 'x' }), 404)
      expectRestError(await admin.get('/artifactory/no-such-repo/file.txt'), 404)
      expectRestError(await admin.delete('/artifactory/no-such-repo/file.txt'), 404)
      expectRestError(await admin.get('/artifactory/api/storage/no-such-repo/file.txt'), 404)
      expectRestError(await admin.get('/artifactory/api/repositories/no-such-repo'), 404)

      expect(await state()).toEqual(initial)
    })
  })

  describe('unusual but valid paths', () => {
    it.each([
      ['a segment of exactly 255 bytes', 'a'.repeat(255)],
      // 'valid/' (6) + 3 × (255 + '/') + 250 = 1024
      ['a path of exactly 1024 characters', ['d'.repeat(255), 'd'.repeat(255), 'd'.repeat(255), 'f'.repeat(250)].join('/')],
      ['spaces', 'with space/file name.txt'],
      ['a literal semicolon (%3B)', 'semi;colon.txt'],
      ['non-ASCII characters', 'ünïcødé/ファイル.txt'],
      ['dots that are not . or ..', '.hidden/.../v1..2/file.'],
      ['a percent sign and a plus', '100%/a+b.txt'],
      ['a literal %2e%2e (encoded as %252e%252e)', '%2e%2e/file.txt'],
    ])('with %s deploy, download and appear in the storage API', async (_name, path) => {
      const encoded = path.split('/').map(encodeURIComponent).join('/')
      const content = `content of ${path}`

      const deployed = await admin.put(`/artifactory/generic-local/valid/${encoded}`, { body: content })

      expect(deployed.status, deployed.text).toBe(201)
      expect(deployed.json()).toMatchObject({
        path: `/valid/${path}`,
        downloadUri: `${server.url}/artifactory/generic-local/valid/${encoded}`,
      })
      expect((await admin.get(`/artifactory/generic-local/valid/${encoded}`)).text).toBe(content)
      expect((await admin.get(`/artifactory/api/storage/generic-local/valid/${encoded}`)).json()).toMatchObject({ path: `/valid/${path}` })
      expect((await admin.delete('/artifactory/generic-local/valid')).status).toBe(204)
      expect((await state()).listing).toEqual(initial.listing)
    })
  })

  describe('matrix parameters inside the path', () => {
    it('do not widen a delete to the folder or repository before them', async () => {
      await deploy(admin, 'generic-local/matrix/a.txt', 'a')
      await deploy(admin, 'generic-local/matrix/b.txt', 'b')

      // Artifactory lets matrix parameters sit anywhere in the path: they name no part of it.
      const response = await admin.delete('/artifactory/generic-local;x=1/matrix;y=2/a.txt')

      expect(response.status).toBe(204)
      expectRestError(await admin.get('/artifactory/generic-local/matrix/a.txt'), 404)
      expect((await admin.get('/artifactory/generic-local/matrix/b.txt')).text).toBe('b')
      expect((await admin.get('/artifactory/generic-local/keep/file.txt')).text).toBe('kept content')
      expect((await admin.delete('/artifactory/generic-local/matrix')).status).toBe(204)
      expect((await state()).listing).toEqual(initial.listing)
    })
  })
})
