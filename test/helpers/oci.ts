/**
 * Helpers for the registry suites: a Trove that can be restarted on the same stores, and a small
 * registry client speaking the distribution API with fetch.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pino } from 'pino'
import { expect } from 'vitest'
import { createTrove, type Trove } from '../../src/main.js'
import { createTestBlobstore, type TestBlobstore } from './blobstore.js'
import { blobsOfImage, sha256, type Blob, type BuiltImage } from './oci-images.js'
import { createTestDatabase, type MetadataBackend, type TestDatabase } from './postgres.js'
import { ADMIN_PASSWORD, basicAuth, testConfig } from './server.js'

export { ADMIN_PASSWORD, basicAuth }

export interface OciServer {
  /** `http://127.0.0.1:<port>`; changes when the server restarts. */
  readonly url: string
  readonly trove: Trove
  readonly dataDir: string
  /** Where the blobs are (`TROVE_TEST_BLOBSTORE`): its driver looks underneath. */
  readonly blobstore: TestBlobstore
  readonly adminAuth: string
  /** Stops the server and starts a new one on the same data folder and database. */
  restart(): Promise<void>
  close(): Promise<void>
}

/** A Trove on 127.0.0.1 with a fresh data folder and database of the given backend. */
export async function startOciServer(backend: MetadataBackend, settings: Record<string, unknown> = {}): Promise<OciServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trove-oci-'))
  const database: TestDatabase | undefined = backend === 'postgres' ? await createTestDatabase() : undefined
  const blobstore = await createTestBlobstore(dataDir)
  const start = async () => {
    const config = testConfig({ dataDir, databaseUrl: database?.url, blobstore, settings })
    const trove = await createTrove(config, { logger: pino({ level: config.log.level }) })
    return { trove, url: await trove.listen() }
  }
  let current = await start()
  return {
    get url() {
      return current.url
    },
    get trove() {
      return current.trove
    },
    dataDir,
    blobstore,
    adminAuth: basicAuth('admin', ADMIN_PASSWORD),
    async restart() {
      await current.trove.close()
      current = await start()
    },
    async close() {
      await current.trove.close()
      await blobstore.close()
      await database?.drop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

export interface CallOptions {
  readonly headers?: Record<string, string>
  readonly body?: string | Buffer | Readable | undefined
}

/** A registry client: requests as one caller (`undefined`: anonymous). */
export class RegistryClient {
  constructor(
    readonly server: OciServer,
    readonly authorization: string | undefined,
  ) {}

  as(authorization: string | undefined): RegistryClient {
    return new RegistryClient(this.server, authorization)
  }

  async call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers }
    if (this.authorization !== undefined && headers.authorization === undefined) headers.authorization = this.authorization
    const body = options.body
    const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'manual' }
    if (body !== undefined) {
      init.body = typeof body === 'string' || Buffer.isBuffer(body) ? body : (body as unknown as ReadableStream)
      if (typeof body !== 'string' && !Buffer.isBuffer(body)) init.duplex = 'half'
    }
    return fetch(`${this.server.url}${path}`, init)
  }

  /** Creates a docker local repository (as the admin). */
  async createRepository(key: string, extra: Record<string, unknown> = {}): Promise<void> {
    const res = await this.call('PUT', `/artifactory/api/repositories/${key}`, {
      headers: { 'content-type': 'application/json', authorization: this.server.adminAuth },
      body: JSON.stringify({ rclass: 'local', packageType: 'docker', ...extra }),
    })
    expect(res.status, await res.clone().text()).toBe(200)
  }

  /** Creates a user and grants it `actions` on `repoKeys`; returns its Basic `Authorization`. */
  async createUser(name: string, grants: Record<string, readonly string[]> = {}): Promise<string> {
    const password = `${name}-password-1`
    const admin = { 'content-type': 'application/json', authorization: this.server.adminAuth }
    let res = await this.call('PUT', `/artifactory/api/security/users/${name}`, {
      headers: admin,
      body: JSON.stringify({ email: `${name}@example.test`, password }),
    })
    expect(res.status, await res.clone().text()).toBe(201)
    for (const [repoKey, actions] of Object.entries(grants)) {
      res = await this.call('PUT', `/api/v1/repositories/${repoKey}/grants/${name}`, { headers: admin, body: JSON.stringify({ actions }) })
      expect(res.status, await res.clone().text()).toBeLessThan(300)
    }
    return basicAuth(name, password)
  }

  /** Pushes a blob with one monolithic `POST ?digest=`. */
  async pushBlob(name: string, bytes: Buffer): Promise<string> {
    const digest = `sha256:${sha256(bytes)}`
    const res = await this.call('POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    })
    expect(res.status, await res.clone().text()).toBe(201)
    return digest
  }

  async putManifest(name: string, reference: string, manifest: Blob): Promise<Response> {
    return this.call('PUT', `/v2/${name}/manifests/${reference}`, {
      headers: { 'content-type': manifest.descriptor.mediaType },
      body: manifest.bytes,
    })
  }

  /** Pushes an image's blobs and then its manifest under `reference`. */
  async pushImage(name: string, reference: string, image: BuiltImage): Promise<string> {
    for (const blob of blobsOfImage(image).slice(1)) await this.pushBlob(name, blob.bytes)
    const res = await this.putManifest(name, reference, image.manifest)
    expect(res.status, await res.clone().text()).toBe(201)
    return image.manifest.descriptor.digest
  }
}

/** Asserts the registry's error body: status, the first code, and a message matching `message`. */
export async function expectOciError(res: Response, status: number, code: string, message?: RegExp | string): Promise<{ code: string; message: string; detail?: unknown }[]> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  if (res.headers.get('content-length') === '0' || text === '') return [] // HEAD
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = JSON.parse(text) as { errors: { code: string; message: string; detail?: unknown }[] }
  expect(body.errors.length).toBeGreaterThan(0)
  expect(body.errors[0]!.code).toBe(code)
  if (message !== undefined) expect(body.errors[0]!.message).toMatch(message)
  return body.errors
}

/** A readable that yields `bytes` slowly, `chunk` bytes at a time, so a test can act mid-transfer. */
export async function readSlowly(res: Response, onFirstChunk: () => Promise<void>): Promise<Buffer> {
  const reader = res.body!.getReader()
  const chunks: Buffer[] = []
  let isFirst = true
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(Buffer.from(value))
    if (isFirst) {
      isFirst = false
      await onFirstChunk()
    }
  }
  return Buffer.concat(chunks)
}
