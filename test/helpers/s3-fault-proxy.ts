import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/**
 * A real HTTP proxy in front of moto that misbehaves on request, for the faults a healthy S3
 * server cannot be made to show: throttling (503 SlowDown), connections reset before an answer,
 * downloads cut after some bytes, and being down (not listening) until told to start.
 */
export class S3FaultProxy {
  /** Requests answered so far with 503 SlowDown, and connections reset. */
  throttled = 0
  reset = 0
  /** Object downloads (GetObject) cut short. */
  cut = 0
  /** Object downloads (GetObject) asked for, ranged or whole. */
  downloads = 0
  private slowDownNext = 0
  private resetNext = 0
  private cutDownloadsAfter: number | undefined
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()

  constructor(
    private readonly upstream: string,
    readonly port: number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Answers the next `count` requests with 503 SlowDown, as S3 does when throttling. */
  slowDown(count: number): void {
    this.slowDownNext = count
  }

  /** Resets the connection of the next `count` requests before answering. */
  resetConnections(count: number): void {
    this.resetNext = count
  }

  /** Cuts every object download after `bytes` bytes of its body (undefined: stop cutting). */
  cutDownloads(bytes: number | undefined): void {
    this.cutDownloadsAfter = bytes
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => this.handle(request, response))
    server.on('connection', (socket) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.server = server
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server = undefined
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    if (this.resetNext > 0) {
      this.resetNext--
      this.reset++
      request.socket.destroy()
      return
    }
    if (this.slowDownNext > 0) {
      this.slowDownNext--
      this.throttled++
      request.resume()
      const body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'
      response.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body)
      return
    }
    const isDownload = request.method === 'GET' && (request.url ?? '').includes('x-id=GetObject')
    if (isDownload) this.downloads++
    const upstreamUrl = new URL(request.url ?? '/', this.upstream)
    const forwarded = httpRequest(upstreamUrl, { method: request.method, headers: request.headers }, (upstream) => {
      response.writeHead(upstream.statusCode ?? 502, upstream.headers)
      const limit = isDownload && (upstream.statusCode ?? 0) < 300 ? this.cutDownloadsAfter : undefined
      if (limit === undefined) {
        upstream.pipe(response)
        return
      }
      let sent = 0
      upstream.on('data', (chunk: Buffer) => {
        if (sent + chunk.length < limit) {
          sent += chunk.length
          response.write(chunk)
          return
        }
        response.write(chunk.subarray(0, limit - sent))
        sent = limit
        this.cut++
        upstream.destroy()
        // Flushed, then the connection goes down mid-body.
        response.socket?.end(() => response.socket?.destroy())
      })
    })
    forwarded.on('error', () => response.destroy())
    request.pipe(forwarded)
  }
}
