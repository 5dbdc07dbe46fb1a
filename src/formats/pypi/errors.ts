import type { FastifyReply, FastifyRequest } from 'fastify'
import { normalizeError } from '../../http/errors.js'

/** Longest status line reason sent (the whole message is in the body too). */
const MAX_REASON = 300

/**
 * PyPI's error answer: the status, the message as the status line's reason phrase and as a plain
 * text body. twine prints `HTTPError: 400 Bad Request from <url>` and then the reason, so the
 * reason is what its user reads; pip prints the status and the URL. A 401 carries a Basic
 * challenge, which pip answers with the credentials from its index URL, pip.conf or keyring.
 */
export async function sendPypiError(request: FastifyRequest, reply: FastifyReply, err: unknown, maxDrainBytes: number): Promise<FastifyReply> {
  const error = normalizeError(err, request)
  if (!(await drainBody(request, maxDrainBytes))) reply.header('connection', 'close')
  if (error.status === 401) reply.header('www-authenticate', 'Basic realm="Trove"')
  reply.raw.statusMessage = reasonPhrase(error.message)
  return reply.status(error.status).type('text/plain; charset=utf-8').send(`${error.status} ${error.message}\n`)
}

/** A message as a status line reason: one line of printable Latin-1 (Node refuses anything else). */
export function reasonPhrase(message: string): string {
  const line = message.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?')
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 3)}...` : line
}

/**
 * Reads and discards what is left of an upload a handler refused halfway, so that twine, still
 * sending, reads the answer instead of a reset connection. False when the rest is larger than
 * `maxBytes` or can no longer be read: the connection then closes after the answer.
 */
async function drainBody(request: FastifyRequest, maxBytes: number): Promise<boolean> {
  const body = request.raw
  if (body.complete) return true
  if (body.destroyed || body.readableEnded) return false
  // The multipart parser may still be attached: the rest goes nowhere but here.
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
