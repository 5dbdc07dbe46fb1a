import { createHash, randomBytes } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Format } from '../../src/formats/format.js'
import { buildHttpApp } from '../../src/http/app.js'
import { VERSION } from '../../src/version.js'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createRepository, createUser, eventually, expectRestError, type ApiCall } from './admin-http.js'

const backends = await metadataBackends()

describe.each(backends)('system endpoints (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall

  beforeAll(async () => {
    server = await startTestServer({ backend })
    call = apiClient(server)
  })

  afterAll(async () => {
    await server?.close()
  })

  it('answers ping with a plain OK, to anyone', async () => {
    const res = await call('GET', '/artifactory/api/system/ping', { auth: null })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await res.text()).toBe('OK')
  })

  it('tells its version as JSON', async () => {
    const res = await call('GET', '/artifactory/api/system/version', { auth: null })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body = (await res.json()) as { version: string; revision: string; addons: unknown[]; license: string }
    expect(body.version).toBe(VERSION)
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(typeof body.revision).toBe('string')
    expect(body.addons).toEqual([])
    expect(typeof body.license).toBe('string')
  })

  it.each(['', '/artifactory'])('answers liveness and readiness under %j', async (prefix) => {
    const live = await call('GET', `${prefix}/api/v1/system/liveness`, { auth: null })
    expect(live.status).toBe(200)
    expect(await live.json()).toEqual({ status: 'UP' })
    const ready = await call('GET', `${prefix}/api/v1/system/readiness`, { auth: null })
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({
      status: 'UP',
      checks: [
        { name: 'metadata', status: 'UP' },
        { name: 'blobstore', status: 'UP' },
      ],
    })
  })

  describe('when the blob store folder is unusable', () => {
    const uploads = () => join(server.dataDir, '_uploads')

    afterEach(async () => {
      // Restore, whatever the test did: the folder is re-created on the next write.
      await rm(uploads(), { recursive: true, force: true })
    })

    it('is not ready (503) and says why, live all the same; ready again once restored', async () => {
      // 1. A file where the temporary-upload folder should be: no blob can be written.
      await rm(uploads(), { recursive: true, force: true })
      await writeFile(uploads(), 'not a folder')

      for (const prefix of ['', '/artifactory']) {
        const res = await call('GET', `${prefix}/api/v1/system/readiness`, { auth: null })
        expect(res.status).toBe(503)
        const body = (await res.json()) as { status: string; checks: { name: string; status: string; error?: string }[] }
        expect(body.status).toBe('DOWN')
        expect(body.checks.find((c) => c.name === 'metadata')).toEqual({ name: 'metadata', status: 'UP' })
        const blobstore = body.checks.find((c) => c.name === 'blobstore')
        expect(blobstore).toMatchObject({ name: 'blobstore', status: 'DOWN' })
        expect(blobstore!.error).toMatch(/\S/)
        expect((await call('GET', `${prefix}/api/v1/system/liveness`, { auth: null })).status).toBe(200)
      }

      // 2. Deploys fail too, with a server error that does not leak the server's paths.
      await createRepository(call, 'unready-local')
      const deploy = await call('PUT', '/artifactory/unready-local/a.bin', { body: 'abc' })
      expect(deploy.status).toBeGreaterThanOrEqual(500)
      const message = await expectRestError(deploy, deploy.status)
      expect(message).not.toContain(server.dataDir)
      expect((await call('GET', '/artifactory/unready-local/a.bin')).status).toBe(404)

      // 3. Restored: ready again, deploys work.
      await rm(uploads(), { force: true })
      const ready = await call('GET', '/api/v1/system/readiness', { auth: null })
      expect(ready.status).toBe(200)
      expect(await ready.json()).toMatchObject({ status: 'UP' })
      expect((await call('PUT', '/artifactory/unready-local/a.bin', { body: 'abc' })).status).toBe(201)
    })
  })

  describe('read-only switch', () => {
    afterEach(async () => {
      await call('PUT', '/api/v1/system/read-only', { json: { enabled: false } })
    })

    it('shows its state to anyone', async () => {
      const res = await call('GET', '/api/v1/system/read-only', { auth: null })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ enabled: false, message: '', updatedAt: null })
    })

    it('turns on with a message that every write then gets, while reads work', async () => {
      const on = await call('PUT', '/api/v1/system/read-only', { json: { enabled: true, message: 'upgrading the database' } })
      expect(on.status).toBe(200)
      const state = (await on.json()) as { enabled: boolean; message: string; updatedAt: string }
      expect(state).toMatchObject({ enabled: true, message: 'upgrading the database' })
      expect(new Date(state.updatedAt).toISOString()).toBe(state.updatedAt)
      expect(await (await call('GET', '/api/v1/system/read-only', { auth: null })).json()).toEqual(state)

      await expectRestError(await call('PUT', '/artifactory/api/repositories/ro-local', { json: { rclass: 'local', packageType: 'generic' } }), 503, 'upgrading the database')
      await expectRestError(await call('POST', '/access/api/v1/tokens', { json: {} }), 503, 'upgrading the database')
      expect((await call('GET', '/artifactory/api/repositories')).status).toBe(200)
      expect((await call('GET', '/artifactory/api/system/ping')).status).toBe(200)

      const off = await call('PUT', '/api/v1/system/read-only', { json: { enabled: false } })
      expect(await off.json()).toMatchObject({ enabled: false, message: '' })
      await createRepository(call, 'ro-local')
    })

    it('uses a default message when none is given', async () => {
      const on = await call('PUT', '/api/v1/system/read-only', { json: { enabled: true } })
      expect(((await on.json()) as { message: string }).message).toMatch(/read-only/)
    })

    it('is switched by admins only, with a well-formed body', async () => {
      const olga = await createUser(call, 'olga')
      await expectRestError(await call('PUT', '/api/v1/system/read-only', { auth: olga, json: { enabled: true } }), 403)
      await expectRestError(await call('PUT', '/api/v1/system/read-only', { auth: null, json: { enabled: true } }), 401)
      await expectRestError(await call('PUT', '/api/v1/system/read-only', { json: { enabled: 'yes' } }), 400, /enabled/)
      await expectRestError(await call('PUT', '/api/v1/system/read-only', { json: { enabled: true, message: 5 } }), 400, /message/)
      expect(await (await call('GET', '/api/v1/system/read-only')).json()).toMatchObject({ enabled: false })
    })
  })

  describe('routes', () => {
    it.each([
      ['GET', '/no/such/route'],
      ['GET', '/api/v1/nothing-here'],
      ['POST', '/artifactory/api/system/ping'],
      ['DELETE', '/api/v1/system/read-only'],
    ])('answers %s %s with a 404 REST error', async (method, path) => {
      await expectRestError(await call(method, path, { auth: null }), 404, new RegExp(`${method} ${path}`))
    })

    it('refuses to start when a route declares no access rule', async () => {
      const careless: Format = {
        id: 'careless',
        title: 'Careless',
        kinds: ['local'],
        register: async (app) => {
          app.get('/careless/open', async () => 'anyone?')
        },
      }
      await expect(buildHttpApp(server.trove.services, [careless], pino({ level: 'silent' }))).rejects.toThrow(/GET \/careless\/open declares no access rule/)
    })

    it('answers a JSON body over the limit with a 413 REST error, creating nothing', async () => {
      const body = JSON.stringify({ rclass: 'local', packageType: 'generic', description: 'x'.repeat(server.trove.services.config.http.jsonBodyLimitBytes) })
      const res = await call('PUT', '/artifactory/api/repositories/huge-local', { body, headers: { 'content-type': 'application/json' } })
      await expectRestError(res, 413)
      expect((await call('GET', '/artifactory/api/repositories/huge-local')).status).toBe(404)
    })
  })
})

