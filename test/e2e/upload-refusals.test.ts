/**
 * Uploads refused halfway through their body (issue #13, item 3): each refusal answers at once,
 * in its protocol's error format, on a connection that stays usable, and leaves nothing behind:
 * after a stream of them the blob store's temporary uploads are gone and the process holds no
 * more file descriptors than before. Every request goes over one kept-alive connection, so a
 * refusal that leaves the connection hanging shows as the next request timing out.
 */
import { randomBytes } from 'node:crypto'
import { createGzip } from 'node:zlib'
import { Header } from 'tar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packTarball, publishBody } from '../helpers/npm.js'
import { OneConnectionClient, descriptorsBackTo, openDescriptors, temporaryUploads } from '../helpers/one-connection.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const NPM = '/artifactory/api/npm/npm-local'
/** A refusal must come well before any timeout of the server (minutes) or of the client. */
const AT_ONCE_MS = 5000

/** One tar header block for a regular file of `size` bytes. */
function tarHeader(path: string, size: number): Buffer {
  const block = Buffer.alloc(512)
  new Header({ path, mode: 0o644, uid: 0, gid: 0, size, mtime: new Date(1_700_000_000_000), type: 'File' }).encode(block, 0)
  return block
}

/**
 * A package tarball whose second file is `zeroBytes` of zeros: gzip shrinks those about a
 * thousand times, so the tarball stays small (a few hundred KiB) while it expands past the ratio
 * that marks a compression bomb. Made as a stream: the zeros are never held whole.
 */
async function compressionBomb(packageJson: object, zeroBytes: number): Promise<Buffer> {
  const gzip = createGzip()
  const chunks: Buffer[] = []
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk))
  const done = new Promise((resolve, reject) => gzip.on('end', resolve).on('error', reject))
  const write = (bytes: Buffer) => new Promise<void>((resolve) => (gzip.write(bytes) ? resolve() : gzip.once('drain', resolve)))
  const manifest = Buffer.from(JSON.stringify(packageJson))
  await write(tarHeader('package/package.json', manifest.length))
  await write(Buffer.concat([manifest, Buffer.alloc((512 - (manifest.length % 512)) % 512)]))
  await write(tarHeader('package/zeros.bin', zeroBytes))
  const zeros = Buffer.alloc(1024 * 1024)
  for (let left = zeroBytes; left > 0; left -= zeros.length) await write(zeros.subarray(0, Math.min(left, zeros.length)))
  await write(Buffer.alloc(1024)) // end of archive
  gzip.end()
  await done
  return Buffer.concat(chunks)
}

/**
 * A gzip stream that turns to garbage after `validBytes`: the tar reader fails partway through
 * (at the next deflate block header, at most 64 KiB further for incompressible content).
 */
function corruptGzip(tarball: Buffer, validBytes: number): Buffer {
  const broken = Buffer.from(tarball)
  for (let i = validBytes; i < broken.length; i++) broken[i] = 0xff - broken[i]!
  return broken
}

