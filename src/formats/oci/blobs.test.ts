/**
 * Blob endpoints and upload sessions over real HTTP, on every metadata backend: monolithic and
 * chunked pushes, every error the specification lists for them, resumption after a restart,
 * concurrent pushes of one layer, cross-repository mounts and the clean-up of abandoned sessions.
 */
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256 } from '../../../test/helpers/oci-images.js'
import { RegistryClient, expectOciError, startOciServer, type OciServer } from '../../../test/helpers/oci.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'

const backends = await metadataBackends()
const MAX_UPLOADS = 15

describe.each(backends)('blobs and uploads on %s', (backend) => {
  let server: OciServer
  let admin: RegistryClient

  beforeAll(async () => {
    server = await startOciServer(backend, { oci: { maxUploadsPerUser: MAX_UPLOADS, uploadExpirySecs: 60 } })
    admin = new RegistryClient(server, server.adminAuth)
    await admin.createRepository('docker-local')
    await admin.createRepository('other-local')
  })
  afterAll(async () => server?.close())

  async function startUpload(name = 'docker-local/app'): Promise<string> {
    const res = await admin.call('POST', `/v2/${name}/blobs/uploads/`)
    expect(res.status, await res.clone().text()).toBe(202)
    expect(res.headers.get('range')).toBe('0-0')
    expect(res.headers.get('docker-upload-uuid')).toMatch(/^[0-9a-f-]{36}$/)
    const location = res.headers.get('location')!
    expect(location).toBe(`/v2/${name}/blobs/uploads/${res.headers.get('docker-upload-uuid')}`)
    return location
  }

  async function patch(location: string, bytes: Buffer, range?: string): Promise<Response> {
    return admin.call('PATCH', location, {
      headers: { 'content-type': 'application/octet-stream', ...(range ? { 'content-range': range } : {}) },
      body: bytes,
    })
  }

  /** The ids of the temporary data in the store. */
  async function temporaries(): Promise<string[]> {
    const ids: string[] = []
    for await (const temporary of server.blobstore.driver.listTemporary()) ids.push(temporary.id)
    return ids
  }

  /** The digests of the blobs in the store (the data folder, or a bucket on an S3 run). */
  async function blobFiles(): Promise<string[]> {
    const digests: string[] = []
    for await (const key of server.blobstore.driver.list('blobs/sha256/')) digests.push(key.slice(key.lastIndexOf('/') + 1))
    return digests
  }

  it('pushes a blob with one POST ?digest= and serves it with HEAD, GET and ranges', async () => {
    const bytes = randomBytes(100_000)
    const digest = `sha256:${sha256(bytes)}`
    const res = await admin.call('POST', `/v2/docker-local/app/blobs/uploads/?digest=${digest}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('location')).toBe(`/v2/docker-local/app/blobs/${digest}`)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0')

    const head = await admin.call('HEAD', `/v2/docker-local/app/blobs/${digest}`)
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe('100000')
    expect(head.headers.get('docker-content-digest')).toBe(digest)

    const get = await admin.call('GET', `/v2/docker-local/app/blobs/${digest}`)
    expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true)

    const part = await admin.call('GET', `/v2/docker-local/app/blobs/${digest}`, { headers: { range: 'bytes=10-19' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe('bytes 10-19/100000')
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true)

    const beyond = await admin.call('GET', `/v2/docker-local/app/blobs/${digest}`, { headers: { range: 'bytes=100000-' } })
    expect(beyond.status).toBe(416)
    expect(beyond.headers.get('content-range')).toBe('bytes */100000')
  })

  it('pushes with POST then one PUT carrying the whole blob', async () => {
    const bytes = randomBytes(5000)
    const location = await startUpload()
    const res = await admin.call('PUT', `${location}?digest=sha256:${sha256(bytes)}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    })
    expect(res.status, await res.clone().text()).toBe(201)
    expect(res.headers.get('docker-content-digest')).toBe(`sha256:${sha256(bytes)}`)
    const get = await admin.call('GET', `/v2/docker-local/app/blobs/sha256:${sha256(bytes)}`)
    expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true)
    // The session is over.
    await expectOciError(await admin.call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN')
  })

  it('pushes in chunks with Content-Range, reports progress, and closes with the last chunk in the PUT', async () => {
    const bytes = randomBytes(300_000)
    const location = await startUpload()
    let res = await patch(location, bytes.subarray(0, 100_000), '0-99999')
    expect(res.status).toBe(202)
    expect(res.headers.get('range')).toBe('0-99999')
    expect(res.headers.get('location')).toBe(location)
    // Without Content-Range, a chunk is appended (Docker's streamed PATCH).
    res = await patch(location, bytes.subarray(100_000, 200_000))
    expect(res.status).toBe(202)
    expect(res.headers.get('range')).toBe('0-199999')

    const status = await admin.call('GET', location)
    expect(status.status).toBe(204)
    expect(status.headers.get('range')).toBe('0-199999')
    expect(status.headers.get('location')).toBe(location)

    res = await admin.call('PUT', `${location}?digest=sha256:${sha256(bytes)}`, {
      headers: { 'content-type': 'application/octet-stream', 'content-range': '200000-299999' },
      body: bytes.subarray(200_000),
    })
    expect(res.status, await res.clone().text()).toBe(201)
    const get = await admin.call('GET', `/v2/docker-local/app/blobs/sha256:${sha256(bytes)}`)
    expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true)
    // The chunks are gone with the session; the blob waits in the uploads folder for its manifest.
    const uploads = await admin.call('GET', '/artifactory/api/storage/docker-local/app/_uploads')
    const names = ((await uploads.json()) as { children: { uri: string }[] }).children.map((c) => c.uri)
    expect(names).toContain(`/sha256__${sha256(bytes)}`)
    expect(names.filter((n) => !n.startsWith('/sha256__'))).toEqual([])
  })

  it('streams a chunk of unknown length (chunked transfer encoding) without buffering it', async () => {
    const bytes = randomBytes(3 * 1024 * 1024)
    const location = await startUpload()
    const body = Readable.from((function* () {
      for (let i = 0; i < bytes.length; i += 64 * 1024) yield bytes.subarray(i, i + 64 * 1024)
    })())
    let res = await admin.call('PATCH', location, { headers: { 'content-type': 'application/octet-stream' }, body })
    expect(res.status, await res.clone().text()).toBe(202)
    expect(res.headers.get('range')).toBe(`0-${bytes.length - 1}`)
    res = await admin.call('PUT', `${location}?digest=sha256:${sha256(bytes)}`)
    expect(res.status, await res.clone().text()).toBe(201)
  })

  it('answers a chunk out of order with 416 and where the upload stands', async () => {
    const location = await startUpload()
    expect((await patch(location, Buffer.from('abcd'), '0-3')).status).toBe(202)
    const res = await patch(location, Buffer.from('efgh'), '8-11')
    await expectOciError(res, 416, 'BLOB_UPLOAD_INVALID', /starts at byte 8/)
    expect(res.headers.get('range')).toBe('0-3')
    expect(res.headers.get('location')).toBe(location)
    // A repeated chunk is out of order too.
    await expectOciError(await patch(location, Buffer.from('abcd'), '0-3'), 416, 'BLOB_UPLOAD_INVALID')
    expect((await admin.call('GET', location)).headers.get('range')).toBe('0-3')
  })

  it('refuses a chunk whose length differs from its Content-Range (SIZE_INVALID) and keeps the session', async () => {
    const location = await startUpload()
    await expectOciError(await patch(location, Buffer.from('abc'), '0-9'), 400, 'SIZE_INVALID')
    expect((await admin.call('GET', location)).headers.get('range')).toBe('0-0')
    await expectOciError(await patch(location, Buffer.from('abc'), 'bytes=oops'), 400, 'BLOB_UPLOAD_INVALID', /Content-Range/)
  })

  it('refuses a blob whose digest does not match, stores nothing, and keeps a chunked session resumable', async () => {
    const bytes = randomBytes(2048)
    const wrong = `sha256:${sha256(Buffer.from('something else'))}`
    const before = await blobFiles()
    await expectOciError(
      await admin.call('POST', `/v2/docker-local/app/blobs/uploads/?digest=${wrong}`, { body: bytes, headers: { 'content-type': 'application/octet-stream' } }),
      400,
      'DIGEST_INVALID',
    )
    await expectOciError(await admin.call('HEAD', `/v2/docker-local/app/blobs/sha256:${sha256(bytes)}`), 404, 'BLOB_UNKNOWN')
    expect(await blobFiles()).toEqual(before)

    const location = await startUpload()
    expect((await patch(location, bytes.subarray(0, 1000), '0-999')).status).toBe(202)
    const withChunk = await blobFiles()
    await expectOciError(await admin.call('PUT', `${location}?digest=${wrong}`), 400, 'DIGEST_INVALID')
    // A closing chunk does not change that.
    await expectOciError(await admin.call('PUT', `${location}?digest=${wrong}`, { headers: { 'content-range': `1000-${bytes.length - 1}` }, body: bytes.subarray(1000) }), 400, 'DIGEST_INVALID')
    expect(await blobFiles()).toEqual(withChunk)
    expect((await admin.call('GET', location)).headers.get('range')).toBe('0-999')
    expect((await patch(location, bytes.subarray(1000), `1000-${bytes.length - 1}`)).status).toBe(202)
    expect((await admin.call('GET', location)).headers.get('range')).toBe(`0-${bytes.length - 1}`)
    const done = await admin.call('PUT', `${location}?digest=sha256:${sha256(bytes)}`)
    expect(done.status, await done.clone().text()).toBe(201)
  })

  it('refuses a close without a digest, and malformed or unsupported digests', async () => {
    const location = await startUpload()
    await expectOciError(await admin.call('PUT', location), 400, 'DIGEST_INVALID', /digest/)
    await expectOciError(await admin.call('PUT', `${location}?digest=sha256:123`), 400, 'DIGEST_INVALID')
    await expectOciError(await admin.call('PUT', `${location}?digest=sha512:${'a'.repeat(128)}`), 400, 'DIGEST_INVALID', /sha256/)
    await expectOciError(await admin.call('GET', '/v2/docker-local/app/blobs/sha256:xyz'), 400, 'DIGEST_INVALID')
  })

  it('answers unknown sessions, sessions of another image, and cancelled ones with BLOB_UPLOAD_UNKNOWN', async () => {
    await expectOciError(await admin.call('GET', '/v2/docker-local/app/blobs/uploads/00000000-0000-4000-8000-000000000000'), 404, 'BLOB_UPLOAD_UNKNOWN')
    await expectOciError(await admin.call('PATCH', '/v2/docker-local/app/blobs/uploads/not-a-uuid', { body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN')
    const location = await startUpload()
    await expectOciError(await admin.call('GET', location.replace('/app/', '/other/')), 404, 'BLOB_UPLOAD_UNKNOWN')
    expect((await patch(location, Buffer.from('abc'))).status).toBe(202)
    const cancelled = await admin.call('DELETE', location)
    expect(cancelled.status).toBe(204)
    await expectOciError(await admin.call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN')
    await expectOciError(await admin.call('DELETE', location), 404, 'BLOB_UPLOAD_UNKNOWN')
  })

  it('answers unknown blobs with BLOB_UNKNOWN, and deletes blobs with 202', async () => {
    const missing = `sha256:${'0'.repeat(64)}`
    await expectOciError(await admin.call('GET', `/v2/docker-local/app/blobs/${missing}`), 404, 'BLOB_UNKNOWN')
    expect((await admin.call('HEAD', `/v2/docker-local/app/blobs/${missing}`)).status).toBe(404)
    const digest = await admin.pushBlob('docker-local/delete-me', randomBytes(300))
    // A blob is held per image: another image of the repository does not have it.
    await expectOciError(await admin.call('GET', `/v2/docker-local/app/blobs/${digest}`), 404, 'BLOB_UNKNOWN')
    const res = await admin.call('DELETE', `/v2/docker-local/delete-me/blobs/${digest}`)
    expect(res.status).toBe(202)
    await expectOciError(await admin.call('GET', `/v2/docker-local/delete-me/blobs/${digest}`), 404, 'BLOB_UNKNOWN')
    await expectOciError(await admin.call('DELETE', `/v2/docker-local/delete-me/blobs/${digest}`), 404, 'BLOB_UNKNOWN')
  })

  it('answers BLOB_UNKNOWN, with a clean body, for a blob whose bytes left the store under its asset', async () => {
    const bytes = randomBytes(700)
    const digest = await admin.pushBlob('docker-local/vanished', bytes)
    await server.trove.services.blobs.delete(sha256(bytes))
    await expectOciError(await admin.call('GET', `/v2/docker-local/vanished/blobs/${digest}`), 404, 'BLOB_UNKNOWN')
    await expectOciError(await admin.call('HEAD', `/v2/docker-local/vanished/blobs/${digest}`), 404, 'BLOB_UNKNOWN')
    // Pushing it again repairs the image.
    await admin.pushBlob('docker-local/vanished', bytes)
    expect((await admin.call('HEAD', `/v2/docker-local/vanished/blobs/${digest}`)).status).toBe(200)
  })

  it('mounts a blob from an image the caller may read, and starts an upload otherwise', async () => {
    const bytes = randomBytes(1000)
    const digest = await admin.pushBlob('other-local/source', bytes)
    const user = await admin.createUser(`mounter-${backend}`, { 'docker-local': ['read', 'deploy'] })
    const asUser = admin.as(user)

    // The user may not read other-local: no mount, an upload session instead (spec: 202).
    let res = await asUser.call('POST', `/v2/docker-local/target/blobs/uploads/?mount=${digest}&from=other-local/source`)
    expect(res.status).toBe(202)
    expect(res.headers.get('location')).toMatch(/\/blobs\/uploads\//)
    await expectOciError(await asUser.call('HEAD', `/v2/docker-local/target/blobs/${digest}`), 404, 'BLOB_UNKNOWN')

    res = await admin.call('POST', `/v2/docker-local/target/blobs/uploads/?mount=${digest}&from=other-local/source`)
    expect(res.status).toBe(201)
    expect(res.headers.get('location')).toBe(`/v2/docker-local/target/blobs/${digest}`)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    const get = await asUser.call('GET', `/v2/docker-local/target/blobs/${digest}`)
    expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true)

    // A blob the source does not hold is not mounted.
    res = await admin.call('POST', `/v2/docker-local/target/blobs/uploads/?mount=sha256:${'1'.repeat(64)}&from=other-local/source`)
    expect(res.status).toBe(202)
  })

  it('lets concurrent pushes of the same layer all succeed and stores it once', async () => {
    const bytes = randomBytes(512 * 1024)
    const digest = `sha256:${sha256(bytes)}`
    const monolithic = Array.from({ length: 6 }, () =>
      admin.call('POST', `/v2/docker-local/same/blobs/uploads/?digest=${digest}`, { headers: { 'content-type': 'application/octet-stream' }, body: bytes }),
    )
    const chunked = Array.from({ length: 3 }, async () => {
      const location = await startUpload('docker-local/same')
      expect((await patch(location, bytes.subarray(0, 1000), '0-999')).status).toBe(202)
      return admin.call('PUT', `${location}?digest=${digest}`, { headers: { 'content-range': `1000-${bytes.length - 1}` }, body: bytes.subarray(1000) })
    })
    const results = await Promise.all([...monolithic, ...chunked])
    expect(results.map((r) => r.status)).toEqual(Array(9).fill(201))
    expect((await blobFiles()).filter((f) => f === sha256(bytes))).toHaveLength(1)
    const get = await admin.call('GET', `/v2/docker-local/same/blobs/${digest}`)
    expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true)
  })

  it('refuses more open sessions than a user may hold with TOOMANYREQUESTS', async () => {
    const user = await admin.createUser(`busy-${backend}`, { 'docker-local': ['read', 'deploy'] })
    const asUser = admin.as(user)
    const locations: string[] = []
    for (let i = 0; i < MAX_UPLOADS; i++) {
      const res = await asUser.call('POST', '/v2/docker-local/busy/blobs/uploads/')
      expect(res.status).toBe(202)
      locations.push(res.headers.get('location')!)
    }
    await expectOciError(await asUser.call('POST', '/v2/docker-local/busy/blobs/uploads/'), 429, 'TOOMANYREQUESTS')
    expect((await asUser.call('DELETE', locations[0]!)).status).toBe(204)
    expect((await asUser.call('POST', '/v2/docker-local/busy/blobs/uploads/')).status).toBe(202)
  })

  it('answers repositories that are missing or not docker with NAME_UNKNOWN, bad names with NAME_INVALID, wrong methods with UNSUPPORTED', async () => {
    await expectOciError(await admin.call('POST', '/v2/nothing-here/app/blobs/uploads/'), 404, 'NAME_UNKNOWN')
    const generic = await admin.call('PUT', '/artifactory/api/repositories/generic-local', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rclass: 'local', packageType: 'generic' }),
    })
    expect(generic.status).toBe(200)
    await expectOciError(await admin.call('POST', '/v2/generic-local/app/blobs/uploads/'), 404, 'NAME_UNKNOWN', /not a docker repository/)
    await expectOciError(await admin.call('POST', '/v2/docker-local/App/blobs/uploads/'), 400, 'NAME_INVALID')
    await expectOciError(await admin.call('GET', '/v2/docker-local/tags/list'), 400, 'NAME_INVALID', /no image/)
    await expectOciError(await admin.call('PATCH', `/v2/docker-local/app/blobs/sha256:${'0'.repeat(64)}`), 405, 'UNSUPPORTED')
    await expectOciError(await admin.call('GET', '/v2/docker-local/app/nothing'), 404, 'UNSUPPORTED')
  })

  it('resumes a chunked upload after the server restarts', async () => {
    const bytes = randomBytes(200_000)
    const location = await startUpload('docker-local/resumed')
    expect((await patch(location, bytes.subarray(0, 120_000), '0-119999')).status).toBe(202)

    await server.restart()

    // 1. The new server knows where the upload stands.
    const status = await admin.call('GET', location)
    expect(status.status).toBe(204)
    expect(status.headers.get('range')).toBe('0-119999')
    // 2. The client sends the rest and closes the session.
    expect((await patch(location, bytes.subarray(120_000, 150_000), '120000-149999')).status).toBe(202)
    const done = await admin.call('PUT', `${location}?digest=sha256:${sha256(bytes)}`, {
      headers: { 'content-range': '150000-199999' },
      body: bytes.subarray(150_000),
    })
    expect(done.status, await done.clone().text()).toBe(201)
    // 3. The blob is whole.
    const get = await admin.call('GET', `/v2/docker-local/resumed/blobs/sha256:${sha256(bytes)}`)
    expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true)
  })

  it('keeps chunks out of the repository, in one temporary object, and removes abandoned sessions after the configured time', async () => {
    const chunk = randomBytes(1000)
    const location = await startUpload('docker-local/abandoned')
    expect((await patch(location, chunk, '0-999')).status).toBe(202)
    const uuid = location.slice(location.lastIndexOf('/') + 1)
    // The chunk is no asset and no blob: it waits in the session's temporary object.
    expect((await admin.call('GET', '/artifactory/api/storage/docker-local/abandoned/_uploads')).status).toBe(404)
    await expectOciError(await admin.call('HEAD', `/v2/docker-local/abandoned/blobs/sha256:${sha256(chunk)}`), 404, 'BLOB_UNKNOWN')
    expect(await blobFiles()).not.toContain(sha256(chunk))
    expect(await temporaries()).toContain(`upload-${uuid}`)
    // Neither garbage collection nor the temporary sweep takes an open session's data.
    const services = server.trove.services
    await services.gc.collect(0)
    expect(await temporaries()).toContain(`upload-${uuid}`)

    // Age the session past the expiry (60 s here) without waiting for it, and let the job run.
    await services.metadata.db.updateTable('upload_sessions').set({ updated_at: Date.now() - 61_000 }).where('id', '=', uuid).execute()
    await services.jobs.enqueue('oci-upload-cleanup', {})
    await services.jobs.runDue()

    await expectOciError(await admin.call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN')
    expect(await temporaries()).not.toContain(`upload-${uuid}`)
  })
})