/** A raw TCP client: records what it receives and when the server closes the connection. */
function rawClient(url: string): { socket: Socket; received: () => string; isClosed: () => boolean; opened: Promise<void> } {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port) })
  let received = ''
  let isClosed = false
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    received += chunk
  })
  socket.on('error', () => {}) // a reset is one way of being disconnected
  socket.on('close', () => {
    isClosed = true
  })
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return { socket, received: () => received, isClosed: () => isClosed, opened }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.each(backends)('HTTP timeouts and limits (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall
  const sockets: Socket[] = []

  beforeAll(async () => {
    server = await startTestServer({
      backend,
      settings: { http: { headersTimeoutSecs: 1, idleTimeoutSecs: 2, keepAliveTimeoutSecs: 1, requestTimeoutSecs: 0, jsonBodyLimitBytes: 1048576 } },
    })
    call = apiClient(server)
    await createRepository(call, 'slow-local')
  })

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy()
  })

  afterAll(async () => {
    await server?.close()
  })

  function client() {
    const c = rawClient(server.url)
    sockets.push(c.socket)
    return c
  }

  it.each([
    ['a partial request line', 'GET /artifactory/api/sys'],
    ['partial headers', 'GET /artifactory/api/system/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '],
  ])('disconnects a client that sends %s and stalls', async (_what, partial) => {
    const c = client()
    await c.opened
    c.socket.write(partial)
    expect(await eventually(() => c.isClosed(), 10_000)).toBe(true)
    // It got no answer from any route (at most Node's own 408).
    expect(c.received()).not.toContain('200 OK')
  })

  it('disconnects a client that trickles its headers so slowly that they never end', async () => {
    const c = client()
    await c.opened
    c.socket.write('GET /artifactory/api/system/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
    // One byte every 250 ms: never idle, so only the headers timeout can end it. Bounded to 10 s.
    const deadline = Date.now() + 10_000
    while (!c.isClosed() && Date.now() < deadline) {
      if (!c.socket.destroyed) c.socket.write('a')
      await sleep(250)
    }
    expect(c.isClosed()).toBe(true)
    expect(c.received()).not.toContain('200 OK')
  })

  it('closes an idle keep-alive connection after its request was answered', async () => {
    const c = client()
    await c.opened
    c.socket.write('GET /artifactory/api/system/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n')
    expect(await eventually(() => c.received().includes('\r\n\r\nOK'), 5_000)).toBe(true)
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 OK/)
    expect(await eventually(() => c.isClosed(), 10_000)).toBe(true)
  })

  it('lets a slow but steady upload finish, however longer than the headers timeout it takes', async () => {
    // A chunk every 500 ms for 4 s: four times the headers timeout, twice the idle timeout.
    const chunks = Array.from({ length: 8 }, () => randomBytes(16 * 1024))
    const expected = Buffer.concat(chunks)
    const sha256 = createHash('sha256').update(expected).digest('hex')
    const { hostname, port } = new URL(server.url)

    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: hostname,
          port: Number(port),
          method: 'PUT',
          path: '/artifactory/slow-local/slow/steady.bin',
          agent: false,
          headers: {
            authorization: server.adminAuth,
            'content-type': 'application/octet-stream',
            'content-length': String(expected.length),
            'x-checksum-sha256': sha256,
          },
        },
        (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (body += chunk))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.flushHeaders()
      void (async () => {
        for (const chunk of chunks) {
          await sleep(500)
          if (req.destroyed) return
          req.write(chunk)
        }
        req.end()
      })()
    })
    expect(response.status, response.body).toBe(201)
    // Artifactory gives the size as a string.
    expect(JSON.parse(response.body)).toMatchObject({ size: String(expected.length), checksums: { sha256 } })

    const download = await call('GET', '/artifactory/slow-local/slow/steady.bin')
    expect(download.status).toBe(200)
    expect(Buffer.from(await download.arrayBuffer()).equals(expected)).toBe(true)
  })

  it('answers a JSON body over the limit with a 413 REST error', async () => {
    const body = JSON.stringify({ rclass: 'local', packageType: 'generic', description: 'x'.repeat(1048576) })
    await expectRestError(
      await call('PUT', '/artifactory/api/repositories/big-local', { body, headers: { 'content-type': 'application/json' } }),
      413,
    )
    expect((await call('GET', '/artifactory/api/repositories/big-local')).status).toBe(404)
    // Just under the limit is fine.
    const fits = JSON.stringify({ rclass: 'local', packageType: 'generic', description: 'x'.repeat(1048576 - 200) })
    expect((await call('PUT', '/artifactory/api/repositories/fits-local', { body: fits, headers: { 'content-type': 'application/json' } })).status).toBe(200)
  })

  it('answers a form body over its limit with a 413 REST error', async () => {
    const token = await call('POST', '/access/api/v1/tokens', {
      body: new URLSearchParams({ description: 'x'.repeat(70 * 1024) }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    await expectRestError(token, 413)
  })
})