describe('uploads refused halfway answer at once and release what they held', () => {
  let server: TestServer
  let client: OneConnectionClient
  let baseline: number

  const json = (value: unknown) => ({ body: JSON.stringify(value), headers: { 'content-type': 'application/json' } })
  const expectNoTemporaryUploads = async () => expect(await temporaryUploads(server.dataDir)).toEqual([])

  beforeAll(async () => {
    server = await startTestServer()
    client = new OneConnectionClient(server.url, server.adminAuth)
    baseline = await openDescriptors()
    for (const [key, packageType] of [['npm-local', 'npm'], ['maven-local', 'maven'], ['docker-local', 'docker']]) {
      const { body, headers } = json({ key, rclass: 'local', packageType })
      expect((await client.send('PUT', `/artifactory/api/repositories/${key}`, body, headers)).status).toBe(200)
    }
  })

  afterAll(async () => {
    client?.close()
    await server?.close()
  })

  it('refuses a stream of npm publishes whose tarball is a compression bomb (400), each at once', async () => {
    // 128 MiB of zeros: ~127 KiB of gzip, more than the first chunks of the body, so the bomb goes off before the end.
    const tarball = await compressionBomb({ name: 'bomb', version: '1.0.0' }, 128 * 1024 * 1024)
    expect(tarball.length).toBeGreaterThan(96 * 1024)
    const { body, headers } = json(publishBody({ tarball, manifest: { name: 'bomb', version: '1.0.0' } }))
    for (let i = 0; i < 5; i++) {
      const reply = await client.send('PUT', `${NPM}/bomb`, body, headers)
      expect(reply.status, reply.text).toBe(400)
      expect(JSON.parse(reply.text)).toEqual({ error: expect.stringMatching(/^the tarball cannot be read: max decompression ratio exceeded/) })
      expect(reply.ms).toBeLessThan(AT_ONCE_MS)
      await expectNoTemporaryUploads()
    }
    expect((await client.send('GET', `${NPM}/-/ping`)).status).toBe(200)
    expect((await client.send('GET', `${NPM}/bomb`)).status).toBe(404)
  })

  it('refuses a stream of npm publishes whose gzip breaks partway (400), each at once', async () => {
    const valid = await packTarball({ 'package.json': JSON.stringify({ name: 'broken', version: '1.0.0' }), 'noise.bin': randomBytes(512 * 1024) })
    const tarball = corruptGzip(valid, 200 * 1024)
    const { body, headers } = json(publishBody({ tarball, manifest: { name: 'broken', version: '1.0.0' } }))
    for (let i = 0; i < 5; i++) {
      const reply = await client.send('PUT', `${NPM}/broken`, body, headers)
      expect(reply.status, reply.text).toBe(400)
      expect(JSON.parse(reply.text)).toEqual({ error: expect.stringMatching(/^the tarball cannot be read: /) })
      expect(reply.ms).toBeLessThan(AT_ONCE_MS)
      await expectNoTemporaryUploads()
    }
    expect((await client.send('GET', `${NPM}/-/ping`)).status).toBe(200)
  })

  it('refuses a plain upload halfway (a maven-metadata.xml over its limit: 413) and the connection still answers', async () => {
    const tooLarge = Buffer.alloc(6 * 1024 * 1024, 'a')
    for (let i = 0; i < 3; i++) {
      const reply = await client.send('PUT', '/artifactory/maven-local/com/example/lib/maven-metadata.xml', tooLarge)
      expect(reply.status, reply.text).toBe(413)
      expect(JSON.parse(reply.text)).toEqual({ errors: [{ status: 413, code: 'PAYLOAD_TOO_LARGE', message: expect.stringMatching(/maven-metadata\.xml is larger than the limit/) }] })
      expect(reply.ms).toBeLessThan(AT_ONCE_MS)
      const next = await client.send('GET', '/artifactory/api/repositories')
      expect(next.status, next.text).toBe(200)
    }
    await expectNoTemporaryUploads()
  })

  it('refuses a container manifest over its limit sent without a length (413) and the connection still answers', async () => {
    const tooLarge = Buffer.from(JSON.stringify({ schemaVersion: 2, padding: 'x'.repeat(5 * 1024 * 1024) }))
    for (let i = 0; i < 3; i++) {
      const reply = await client.send('PUT', '/v2/docker-local/big/manifests/v1', tooLarge, {
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
        'transfer-encoding': 'chunked',
      })
      expect(reply.status, reply.text).toBe(413)
      expect(JSON.parse(reply.text).errors[0]).toMatchObject({ code: 'MANIFEST_INVALID', message: expect.stringMatching(/larger than/) })
      expect(reply.ms).toBeLessThan(AT_ONCE_MS)
      expect((await client.send('GET', '/v2/')).status).toBe(200)
    }
  })

  it('leaves no descriptor and no temporary upload behind', async () => {
    client.close()
    expect(await descriptorsBackTo(baseline)).toBeLessThanOrEqual(baseline)
    await expectNoTemporaryUploads()
  })
})
