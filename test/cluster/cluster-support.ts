import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { CLUSTER_ADMIN_AUTH } from '../helpers/cluster.js'

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** An admin REST call; throws on a status other than 2xx. */
export async function api(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: CLUSTER_ADMIN_AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${base}${path}: ${response.status} ${text}`)
  return response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text
}

/** PUT of a generic artifact; resolves to the status and body. */
export async function deploy(base: string, path: string, content: Buffer, signal?: AbortSignal): Promise<{ status: number; text: string }> {
  const response = await fetch(`${base}/artifactory/${path}`, {
    method: 'PUT',
    headers: { authorization: CLUSTER_ADMIN_AUTH, 'content-type': 'application/octet-stream' },
    body: content,
    signal,
  })
  return { status: response.status, text: await response.text() }
}

/** GET with the admin's credentials; resolves to the status and the sha256 of the body. */
export async function download(base: string, path: string): Promise<{ status: number; sha256: string; size: number }> {
  const response = await fetch(`${base}/artifactory/${path}`, { headers: { authorization: CLUSTER_ADMIN_AUTH } })
  const body = Buffer.from(await response.arrayBuffer())
  return { status: response.status, sha256: sha256(body), size: body.length }
}

/**
 * A real upstream on 127.0.0.1 serving fixed files, counting GETs per path; each answer is sent
 * slowly enough (`delayMs` before the body) that concurrent first pulls overlap.
 */
export async function startCountingUpstream(files: ReadonlyMap<string, Buffer>, delayMs = 300): Promise<{ url: string; gets: Map<string, number>; close(): Promise<void> }> {
  const gets = new Map<string, number>()
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname
    if (request.method === 'GET') gets.set(path, (gets.get(path) ?? 0) + 1)
    const body = files.get(path)
    if (!body) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
    if (request.method === 'HEAD') {
      response.end()
      return
    }
    setTimeout(() => response.end(body), delayMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${address.port}`,
    gets,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; resolves to the elapsed milliseconds, or throws. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
