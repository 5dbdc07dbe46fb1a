/**
 * JSON from a client nested thousands of levels deep, well under every size limit (issue #13,
 * item 4): `JSON.parse` takes it, but storing or walking the value overflowed the stack and the
 * client got a 500. Each protocol now answers 400 in its own error format, saying why, and
 * nothing is stored.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH } from '../../src/core/json.js'
import { packTarball, publishBody } from '../helpers/npm.js'
import { temporaryUploads } from '../helpers/one-connection.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const NPM = '/artifactory/api/npm/npm-local'
const DEPTH = 5000
const deepArray = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`
const TOO_DEEP = new RegExp(`nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`)

interface Reply {
  readonly status: number
  readonly text: string
  readonly body: any
}

describe('JSON nested thousands of levels deep', () => {
  let server: TestServer

  const call = async (method: string, path: string, body: string | Buffer, contentType = 'application/json'): Promise<Reply> => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: server.adminAuth, 'content-type': contentType }, body })
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    return { status: res.status, text, body: parsed }
  }

  beforeAll(async () => {
    server = await startTestServer()
    for (const [key, packageType] of [['npm-local', 'npm'], ['docker-local', 'docker']]) {
      expect((await call('PUT', `/artifactory/api/repositories/${key}`, JSON.stringify({ key, rclass: 'local', packageType }))).status).toBe(200)
    }
  })

  afterAll(async () => {
    await server?.close()
  })

  it('in a REST body: 400 in the REST error format, nothing created', async () => {
    const reply = await call('PUT', '/artifactory/api/repositories/deep-local', `{"key":"deep-local","rclass":"local","packageType":"generic","notes":${deepArray}}`)
    expect(reply.status, reply.text).toBe(400)
    expect(reply.body).toEqual({ errors: [{ status: 400, code: 'BAD_REQUEST', message: expect.stringMatching(new RegExp(`^the request body ${TOO_DEEP.source}$`)) }] })
    expect((await fetch(`${server.url}/artifactory/api/repositories/deep-local`, { headers: { authorization: server.adminAuth } })).status).toBe(404)
  })

  it("in the package.json inside an npm tarball: 400 in npm's format, nothing published", async () => {
    const tarball = await packTarball({ 'package.json': `{"name":"deep","version":"1.0.0","config":${deepArray}}` })
    const reply = await call('PUT', `${NPM}/deep`, JSON.stringify(publishBody({ tarball, manifest: { name: 'deep', version: '1.0.0' } })))
    expect(reply.status, reply.text).toBe(400)
    expect(reply.body).toEqual({ error: expect.stringMatching(new RegExp(`^the package\\.json inside the tarball ${TOO_DEEP.source}$`)) })
    expect((await fetch(`${server.url}${NPM}/deep`, { headers: { authorization: server.adminAuth } })).status).toBe(404)
    expect(await temporaryUploads(server.dataDir)).toEqual([])
  })

  it("in an npm publish document: 400 in npm's format, nothing published", async () => {
    const tarball = await packTarball({ 'package.json': '{"name":"deep","version":"1.0.0"}' })
    const document = JSON.stringify(publishBody({ tarball, manifest: { name: 'deep', version: '1.0.0' } })).replace('"access":null', `"access":${deepArray}`)
    const reply = await call('PUT', `${NPM}/deep`, document)
    expect(reply.status, reply.text).toBe(400)
    expect(reply.body).toEqual({ error: expect.stringMatching(new RegExp(`^the request body ${TOO_DEEP.source}$`)) })
    expect((await fetch(`${server.url}${NPM}/deep`, { headers: { authorization: server.adminAuth } })).status).toBe(404)
    expect(await temporaryUploads(server.dataDir)).toEqual([])
  })

  it('in an npm audit or dist-tag body: 400', async () => {
    const audit = await call('POST', `${NPM}/-/npm/v1/security/advisories/bulk`, `{"deep":${deepArray}}`)
    expect(audit.status, audit.text).toBe(400)
    expect(audit.body).toEqual({ error: expect.stringMatching(TOO_DEEP) })
    const tag = await call('PUT', `${NPM}/-/package/deep/dist-tags/next`, deepArray)
    expect(tag.status, tag.text).toBe(400)
    expect(tag.body).toEqual({ error: expect.stringMatching(TOO_DEEP) })
  })

  it('in a container manifest: 400 MANIFEST_INVALID, nothing tagged', async () => {
    const config = Buffer.from('{}')
    const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`
    const pushed = await fetch(`${server.url}/v2/docker-local/deep/blobs/uploads/?digest=${configDigest}`, {
      method: 'POST',
      headers: { authorization: server.adminAuth, 'content-type': 'application/octet-stream' },
      body: config,
    })
    expect(pushed.status).toBe(201)
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: configDigest, size: config.length },
      layers: [],
    }).replace(/}$/, `,"annotations":{},"subject-notes":${deepArray}}`)
    const reply = await call('PUT', '/v2/docker-local/deep/manifests/v1', manifest, 'application/vnd.oci.image.manifest.v1+json')
    expect(reply.status, reply.text).toBe(400)
    expect(reply.body.errors[0]).toMatchObject({ code: 'MANIFEST_INVALID', message: expect.stringMatching(new RegExp(`^the manifest ${TOO_DEEP.source}$`)) })
    expect((await fetch(`${server.url}/v2/docker-local/deep/manifests/v1`, { headers: { authorization: server.adminAuth } })).status).toBe(404)
  })
})
