/**
 * A blob store whose disk fills up (issue #13, item 10), for real: the blob store is a 3 MiB
 * tmpfs, mounted by the test (root only), filled with one file, and then every upload path meets
 * ENOSPC halfway through its body. Each answers 507 Insufficient Storage in its protocol's error
 * format with a message saying so, right away and on a connection that stays usable, leaves no
 * temporary upload and stores nothing; once space is freed, the same upload goes through.
 */
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packTarball, publishBody } from '../helpers/npm.js'
import { OneConnectionClient, descriptorsBackTo, openDescriptors, temporaryUploadBytes, temporaryUploads, type TimedReply } from '../helpers/one-connection.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { requireClients } from '../helpers/clients.js'
import { TMPFS, mountTmpfs } from '../helpers/tmpfs.js'

const canMount = await requireClients('the disk-full suite', [TMPFS])

const FULL_MESSAGE = /^the blob store is full: nothing was stored; an administrator must free or add storage$/
/** More than the room left once the store is filled: ENOSPC comes halfway through the body. */
const UPLOAD_BYTES = 1024 * 1024

describe.skipIf(!canMount)('uploads to a full blob store (a real full tmpfs)', () => {
  let server: TestServer
  let store: { dir: string; unmount: () => Promise<void> }
  let client: OneConnectionClient
  let baseline: number
  const payload = randomBytes(UPLOAD_BYTES)

  const json = (value: unknown) => [JSON.stringify(value), { 'content-type': 'application/json' }] as const
  /** Asserts a refusal for want of room: 507, at once, nothing left in _uploads; returns the body. */
  const expectFull = async (reply: TimedReply): Promise<string> => {
    expect(reply.status, reply.text).toBe(507)
    expect(reply.ms).toBeLessThan(5000)
    expect(await temporaryUploads(store.dir)).toEqual([])
    return reply.text
  }
  /** The connection the refusal came on answers the next request. */
  const expectConnectionUsable = async () => expect((await client.send('GET', '/artifactory/api/system/ping')).status).toBe(200)

  beforeAll(async () => {
    const mounted = await mountTmpfs('3m')
    if ('reason' in mounted) throw new Error(mounted.reason)
    store = mounted
    // The metadata database stays on the ordinary disk: this is about the blob store.
    server = await startTestServer({ settings: { blobstore: { url: store.dir }, gc: { graceSecs: 0 } } })
    client = new OneConnectionClient(server.url, server.adminAuth)
    baseline = await openDescriptors()
    for (const [key, packageType] of [['generic-local', 'generic'], ['maven-local', 'maven'], ['helm-local', 'helm'], ['npm-local', 'npm'], ['pypi-local', 'pypi'], ['docker-local', 'docker']]) {
      const reply = await client.send('PUT', `/artifactory/api/repositories/${key}`, ...json({ key, rclass: 'local', packageType }))
      expect(reply.status, reply.text).toBe(200)
    }
    // Fills the store but for about half a MiB.
    const filler = await client.send('PUT', '/artifactory/generic-local/filler.bin', randomBytes(2.5 * 1024 * 1024))
    expect(filler.status, filler.text).toBe(201)
  })

  afterAll(async () => {
    client?.close()
    await server?.close()
    await store?.unmount()
  })

  it('a plain deploy (generic, Maven, Helm): 507 in the REST error format', async () => {
    for (const path of ['generic-local/big.bin', 'maven-local/com/example/big/1.0/big-1.0.jar', 'helm-local/big-1.0.0.tgz']) {
      const text = await expectFull(await client.send('PUT', `/artifactory/${path}`, payload))
      expect(JSON.parse(text)).toEqual({ errors: [{ status: 507, code: 'INSUFFICIENT_STORAGE', message: expect.stringMatching(FULL_MESSAGE) }] })
      expect((await client.send('GET', `/artifactory/${path}`)).status).toBe(404)
    }
    await expectConnectionUsable()
  })

  it("an npm publish: 507 in npm's format", async () => {
    const tarball = await packTarball({ 'package.json': JSON.stringify({ name: 'big', version: '1.0.0' }), 'noise.bin': payload })
    const text = await expectFull(await client.send('PUT', '/artifactory/api/npm/npm-local/big', ...json(publishBody({ tarball, manifest: { name: 'big', version: '1.0.0' } }))))
    expect(JSON.parse(text)).toEqual({ error: expect.stringMatching(FULL_MESSAGE) })
    expect((await client.send('GET', '/artifactory/api/npm/npm-local/big')).status).toBe(404)
  })

  it("a PyPI upload: 507 with the message as PyPI's plain text", async () => {
    const boundary = 'trove-disk-full'
    const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
    const body = Buffer.concat([
      Buffer.from(field(':action', 'file_upload') + field('protocol_version', '1') + field('name', 'big') + field('version', '1.0') + field('filetype', 'sdist')),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="content"; filename="big-1.0.tar.gz"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      payload,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ])
    const reply = await client.send('POST', '/artifactory/api/pypi/pypi-local', body, { 'content-type': `multipart/form-data; boundary=${boundary}` })
    expect(await expectFull(reply)).toMatch(/^507 the blob store is full: nothing was stored/)
    expect((await client.send('GET', '/artifactory/api/pypi/pypi-local/simple/big/')).status).toBe(404)
  })

  it('a container blob, in one request or in chunks: 507 in the OCI error format', async () => {
    const digest = `sha256:${createHash('sha256').update(payload).digest('hex')}`
    const monolithic = await expectFull(await client.send('POST', `/v2/docker-local/big/blobs/uploads/?digest=${digest}`, payload, { 'content-type': 'application/octet-stream' }))
    expect(JSON.parse(monolithic).errors).toEqual([{ code: 'UNKNOWN', message: expect.stringMatching(FULL_MESSAGE) }])

    const started = await client.send('POST', '/v2/docker-local/big/blobs/uploads/')
    expect(started.status, started.text).toBe(202)
    const refused = await client.send('PATCH', String(started.headers.location), payload, { 'content-type': 'application/octet-stream' })
    expect(refused.status, refused.text).toBe(507)
    expect(refused.ms).toBeLessThan(5000)
    expect(JSON.parse(refused.text).errors).toEqual([{ code: 'UNKNOWN', message: expect.stringMatching(FULL_MESSAGE) }])
    // The session is where it was: nothing of the refused chunk counts, and its temporary object
    // (the session's own, kept while it is open, docs/storage.md) holds none of its bytes.
    const status = await client.send('GET', String(started.headers.location))
    expect(status.status).toBe(204)
    expect(status.headers.range).toBe('0-0')
    expect(await temporaryUploadBytes(store.dir)).toBe(0)
    expect((await client.send('HEAD', `/v2/docker-local/big/blobs/${digest}`)).status).toBe(404)
    // Cancelling the session releases its temporary object too.
    expect((await client.send('DELETE', String(started.headers.location))).status).toBe(204)
    expect(await temporaryUploads(store.dir)).toEqual([])
  })

  it('takes the same upload once space is freed, and leaves no descriptor behind', async () => {
    expect((await client.send('DELETE', '/artifactory/generic-local/filler.bin')).status).toBe(204)
    expect((await client.send('POST', '/artifactory/api/system/storage/gc')).status).toBe(200)
    const deployed = await client.send('PUT', '/artifactory/generic-local/big.bin', payload)
    expect(deployed.status, deployed.text).toBe(201)
    client.close()
    expect(await descriptorsBackTo(baseline)).toBeLessThanOrEqual(baseline)
    expect(await temporaryUploads(store.dir)).toEqual([])
  })
})
