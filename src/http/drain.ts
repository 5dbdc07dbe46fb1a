import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * How much of a refused upload's body is read and discarded before answering, for upload routes
 * without a size limit of their own (plain deploys, container blobs): past it, the answer closes
 * the connection instead.
 */
export const MAX_DRAIN_BYTES = 64 * 1024 * 1024

/**
 * The body of an upload as a stream its consumer may destroy (a pipeline does, on any failure)
 * without destroying the request. Destroying the request itself keeps its socket open (Node
 * detaches it first) but leaves the rest of the body unread and the socket paused: the answer
 * goes out, and the next request on that connection is never answered. Through this stream the
 * request stays readable, so the error handler can drain it (see {@link drainBody}).
 */
export function uploadBody(request: FastifyRequest): Readable {
  return new RequestBody(request.raw)
}

/** The body length the client announced (`Content-Length`), if it did. */
export function declaredLength(request: FastifyRequest): number | undefined {
  const length = request.headers['content-length']
  return length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined
}

/**
 * Reads and discards what is left of a request body that a handler stopped reading (an upload or
 * publish refused halfway), so that the client, still sending, finishes and reads the answer
 * instead of a reset connection, and the connection stays usable. Node does this itself only for
 * bodies no one began to read. False when the rest is larger than `maxBytes` or the body cannot be
 * read any more: the connection must then close after the answer.
 */
export async function drainBody(request: FastifyRequest, maxBytes: number): Promise<boolean> {
  const body = request.raw
  if (body.complete) return true
  if (body.destroyed || body.readableEnded) return false
  // A parser (multipart) may still be attached: the rest goes nowhere but here.
  body.unpipe()
  return new Promise<boolean>((resolve) => {
    let drained = 0
    const finish = (ok: boolean) => {
      body.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose)
      if (!ok) body.pause()
      resolve(ok)
    }
    const onData = (chunk: Buffer) => {
      drained += chunk.length
      if (drained > maxBytes) finish(false)
    }
    const onEnd = () => finish(true)
    const onClose = () => finish(body.complete)
    body.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onClose)
    body.resume()
  })
}

/**
 * What every error handler of a route that reads request bodies does before answering: drains the
 * rest of the body ({@link drainBody}), or, past `maxBytes`, has the connection closed after the answer.
 */
export async function drainBeforeAnswer(request: FastifyRequest, reply: FastifyReply, maxBytes: number): Promise<void> {
  if (!(await drainBody(request, maxBytes))) reply.header('connection', 'close')
}

/** See {@link uploadBody}. Listens to the request only once read, and lets go of it when destroyed. */
class RequestBody extends Readable {
  private isAttached = false

  constructor(private readonly request: IncomingMessage) {
    // As much as one socket read, so that a fast consumer never makes the request pause.
    super({ highWaterMark: 64 * 1024 })
  }

  override _read(): void {
    if (!this.isAttached) this.attach()
    this.request.resume()
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.detach()
    callback(err)
  }

  private attach(): void {
    this.isAttached = true
    if (this.request.readableEnded) {
      this.push(null)
      return
    }
    this.request.on('data', this.onData).on('end', this.onEnd).on('error', this.onError).on('close', this.onClose)
  }

  private detach(): void {
    if (!this.isAttached) return
    this.request.off('data', this.onData).off('end', this.onEnd).off('error', this.onError).off('close', this.onClose)
    // Without a 'data' listener a flowing request would drop bytes: it waits, paused, for drainBody.
    if (!this.request.readableEnded) this.request.pause()
  }

  private readonly onData = (chunk: Buffer) => {
    if (!this.push(chunk)) this.request.pause()
  }

  private readonly onEnd = () => this.push(null)

  private readonly onError = (err: Error) => this.destroy(err)

  private readonly onClose = () => {
    if (!this.request.complete) this.destroy(new Error('the client closed the connection before the whole body was sent'))
  }
}
