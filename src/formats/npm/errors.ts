import type { FastifyReply, FastifyRequest } from 'fastify'
import { normalizeError } from '../../http/errors.js'

/**
 * npm's error body, `{"error": "…"}`: the npm CLI prints `<status> <reason> - <METHOD> <url> -
 * <error>`, pnpm and yarn print the message too. No `WWW-Authenticate` on 401: npm would print
 * 'Unable to authenticate, need: Basic …' instead of the reason, and none of the clients
 * answers a challenge (they send their configured credentials up front).
 */
export async function sendNpmError(request: FastifyRequest, reply: FastifyReply, err: unknown, maxDrainBytes: number): Promise<FastifyReply> {
  const error = normalizeError(err, request)
  if (!(await drainBody(request, maxDrainBytes))) reply.header('connection', 'close')
  return reply.status(error.status).type('application/json; charset=utf-8').send({ error: error.message })
}

/**
 * Reads and discards what is left of a request body that a handler stopped reading (a publish
 * refused halfway), so that the client, still uploading, finishes and reads the answer instead of
 * a reset connection, and the connection stays usable. Node does this itself only for bodies no
 * one began to read. False when the rest is too large or the body cannot be read any more: the
 * connection must then close after the answer.
 */
async function drainBody(request: FastifyRequest, maxBytes: number): Promise<boolean> {
  const body = request.raw
  if (body.complete) return true
  if (body.destroyed || body.readableEnded) return false
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
