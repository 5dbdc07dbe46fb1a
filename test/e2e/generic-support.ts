/**
 * Helpers for the end-to-end suites of generic repositories, the storage API, paths and
 * read-only mode: a small HTTP client that sends paths exactly as written (fetch would normalise
 * `..`, `%2e%2e` and `//`), curl as the real client, and views of the blob store.
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { Readable } from 'node:stream'
import { expect } from 'vitest'
import type { StorageDriver } from '../../src/storage/storage-driver.js'
import { uploadTemporaries } from '../helpers/blobstore.js'
import { basicAuth } from '../helpers/server.js'

export interface HttpResponse {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
  readonly text: string
  json<T = any>(): T
}

export type Body = string | Buffer | Readable | Record<string, unknown> | readonly unknown[]

export interface RequestOptions {
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>
  /** A Buffer or string is sent with Content-Length, a Readable chunked, anything else as JSON. */
  readonly body?: Body
}

/**
 * Talks to a server with node:http, sending `path` byte for byte as given. Every request opens
 * its own connection (no keep-alive), so a refused upload cannot disturb the next request.
 */
export class Client {
  constructor(
    readonly baseUrl: string,
    /** The `Authorization` header sent with every request; `undefined`: anonymous. */
    readonly authorization?: string,
  ) {}

  /** The same server, as someone else (`undefined`: anonymous). */
  as(authorization: string | undefined): Client {
    return new Client(this.baseUrl, authorization)
  }

  asUser(name: string, secret: string): Client {
    return this.as(basicAuth(name, secret))
  }

  get anonymous(): Client {
    return this.as(undefined)
  }

  get(path: string, options?: RequestOptions) {
    return this.request('GET', path, options)
  }

  head(path: string, options?: RequestOptions) {
    return this.request('HEAD', path, options)
  }

  put(path: string, options?: RequestOptions) {
    return this.request('PUT', path, options)
  }

  post(path: string, options?: RequestOptions) {
    return this.request('POST', path, options)
  }

