/**
 * Helpers for the remote-repository suites: small `node:http` upstreams that count what they are
 * asked and misbehave on purpose, a reader that hashes a response instead of holding it, and a
 * reader of the Prometheus text format.
 */
import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { expect } from 'vitest'
import { type Client } from './generic-support.js'

export interface RecordedRequest {
  readonly method: string
  /** The request target as sent (path and query). */
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
}

export type UpstreamHandler = (request: http.IncomingMessage, response: http.ServerResponse) => void | Promise<void>

/** A real HTTP server on 127.0.0.1 standing in for an upstream, with a log of what it was asked. */
export interface FakeUpstream {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  readonly requests: RecordedRequest[]
  /** How many `method` requests asked for exactly `path` (query ignored). */
  hits(path: string, method?: string): number
  /** Stops listening and cuts every open connection (stalled responses included). */
  close(): Promise<void>
}

export async function startUpstream(handler: UpstreamHandler): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = []
  const sockets = new Set<Socket>()
  const server = http.createServer((request, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers })
    Promise.resolve(handler(request, response)).catch((err: unknown) => {
      response.destroy(err as Error)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  let isClosed = false
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    hits(path, method = 'GET') {
      return requests.filter((r) => r.method === method && (r.url ?? '').split('?')[0] === path).length
    },
    async close() {
      if (isClosed) return
      isClosed = true
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}

/** Answers with `body` and the given headers (Content-Length always set). */
export function sendBody(response: http.ServerResponse, body: Buffer | string, headers: Record<string, string> = {}, status = 200): void {
  const bytes = Buffer.from(body)
  response.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), ...headers })
  response.end(bytes)
}

/** Writes `body` in chunks, respecting backpressure, without ending the response. */
export async function writeChunks(response: http.ServerResponse, body: Buffer, chunkSize = 256 * 1024): Promise<void> {
  for (let offset = 0; offset < body.length; offset += chunkSize) {
    if (response.destroyed) return
    if (!response.write(body.subarray(offset, offset + chunkSize))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          response.off('drain', done)
          response.off('close', done)
          resolve()
        }
        response.on('drain', done)
        response.on('close', done)
      })
    }
  }
}

export interface HashedResponse {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly sha256: string
  readonly size: number
  /** Set when the connection failed before the body was complete. */
  readonly error?: Error
}

/**
 * GETs `url` over its own connection and hashes the body as it arrives, so that many large
 * downloads can run at once without holding them in memory. A connection cut mid-body is reported
 * in `error`, not thrown.
 */
export function getHashed(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<HashedResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const hash = createHash('sha256')
      let size = 0
      let settled = false
      const finish = (error?: Error) => {
        if (settled) return
        settled = true
        resolve({ status: res.statusCode ?? 0, headers: res.headers, sha256: hash.digest('hex'), size, ...(error ? { error } : {}) })
      }
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk)
        size += chunk.length
      })
      res.on('end', () => (res.complete ? finish() : finish(new Error('response ended before it was complete'))))
      res.on('error', (err) => finish(err))
      res.on('aborted', () => finish(new Error('response aborted')))
      res.on('close', () => {
        if (!res.complete) finish(new Error('connection closed mid-body'))
      })
    })
    req.setTimeout(120_000, () => req.destroy(new Error(`GET ${url}: no answer within 120 s`)))
    req.on('error', reject)
    req.end()
  })
}

/** Reads a body with `fetch`, hashing it chunk by chunk; a body that fails mid-way rejects. */
export async function fetchHashed(url: string, init: RequestInit = {}): Promise<{ status: number; sha256: string; size: number; headers: Headers }> {
  const response = await fetch(url, init)
  const hash = createHash('sha256')
  let size = 0
  if (response.body) {
    for await (const chunk of response.body) {
      hash.update(chunk)
      size += chunk.length
    }
  }
  return { status: response.status, sha256: hash.digest('hex'), size, headers: response.headers }
}

/** The value of one sample of a Prometheus text exposition, `undefined` when absent. */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? ''
    const found = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return undefined
}

/**
 * Creates a generic remote repository through the REST API, readable anonymously (so that curl and
 * fetch need no credentials) unless `config` says otherwise.
 */
export async function createRemote(admin: Client, key: string, url: string, config: Record<string, unknown> = {}): Promise<void> {
  const response = await admin.put(`/artifactory/api/repositories/${key}`, {
    body: { key, rclass: 'remote', packageType: 'generic', url, anonymousRead: true, ...config },
  })
  expect(response.status, response.text).toBe(200)
}

/** Updates a repository's configuration through the REST API (Artifactory's POST). */
export async function updateRepository(admin: Client, key: string, config: Record<string, unknown>): Promise<void> {
  const response = await admin.post(`/artifactory/api/repositories/${key}`, { body: config })
  expect(response.status, response.text).toBe(200)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
