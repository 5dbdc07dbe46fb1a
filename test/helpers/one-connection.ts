/**
 * For the suites about refused uploads: a client that sends every request over one kept-alive
 * connection (so that a connection left hanging by a refusal makes the next request time out
 * instead of going unnoticed on a fresh socket), with a deadline per request; and the process's
 * open file descriptors and the blob store's temporary uploads, to compare with a baseline (the
 * server runs inside the test process, so its sockets and files are ours).
 */
import http from 'node:http'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

export interface TimedReply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly text: string
  /** From the first byte sent to the last byte of the answer. */
  readonly ms: number
}

export class OneConnectionClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  private readonly url: URL

  constructor(
    baseUrl: string,
    private readonly auth: string,
    /** A request unanswered after this long fails (the connection hangs). */
    private readonly deadlineMs = 10_000,
  ) {
    this.url = new URL(baseUrl)
  }

  send(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<TimedReply> {
    const started = Date.now()
    return new Promise((resolve, reject) => {
      const request = http.request(
        { host: this.url.hostname, port: this.url.port, path, method, agent: this.agent, headers: { authorization: this.auth, ...headers } },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }),
          )
          response.on('error', reject)
        },
      )
      request.setTimeout(this.deadlineMs, () => request.destroy(new Error(`${method} ${path}: no answer within ${this.deadlineMs} ms`)))
      request.on('error', reject)
      request.end(body)
    })
  }

  /** Closes the connection. */
  close(): void {
    this.agent.destroy()
  }
}

/** How many file descriptors this process has open. */
export async function openDescriptors(): Promise<number> {
  return (await readdir('/proc/self/fd')).length
}

/** The temporary uploads of a filesystem blob store rooted at `root`. */
export async function temporaryUploads(root: string): Promise<string[]> {
  try {
    return await readdir(join(root, '_uploads'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

/** The bytes held by the temporary uploads of a filesystem blob store rooted at `root`. */
export async function temporaryUploadBytes(root: string): Promise<number> {
  let total = 0
  for (const name of await temporaryUploads(root)) total += (await stat(join(root, '_uploads', name))).size
  return total
}

/**
 * Waits (up to `timeoutMs`) for the open descriptors to come back to `baseline`; returns the last
 * count. Closing a socket takes the peer a moment to notice.
 */
export async function descriptorsBackTo(baseline: number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const count = await openDescriptors()
    if (count <= baseline || Date.now() > deadline) return count
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
