/**
 * Generic repositories over real HTTP, as a CI job or a developer with curl uses them: deploy,
 * download (ranges, conditional requests, checksum headers), checksum-verified and by-checksum
 * deploys, delete, overwrite, conflicts and a client that disconnects mid-upload.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import {
  Client,
  blobKey,
  createRepository,
  curl,
  deploy,
  digestsOf,
  expectRestError,
  randomPayload,
  sha256Of,
  storeSnapshot,
  streamOf,
  waitUntil,
} from './generic-support.js'

const backends = await metadataBackends()
const hasCurl = await requireClients('the generic repository suite (curl)', ['curl'])

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
const MiB = 1024 * 1024

describe.skipIf(!hasCurl).each(backends)('generic repositories over HTTP (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let work: string
  let fileCount = 0
  /** A fresh file name in the scratch folder, for curl's input and output. */
  const scratch = (name: string) => join(work, `${++fileCount}-${name}`)

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    work = await mkdtemp(join(tmpdir(), 'trove-generic-e2e-'))
    await createRepository(admin, 'generic-local')
  })

  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  describe('the repository', () => {
    it('is created by an admin through the repositories API and listed with its type', async () => {
      const created = await admin.put('/artifactory/api/repositories/generic-other', {
        body: { key: 'generic-other', rclass: 'local', packageType: 'generic', description: 'scratch' },
      })
      expect(created.status).toBe(200)
      expect(created.text).toMatch(/generic-other/)

      const config = await admin.get('/artifactory/api/repositories/generic-other')
      expect(config.json()).toMatchObject({ key: 'generic-other', rclass: 'local', packageType: 'generic', description: 'scratch' })
      const list = await admin.get('/artifactory/api/repositories?packageType=generic')
      expect(list.json()).toEqual(
        expect.arrayContaining([
          { key: 'generic-local', type: 'LOCAL', description: '', url: `${server.url}/artifactory/generic-local`, packageType: 'generic' },
          expect.objectContaining({ key: 'generic-other', type: 'LOCAL' }),
        ]),
      )
    })

    it('cannot be created twice', async () => {
      const again = await admin.put('/artifactory/api/repositories/generic-local', {
        body: { key: 'generic-local', rclass: 'local', packageType: 'generic' },
      })
      expectRestError(again, 409, /already exists/)
    })
  })

  describe('deploy and download', () => {
    it('refuses a plain PUT into a repository of a format with its own protocol (npm, docker, PyPI), and stores nothing', async () => {
      for (const packageType of ['npm', 'docker', 'pypi']) {
        await createRepository(admin, `plain-${packageType}`, { packageType })
        const refused = await admin.put(`/artifactory/plain-${packageType}/some/file.txt`, { body: 'not through the client' })
        expectRestError(refused, 405, new RegExp(`is a ${packageType} repository: deploy with its client`))
        expect((await admin.get(`/artifactory/api/storage/plain-${packageType}/some/file.txt`)).status).toBe(404)
      }
    })

    it('deploys a multi-MiB file with curl -T and downloads it byte-identical with curl', async () => {
      const content = randomPayload(6 * MiB + 123)
      const input = scratch('upload.bin')
      await writeFile(input, content)
      const url = `${server.url}/artifactory/generic-local/curl/a/b.bin`

      // 1. curl -u admin:… -T file URL, as the README says.
      const deployed = await curl(['-u', `admin:${ADMIN_PASSWORD}`, '-T', input, url], scratch('deploy.json'))
      expect(deployed.status).toBe(201)
      expect(JSON.parse(deployed.body.toString())).toMatchObject({
        repo: 'generic-local',
        path: '/curl/a/b.bin',
        size: String(content.length),
        checksums: digestsOf(content),
      })

      // 2. The download is the same bytes, and the same file name on disk as a blob.
      const downloaded = await curl(['-u', `admin:${ADMIN_PASSWORD}`, url], scratch('download.bin'))
      expect(downloaded.status).toBe(200)
      expect(downloaded.body.length).toBe(content.length)
      expect(sha256Of(downloaded.body)).toBe(sha256Of(content))
      expect((await storeSnapshot(server)).blobs).toContain(blobKey(sha256Of(content)))
    })

    it('deploys a streamed (chunked) body and answers with Artifactory deploy body', async () => {
      const content = randomPayload(3 * MiB + 7)
      const digests = digestsOf(content)

      const response = await admin.put('/artifactory/generic-local/stream/data.bin', { body: streamOf(content) })

      expect(response.status).toBe(201)
      expect(response.headers['content-type']).toMatch(/^application\/json/)
      const body = response.json()
      expect(body).toEqual({
        repo: 'generic-local',
        path: '/stream/data.bin',
        created: expect.stringMatching(ISO_TIME),
        createdBy: 'admin',
        downloadUri: `${server.url}/artifactory/generic-local/stream/data.bin`,
        mimeType: 'application/octet-stream',
        size: String(content.length),
        checksums: { sha1: digests.sha1, md5: digests.md5, sha256: digests.sha256 },
        originalChecksums: {},
        uri: `${server.url}/artifactory/api/storage/generic-local/stream/data.bin`,
      })

      const download = await admin.get('/artifactory/generic-local/stream/data.bin')
      expect(download.status).toBe(200)
      expect(download.headers['content-length']).toBe(String(content.length))
      expect(sha256Of(download.body)).toBe(digests.sha256)
    })

    it('answers HEAD with the headers of a GET and no body', async () => {
      const content = Buffer.from('head me\n')
      await deploy(admin, 'generic-local/head/file.txt', content)

      const get = await admin.get('/artifactory/generic-local/head/file.txt')
      const head = await admin.head('/artifactory/generic-local/head/file.txt')

      expect(head.status).toBe(200)
      expect(head.body.length).toBe(0)
      for (const name of ['content-length', 'content-type', 'etag', 'last-modified', 'accept-ranges', 'x-checksum-sha256']) {
        expect(head.headers[name], name).toBe(get.headers[name])
      }
      expect(head.headers['content-length']).toBe(String(content.length))
    })

    it('sends the X-Checksum-* headers, an ETag and Last-Modified with every download', async () => {
      const content = Buffer.from('checksummed content\n')
      const digests = digestsOf(content)
      await deploy(admin, 'generic-local/headers/sums.txt', content)

      const response = await admin.get('/artifactory/generic-local/headers/sums.txt')

      expect(response.headers).toMatchObject({
        'x-checksum-sha256': digests.sha256,
        'x-checksum-sha1': digests.sha1,
        'x-checksum-md5': digests.md5,
        'accept-ranges': 'bytes',
      })
      expect(response.headers.etag).toMatch(/^"[^"]+"$/)
      // Last-Modified is the storage API's lastModified, at the second precision of HTTP dates.
      const info = (await admin.get('/artifactory/api/storage/generic-local/headers/sums.txt')).json()
      expect(response.headers['last-modified']).toBe(new Date(info.lastModified).toUTCString())
    })

    it('serves the content type of the file extension, else the one given at deploy', async () => {
      await deploy(admin, 'generic-local/types/config.json', '{"a":1}', { 'content-type': 'application/octet-stream' })
      await deploy(admin, 'generic-local/types/notes.txt', 'hello\n')
      await deploy(admin, 'generic-local/types/table', 'a,b\n1,2\n', { 'content-type': 'text/csv' })
      await deploy(admin, 'generic-local/types/blob', 'x')

      const typeOf = async (path: string) => (await admin.get(`/artifactory/generic-local/types/${path}`)).headers['content-type']
      expect(await typeOf('config.json')).toMatch(/^application\/json/)
      expect(await typeOf('notes.txt')).toMatch(/^text\/plain/)
      expect(await typeOf('table')).toMatch(/^text\/csv/)
      expect(await typeOf('blob')).toBe('application/octet-stream')
    })
  })

  describe('browsing', () => {
    it('lists a folder as an HTML index of its children, escaping their names', async () => {
      await deploy(admin, 'generic-local/browse/sub/file.txt', 'x')
      await deploy(admin, `generic-local/browse/${encodeURIComponent('<img src=x onerror=alert(1)>.txt')}`, 'x')

      const response = await admin.get('/artifactory/generic-local/browse/')

      expect(response.status).toBe(200)
      expect(response.headers['content-type']).toMatch(/^text\/html/)
      expect(response.text).toContain('<a href="sub/">sub/</a>')
      expect(response.text).toContain('href="%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.txt"')
      expect(response.text).not.toContain('<img')
    })
  })

  describe('ranges and conditional requests', () => {
    const content = randomPayload(64 * 1024 + 17)
    const path = '/artifactory/generic-local/ranges/data.bin'

    beforeAll(async () => {
      await deploy(admin, 'generic-local/ranges/data.bin', content)
    })

    it('serves the first bytes (bytes=0-99) with 206 and Content-Range', async () => {
      const response = await admin.get(path, { headers: { range: 'bytes=0-99' } })

      expect(response.status).toBe(206)
      expect(response.headers['content-range']).toBe(`bytes 0-99/${content.length}`)
      expect(response.headers['content-length']).toBe('100')
      expect(response.body).toEqual(content.subarray(0, 100))
    })

    it('serves a suffix range (bytes=-10): the last ten bytes', async () => {
      const response = await admin.get(path, { headers: { range: 'bytes=-10' } })

      expect(response.status).toBe(206)
      expect(response.headers['content-range']).toBe(`bytes ${content.length - 10}-${content.length - 1}/${content.length}`)
      expect(response.body).toEqual(content.subarray(content.length - 10))
    })

    it('serves an open-ended range (bytes=1000-) to the end', async () => {
      const response = await admin.get(path, { headers: { range: 'bytes=1000-' } })

      expect(response.status).toBe(206)
      expect(response.headers['content-range']).toBe(`bytes 1000-${content.length - 1}/${content.length}`)
      expect(sha256Of(response.body)).toBe(sha256Of(content.subarray(1000)))
    })

    it('serves a range to curl -r', async () => {
      const result = await curl(['-u', `admin:${ADMIN_PASSWORD}`, '-r', '10-19', `${server.url}${path}`], scratch('range.bin'))

      expect(result.status).toBe(206)
      expect(result.body).toEqual(content.subarray(10, 20))
    })

    it('refuses a range past the end with 416 and Content-Range: bytes */size', async () => {
      const response = await admin.get(path, { headers: { range: `bytes=${content.length}-` } })

      expectRestError(response, 416)
      expect(response.headers['content-range']).toBe(`bytes */${content.length}`)
    })

    it('answers If-None-Match with the ETag by 304, and a stale ETag with the content', async () => {
      const first = await admin.get(path)
      const etag = first.headers.etag!

      const unchanged = await admin.get(path, { headers: { 'if-none-match': etag } })
      expect(unchanged.status).toBe(304)
      expect(unchanged.body.length).toBe(0)
      expect(unchanged.headers.etag).toBe(etag)

      const stale = await admin.get(path, { headers: { 'if-none-match': '"0000000000000000000000000000000000000000"' } })
      expect(stale.status).toBe(200)
      expect(sha256Of(stale.body)).toBe(sha256Of(content))
    })

    it('answers If-Modified-Since with Last-Modified by 304, and an older date with the content', async () => {
      const first = await admin.get(path)
      const lastModified = first.headers['last-modified']!

      const unchanged = await admin.get(path, { headers: { 'if-modified-since': lastModified } })
      expect(unchanged.status).toBe(304)
      expect(unchanged.body.length).toBe(0)

      const older = new Date(Date.parse(lastModified) - 3600_000).toUTCString()
      const changed = await admin.get(path, { headers: { 'if-modified-since': older } })
      expect(changed.status).toBe(200)
      expect(sha256Of(changed.body)).toBe(sha256Of(content))
    })
  })

  describe('checksums declared by the client', () => {
    it('accepts matching X-Checksum-Sha256, -Sha1 and -Md5 and reports them as originalChecksums', async () => {
      const content = randomPayload(100_000)
      const digests = digestsOf(content)

      const response = await admin.put('/artifactory/generic-local/sums/ok.bin', {
        body: content,
        headers: { 'X-Checksum-Sha256': digests.sha256, 'X-Checksum-Sha1': digests.sha1, 'X-Checksum-Md5': digests.md5 },
      })

      expect(response.status).toBe(201)
      expect(response.json()).toMatchObject({ checksums: digests, originalChecksums: digests })
      const info = await admin.get('/artifactory/api/storage/generic-local/sums/ok.bin')
      expect(info.json()).toMatchObject({ checksums: digests, originalChecksums: digests })
    })

    it.each(['Sha256', 'Sha1', 'Md5'] as const)('refuses a body whose X-Checksum-%s does not match, and stores nothing', async (algorithm) => {
      const content = randomPayload(256 * 1024)
      const other = digestsOf(randomPayload(16))
      const before = await storeSnapshot(server)
      const path = `generic-local/sums/wrong-${algorithm}.bin`

      const response = await admin.put(`/artifactory/${path}`, {
        body: content,
        headers: { [`X-Checksum-${algorithm}`]: other[algorithm.toLowerCase() as 'sha256' | 'sha1' | 'md5'] },
      })

      // 1. Refused in Artifactory's error shape, naming the mismatch.
      expectRestError(response, 400, /mismatch/)
      // 2. Nothing visible: not downloadable, unknown to the storage API and to search.
      expectRestError(await admin.get(`/artifactory/${path}`), 404)
      expectRestError(await admin.get(`/artifactory/api/storage/${path}`), 404)
      const search = await admin.get(`/artifactory/api/search/checksum?sha256=${sha256Of(content)}`)
      expect(search.json()).toEqual({ results: [] })
      // 3. Nothing on disk: no new blob, no temporary left behind.
      const after = await storeSnapshot(server)
      expect(after.blobs).toEqual(before.blobs)
      expect(after.uploads).toEqual([])
    })

    it.each([
      ['X-Checksum-Sha256', 'not-a-digest'],
      ['X-Checksum-Sha1', 'abc'],
      ['X-Checksum-Md5', 'z'.repeat(32)],
    ])('refuses a malformed %s header (%s) with 400', async (header, value) => {
      const before = await storeSnapshot(server)

      const response = await admin.put('/artifactory/generic-local/sums/malformed.bin', { body: 'abc', headers: { [header]: value } })

      expectRestError(response, 400)
      expectRestError(await admin.get('/artifactory/generic-local/sums/malformed.bin'), 404)
      const after = await storeSnapshot(server)
      expect(after.blobs).toEqual(before.blobs)
      expect(after.uploads).toEqual([])
    })
  })

  describe('deploy by checksum (X-Checksum-Deploy)', () => {
    const content = randomPayload(50_000)
    const digests = digestsOf(content)

    beforeAll(async () => {
      await deploy(admin, 'generic-local/by-checksum/original.bin', content)
    })

    it.each(['Sha256', 'Sha1'] as const)('records a new path for stored content by its %s, without a body', async (algorithm) => {
      const before = await storeSnapshot(server)
      const path = `generic-local/by-checksum/copy-${algorithm}.bin`

      const response = await admin.put(`/artifactory/${path}`, {
        headers: { 'X-Checksum-Deploy': 'true', [`X-Checksum-${algorithm}`]: digests[algorithm.toLowerCase() as 'sha256' | 'sha1'] },
      })

      expect(response.status).toBe(201)
      expect(response.json()).toMatchObject({
        repo: 'generic-local',
        path: `/by-checksum/copy-${algorithm}.bin`,
        size: String(content.length),
        checksums: digests,
      })
      const download = await admin.get(`/artifactory/${path}`)
      expect(sha256Of(download.body)).toBe(digests.sha256)
      // The content is stored once, whatever the number of paths pointing at it.
      expect((await storeSnapshot(server)).blobs).toEqual(before.blobs)
    })

    it('answers 404 for content it does not have, and records nothing', async () => {
      const unknown = digestsOf(randomPayload(32))

      const response = await admin.put('/artifactory/generic-local/by-checksum/unknown.bin', {
        headers: { 'X-Checksum-Deploy': 'true', 'X-Checksum-Sha256': unknown.sha256 },
      })

      expectRestError(response, 404)
      expectRestError(await admin.get('/artifactory/generic-local/by-checksum/unknown.bin'), 404)
    })

    it('refuses a checksum deploy with a malformed checksum (400)', async () => {
      const response = await admin.put('/artifactory/generic-local/by-checksum/bad.bin', {
        headers: { 'X-Checksum-Deploy': 'true', 'X-Checksum-Sha1': 'xyz' },
      })

      expectRestError(response, 400)
    })
  })

  describe('delete and overwrite', () => {
    it('deletes a file: download and storage API then answer 404', async () => {
      await deploy(admin, 'generic-local/del/file.txt', 'to be deleted')

      const response = await admin.delete('/artifactory/generic-local/del/file.txt')

      expect(response.status).toBe(204)
      expectRestError(await admin.get('/artifactory/generic-local/del/file.txt'), 404)
      expect((await admin.head('/artifactory/generic-local/del/file.txt')).status).toBe(404)
      expectRestError(await admin.get('/artifactory/api/storage/generic-local/del/file.txt'), 404)
      expectRestError(await admin.delete('/artifactory/generic-local/del/file.txt'), 404)
    })

    it('deletes a folder and everything below it, but not siblings that share its name as a prefix', async () => {
      // 1. a/b holds files at two depths; its siblings a/b-c, a/b0, a/b.txt and a/bb start with the same characters.
      const paths = {
        inside: ['tree/a/b/x.txt', 'tree/a/b/c/y.txt', 'tree/a/b/c/d/z.txt'],
        outside: ['tree/a/b-c/z.txt', 'tree/a/b0/w.txt', 'tree/a/b.txt', 'tree/a/bb/v.txt', 'tree/a/top.txt'],
      }
      for (const path of [...paths.inside, ...paths.outside]) await deploy(admin, `generic-local/${path}`, `content of ${path}`)

      // 2. Delete the folder a/b.
      const response = await admin.delete('/artifactory/generic-local/tree/a/b')
      expect(response.status).toBe(204)

      // 3. Everything below it is gone, the folder too; the siblings are untouched.
      for (const path of [...paths.inside, 'tree/a/b', 'tree/a/b/c']) {
        expectRestError(await admin.get(`/artifactory/api/storage/generic-local/${path}`), 404)
      }
      for (const path of paths.inside) expectRestError(await admin.get(`/artifactory/generic-local/${path}`), 404)
      for (const path of paths.outside) {
        const download = await admin.get(`/artifactory/generic-local/${path}`)
        expect(download.status, path).toBe(200)
        expect(download.text).toBe(`content of ${path}`)
      }
      const listing = await admin.get('/artifactory/api/storage/generic-local/tree?list&deep=1&listFolders=1')
      expect(listing.json().files.map((f: { uri: string }) => f.uri)).toEqual([
        '/a',
        '/a/b-c',
        '/a/b-c/z.txt',
        '/a/b.txt',
        '/a/b0',
        '/a/b0/w.txt',
        '/a/bb',
        '/a/bb/v.txt',
        '/a/top.txt',
      ])
    })

    it('deletes a folder deployed with a trailing slash, and a folder path given with one', async () => {
      const folder = await admin.put('/artifactory/generic-local/made/empty/')
      expect(folder.status).toBe(201)
      expect(folder.json()).toMatchObject({ repo: 'generic-local', path: '/made/empty', children: [] })

      const response = await admin.delete('/artifactory/generic-local/made/')

      expect(response.status).toBe(204)
      expectRestError(await admin.get('/artifactory/api/storage/generic-local/made/empty'), 404)
    })

    it('overwrites a file when the same path is deployed again', async () => {
      const first = await deploy(admin, 'generic-local/over/file.bin', 'first version')
      const second = await deploy(admin, 'generic-local/over/file.bin', 'the second, longer version')

      expect(second.size).toBe(String('the second, longer version'.length))
      expect(second.checksums.sha256).not.toBe(first.checksums.sha256)
      const download = await admin.get('/artifactory/generic-local/over/file.bin')
      expect(download.text).toBe('the second, longer version')
      const info = await admin.get('/artifactory/api/storage/generic-local/over/file.bin')
      expect(info.json()).toMatchObject({ size: second.size, checksums: second.checksums })
    })

    it('refuses a file where a folder is, and a folder or file below a file, with 409', async () => {
      await deploy(admin, 'generic-local/conflict/dir/inner.txt', 'inner')
      await deploy(admin, 'generic-local/conflict/file.txt', 'a file')

      // A file over an existing folder.
      expectRestError(await admin.put('/artifactory/generic-local/conflict/dir', { body: 'x' }), 409)
      // A file below an existing file, at any depth.
      expectRestError(await admin.put('/artifactory/generic-local/conflict/file.txt/below', { body: 'x' }), 409)
      expectRestError(await admin.put('/artifactory/generic-local/conflict/file.txt/deeper/below', { body: 'x' }), 409)
      // A folder where a file is, or below one.
      expectRestError(await admin.put('/artifactory/generic-local/conflict/file.txt/'), 409)
      expectRestError(await admin.put('/artifactory/generic-local/conflict/file.txt/sub/'), 409)

      // What was there is unchanged.
      expect((await admin.get('/artifactory/generic-local/conflict/file.txt')).text).toBe('a file')
      expect((await admin.get('/artifactory/generic-local/conflict/dir/inner.txt')).text).toBe('inner')
    })
  })

  describe('a client that disconnects mid-upload', () => {
    it.each([
      ['Content-Length: 10 MiB', 'resets the connection'],
      ['Content-Length: 10 MiB', 'half-closes the connection'],
      ['chunked encoding', 'resets the connection'],
      ['chunked encoding', 'half-closes the connection'],
    ] as const)('with %s, sends 6 MiB and %s: nothing visible, no temporary file, no blob', async (framing, ending) => {
      const before = await storeSnapshot(server)
      expect(before.uploads).toEqual([])
      // More than a part of the S3 driver (5 MiB in tests), so that every store has started storing it.
      const sent = randomPayload(6 * MiB)
      const isChunked = framing === 'chunked encoding'
      const path = `truncated/${isChunked ? 'chunked' : 'length'}-${ending.split(' ')[0]}.bin`
      const url = new URL(server.url)

      // 1. The headers promise 10 MiB (or a chunked body); only 6 MiB follow.
      const socket = net.connect({ host: url.hostname, port: Number(url.port) })
      socket.on('error', () => {}) // the server may reset the connection we abandon
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve)
        socket.once('error', reject)
      })
      socket.write(
        [
          `PUT /artifactory/generic-local/${path} HTTP/1.1`,
          `Host: ${url.host}`,
          `Authorization: ${server.adminAuth}`,
          'Content-Type: application/octet-stream',
          isChunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${10 * MiB}`,
          '',
          '',
        ].join('\r\n'),
      )
      socket.write(isChunked ? Buffer.concat([Buffer.from(`${sent.length.toString(16)}\r\n`), sent, Buffer.from('\r\n')]) : sent)

      // 2. The server is writing it to a temporary file...
      expect(await waitUntil(async () => (await storeSnapshot(server)).uploads.length > 0)).toBe(true)

      // 3. ...when the client goes away, abruptly or with a FIN and no more bytes.
      if (ending === 'resets the connection') socket.destroy()
      else socket.end()

      // 4. The temporary file is removed; nothing became visible or was committed.
      expect(await waitUntil(async () => (await storeSnapshot(server)).uploads.length === 0)).toBe(true)
      socket.destroy()
      expectRestError(await admin.get(`/artifactory/generic-local/${path}`), 404)
      expectRestError(await admin.get(`/artifactory/api/storage/generic-local/${path}`), 404)
      const after = await storeSnapshot(server)
      expect(after.blobs).toEqual(before.blobs)
      expect(after.blobs).not.toContain(blobKey(sha256Of(sent)))
    })
  })
})
