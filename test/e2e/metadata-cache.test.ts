/**
 * Metadata documents from memory (issue 22, src/core/metadata-cache/): a rendered document is
 * kept until its repository changes, on both engines, and across two nodes sharing PostgreSQL; it
 * is sent compressed as the client accepts, with a 304 to a client revalidating (npm's own
 * cache); and a caller who may not read the repository never gets the kept bytes.
 */
import { rm } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { npmPackage } from '../helpers/npm.js'
import { freePort } from '../helpers/ports.js'
import { metadataBackends } from '../helpers/postgres.js'
import { startSharedNodes } from '../helpers/shared-nodes.js'
import { ADMIN_PASSWORD, basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { ClientHome } from '../conformance/npm/clients.js'

const ADMIN = basicAuth('admin', ADMIN_PASSWORD)
const NPM = '/artifactory/api/npm/npm-local'

async function call(base: string, method: string, path: string, options: { auth?: string | null; json?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers }
  const auth = options.auth === undefined ? ADMIN : options.auth
  if (auth !== null) headers.authorization = auth
  if (options.json !== undefined) headers['content-type'] = 'application/json'
  return fetch(`${base}${path}`, { method, headers, body: options.json !== undefined ? JSON.stringify(options.json) : undefined })
}

async function publish(base: string, version: string): Promise<void> {
  const { body } = await npmPackage({ name: 'cached-pkg', version })
  const res = await call(base, 'PUT', `${NPM}/cached-pkg`, { json: body })
  expect(res.status, await res.clone().text()).toBe(201)
}

async function versionsOf(base: string, auth: string | null = ADMIN): Promise<{ versions: string[]; tags: Record<string, string> }> {
  const res = await call(base, 'GET', `${NPM}/cached-pkg`, { auth })
  expect(res.status, await res.clone().text()).toBe(200)
  const packument = (await res.json()) as { versions: Record<string, unknown>; 'dist-tags': Record<string, string> }
  return { versions: Object.keys(packument.versions).sort(), tags: packument['dist-tags'] }
}

async function createNpmRepository(base: string): Promise<void> {
  const res = await call(base, 'PUT', '/artifactory/api/repositories/npm-local', { json: { key: 'npm-local', rclass: 'local', packageType: 'npm' } })
  expect(res.status, await res.clone().text()).toBe(200)
}

describe('metadata documents from memory', () => {
  for (const backend of ['sqlite', 'postgres'] as const) {
    it(`serves a packument's changes at once after publish, dist-tag move and unpublish (${backend})`, async () => {
      if (!(await metadataBackends()).includes(backend)) return
      const server = await startTestServer({ backend })
      try {
        await createNpmRepository(server.url)
        await publish(server.url, '1.0.0')
        expect(await versionsOf(server.url)).toEqual({ versions: ['1.0.0'], tags: { latest: '1.0.0' } })
        // Kept now; each change must show on the next read.
        await publish(server.url, '1.1.0')
        expect((await versionsOf(server.url)).versions).toEqual(['1.0.0', '1.1.0'])
        const tag = await call(server.url, 'PUT', `${NPM}/-/package/cached-pkg/dist-tags/stable`, { json: '1.0.0' })
        expect(tag.status, await tag.clone().text()).toBeLessThan(300)
        expect((await versionsOf(server.url)).tags).toEqual({ latest: '1.1.0', stable: '1.0.0' })
        // npm unpublish's last step: the version and its tarball go.
        const removed = await call(server.url, 'DELETE', `${NPM}/cached-pkg/-/cached-pkg-1.1.0.tgz/-rev/0`)
        expect(removed.status, await removed.clone().text()).toBeLessThan(300)
        expect((await versionsOf(server.url)).versions).toEqual(['1.0.0'])
      } finally {
        await server.close()
      }
    })
  }

  it('sends the compressed form the client accepts, one ETag per form, and 304 to any of them', async () => {
    const server = await startTestServer()
    try {
      await createNpmRepository(server.url)
      for (let minor = 0; minor < 8; minor++) await publish(server.url, `1.${minor}.0`) // over a KiB: worth compressing
      const plain = await rawGet(server.url, `${NPM}/cached-pkg`, { authorization: ADMIN })
      const plainBody = plain.body
      const etag = plain.headers.etag as string
      expect(plain.headers['content-encoding']).toBeUndefined()
      expect(JSON.parse(plainBody.toString('utf8')).versions).toHaveProperty('1.7.0')
      // node:http, so that the body arrives as sent (fetch would decode it).
      const gzipped = await rawGet(server.url, `${NPM}/cached-pkg`, { authorization: ADMIN, 'accept-encoding': 'gzip' })
      expect(gzipped.status).toBe(200)
      expect(gzipped.headers['content-encoding']).toBe('gzip')
      expect(gzipped.headers.vary).toMatch(/accept-encoding/i)
      expect(gunzipSync(gzipped.body).equals(plainBody)).toBe(true)
      expect(gzipped.headers.etag).not.toBe(etag)
      for (const tag of [etag, gzipped.headers.etag as string]) {
        const again = await rawGet(server.url, `${NPM}/cached-pkg`, { authorization: ADMIN, 'accept-encoding': 'gzip', 'if-none-match': tag })
        expect(again.status).toBe(304)
        expect(again.body.length).toBe(0)
      }
      await publish(server.url, '2.0.0')
      const changed = await rawGet(server.url, `${NPM}/cached-pkg`, { authorization: ADMIN, 'accept-encoding': 'gzip', 'if-none-match': gzipped.headers.etag as string })
      expect(changed.status).toBe(200)
      expect(JSON.parse(gunzipSync(changed.body).toString('utf8')).versions).toHaveProperty('2.0.0')
    } finally {
      await server.close()
    }
  })

  it('never gives the kept bytes to a caller who may not read the repository', async () => {
    const server = await startTestServer()
    try {
      await createNpmRepository(server.url)
      await publish(server.url, '1.0.0')
      await versionsOf(server.url) // kept, read by the admin
      const user = await call(server.url, 'PUT', '/artifactory/api/security/users/stranger', { json: { email: 'stranger@example.test', password: 'stranger-password-1' } })
      expect(user.status).toBe(201)
      const anonymous = await call(server.url, 'GET', `${NPM}/cached-pkg`, { auth: null })
      expect(anonymous.status).toBe(401)
      expect(await anonymous.text()).not.toContain('1.0.0')
      const stranger = await call(server.url, 'GET', `${NPM}/cached-pkg`, { auth: basicAuth('stranger', 'stranger-password-1') })
      expect(stranger.status).toBe(403)
      expect(await stranger.text()).not.toContain('1.0.0')
      // Revalidation is no way around it either.
      const etag = (await call(server.url, 'GET', `${NPM}/cached-pkg`)).headers.get('etag')!
      const probe = await call(server.url, 'GET', `${NPM}/cached-pkg`, { auth: null, headers: { 'if-none-match': etag } })
      expect(probe.status).toBe(401)
    } finally {
      await server.close()
    }
  })

  it('npm revalidates its cached packument and gets a 304, then the new document after a publish', async () => {
    const server = await startTestServer()
    const statuses: { url: string; ifNoneMatch: string | undefined; status: number }[] = []
    const proxy = await recordingProxy(server, statuses)
    const home = await ClientHome.create()
    try {
      await createNpmRepository(server.url)
      await publish(server.url, '1.0.0')
      const registry = `${proxy.url}${NPM}/`
      await home.writeNpmrc([`registry=${registry}`, `//127.0.0.1:${proxy.port}${NPM}/:_auth=${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`])
      const view = async () => {
        const result = await home.run('npm', ['view', 'cached-pkg', 'versions', '--json', '--prefer-online'], { cwd: home.root })
        expect(result.code, result.output).toBe(0)
        return JSON.parse(result.stdout) as string[] | string
      }
      expect(await view()).toEqual(['1.0.0'])
      expect(await view()).toEqual(['1.0.0'])
      const packumentRequests = () => statuses.filter((s) => s.url === `${NPM}/cached-pkg`)
      expect(packumentRequests().at(-1)).toMatchObject({ status: 304 })
      expect(packumentRequests().at(-1)!.ifNoneMatch).toBeTruthy()
      await publish(server.url, '1.1.0')
      expect(await view()).toEqual(['1.0.0', '1.1.0'])
      expect(packumentRequests().at(-1)).toMatchObject({ status: 200 })
    } finally {
      await rm(home.root, { recursive: true, force: true })
      await new Promise((resolve) => proxy.server.close(resolve))
      await server.close()
    }
  }, 120_000)

  it('a change on one node reaches the documents another node keeps (two nodes, one PostgreSQL)', async () => {
    if (!(await metadataBackends()).includes('postgres')) return
    const nodes = await startSharedNodes(2)
    try {
      const [a, b] = nodes.urls as [string, string]
      await createNpmRepository(a)
      await publish(a, '1.0.0')
      expect((await versionsOf(b)).versions).toEqual(['1.0.0']) // kept on b
      expect((await versionsOf(b)).versions).toEqual(['1.0.0'])
      await publish(a, '1.1.0')
      // The change feed tells b within a second (a notification, else the next poll): bounded wait.
      let seen: string[] = []
      for (let i = 0; i < 50 && seen.length < 2; i++) {
        seen = (await versionsOf(b)).versions
        if (seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(seen).toEqual(['1.0.0', '1.1.0'])
      const tag = await call(a, 'PUT', `${NPM}/-/package/cached-pkg/dist-tags/stable`, { json: '1.0.0' })
      expect(tag.status).toBeLessThan(300)
      let tags: Record<string, string> = {}
      for (let i = 0; i < 50 && tags.stable === undefined; i++) {
        tags = (await versionsOf(b)).tags
        if (tags.stable === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(tags).toEqual({ latest: '1.1.0', stable: '1.0.0' })
    } finally {
      await nodes.close()
    }
  }, 120_000)
})

function rawGet(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** A pass-through HTTP proxy in front of the server that records each request's path, If-None-Match and status. */
async function recordingProxy(server: TestServer, log: { url: string; ifNoneMatch: string | undefined; status: number }[]): Promise<{ server: Server; url: string; port: number }> {
  const target = new URL(server.url)
  const port = await freePort()
  const proxy = createServer((req, res) => {
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (answer) => {
      log.push({ url: (req.url ?? '').split('?')[0]!, ifNoneMatch: req.headers['if-none-match'], status: answer.statusCode! })
      res.writeHead(answer.statusCode!, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve))
  return { server: proxy, url: `http://127.0.0.1:${port}`, port }
}
