import type { FastifyRequest } from 'fastify'

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