  delete(path: string, options?: RequestOptions) {
    return this.request('DELETE', path, options)
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const url = new URL(this.baseUrl)
    const headers: Record<string, string> = { ...options.headers }
    if (this.authorization !== undefined) headers.authorization = this.authorization
    let payload: Buffer | Readable | undefined
    const body = options.body
    if (body instanceof Readable) {
      payload = body
    } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
      payload = Buffer.from(body)
    } else if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body))
      headers['content-type'] ??= 'application/json'
    }
    if (Buffer.isBuffer(payload)) headers['content-length'] = String(payload.length)

    return new Promise<HttpResponse>((resolve, reject) => {
      let isAnswered = false
      const req = http.request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
        isAnswered = true
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => resolve(toResponse(res.statusCode ?? 0, res.headers, Buffer.concat(chunks))))
      })
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer within 60 s`)))
      // A server may answer (and close) before reading a refused body; that answer is what counts.
      req.on('error', (err) => {
        if (!isAnswered) reject(err)
      })
      if (payload instanceof Readable) {
        payload.on('error', (err) => req.destroy(err))
        payload.pipe(req)
      } else {
        req.end(payload)
      }
    })
  }
}

function toResponse(status: number, headers: http.IncomingHttpHeaders, body: Buffer): HttpResponse {
  return {
    status,
    headers,
    body,
    text: body.toString('utf8'),
    json() {
      return JSON.parse(body.toString('utf8'))
    },
  }
}

/**
 * Sends `head` (request line and headers, CRLF-separated, without the final blank line) over a
 * plain socket, for requests node:http refuses to build. Reads until the server closes.
 */
export function rawExchange(baseUrl: string, head: string): Promise<{ status: number; text: string }> {
  const url = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) })
    const chunks: Buffer[] = []
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')))
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0)
      resolve({ status, text })
    })
    socket.write(`${head}\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`, 'latin1')
  })
}

/**
 * Asserts Artifactory's REST error body with Trove's code, `{"errors":[{"status","message","code"[,"field"]}]}`:
 * one entry, and the `field` at fault when given (any, or none, when not).
 */
export function expectRestError(response: HttpResponse, status: number, message?: RegExp | string, field?: string): void {
  expect({ status: response.status, body: response.text }).toMatchObject({ status })
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  const body = response.json()
  const named = field ?? (body.errors?.[0]?.field === undefined ? undefined : expect.any(String))
  expect(body).toEqual({ errors: [{ status, code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String), ...(named === undefined ? {} : { field: named }) }] })
  if (message !== undefined) expect(body.errors[0].message).toMatch(message)
}

// ---------------------------------------------------------------------------------------------
// Set-up calls through the REST API, as an admin would make them.

export async function createRepository(admin: Client, key: string, config: Record<string, unknown> = {}): Promise<void> {
  const response = await admin.put(`/artifactory/api/repositories/${key}`, {
    body: { key, rclass: 'local', packageType: 'generic', ...config },
  })
  expect(response.status, response.text).toBe(200)
}

export async function createUser(admin: Client, name: string, password: string): Promise<void> {
  const response = await admin.put(`/artifactory/api/security/users/${name}`, {
    body: { name, email: `${name}@example.test`, password },
  })
  expect(response.status, response.text).toBe(201)
}

export async function grant(admin: Client, repoKey: string, user: string, actions: readonly string[]): Promise<void> {
  const response = await admin.put(`/api/v1/repositories/${repoKey}/grants/${user}`, { body: { actions } })
  expect(response.status, response.text).toBe(200)
}

/** Deploys `content` and expects 201; returns the deploy response body. */
export async function deploy(client: Client, repoPath: string, content: Buffer | string, headers?: Record<string, string>) {
  const response = await client.put(`/artifactory/${repoPath}`, { body: content, ...(headers ? { headers } : {}) })
  expect(response.status, response.text).toBe(201)
  return response.json()
}

// ---------------------------------------------------------------------------------------------
// Content and the data folder.

export function randomPayload(size: number): Buffer {
  return randomBytes(size)
}

export function digestsOf(content: Buffer | string): { sha256: string; sha1: string; md5: string } {
  const hex = (algorithm: string) => createHash(algorithm).update(content).digest('hex')
  return { sha256: hex('sha256'), sha1: hex('sha1'), md5: hex('md5') }
}

export function sha256Of(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex')
}

/** Streams `content` in chunks of `chunkSize`, so the request goes out with chunked encoding. */
export function streamOf(content: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < content.length; offset += chunkSize) yield content.subarray(offset, offset + chunkSize)
    })(),
  )
}

export interface StoreSnapshot {
  /** Keys of the committed blobs, relative to `blobs/`. */
  readonly blobs: string[]
  /** Ids of uploads' temporary data. */
  readonly uploads: string[]
}

/** What the server's blob store (the data folder, or a bucket on an S3 run) holds: committed blobs and upload temporaries. */
export async function storeSnapshot(server: { readonly blobstore: { readonly driver: StorageDriver } }): Promise<StoreSnapshot> {
  const driver = server.blobstore.driver
  const blobs: string[] = []
  for await (const key of driver.list('blobs/')) blobs.push(key.slice('blobs/'.length))
  return { blobs: blobs.sort(), uploads: await uploadTemporaries(driver) }
}

/** Where the blob of `sha256` lives, relative to `<dataDir>/blobs` (as in {@link StoreSnapshot.blobs}). */
export function blobKey(sha256: string): string {
  return `sha256/${sha256.slice(0, 2)}/${sha256}`
}

/** Polls `condition` every 25 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<boolean> {
  const intervalMs = 25
  for (let attempt = 0; attempt <= timeoutMs / intervalMs; attempt++) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// curl, the client people script against Artifactory.

export interface CurlResult {
  readonly status: number
  /** The response body, as written by `-o`. */
  readonly body: Buffer
  readonly stderr: string
}

/**
 * Runs `curl -sS` with `args`, writing the body to `outFile` and returning the status code. A
 * transport failure (exit code ≠ 0) throws with curl's own message.
 */
export function curl(args: readonly string[], outFile: string): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-sS', '--max-time', '60', '-o', outFile, '-w', '%{http_code}', ...args],
      { timeout: 90_000, maxBuffer: 1024 * 1024 },
      async (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`curl ${args.join(' ')} failed: ${stderr || err.message}`))
          return
        }
        try {
          const body = await readFile(outFile).catch(() => Buffer.alloc(0))
          resolve({ status: Number(stdout.trim()), body, stderr })
        } catch (readErr) {
          reject(readErr)
        }
      },
    )
  })
}
