import type { FastifyReply, FastifyRequest } from 'fastify'
import { drainBeforeAnswer, MAX_DRAIN_BYTES, normalizeError } from '../../http/index.js'

/**
 * The GOPROXY protocol's error answer: the status and a short plain-text body, which the go
 * command prints after the status (`reading <url>: 404 Not Found\n\tserver response: <text>`).
 * A 404 or 410 tells go that the module or version is not here. What is left of a refused
 * upload is drained first, so that the uploader reads the answer.
 */
export async function sendGoError(request: FastifyRequest, reply: FastifyReply, err: unknown): Promise<FastifyReply> {
  const error = normalizeError(err, request)
  await drainBeforeAnswer(request, reply, MAX_DRAIN_BYTES)
  if (error.status === 401) reply.header('www-authenticate', 'Basic realm="Trove"')
  return reply.status(error.status).type('text/plain; charset=utf-8').send(`${error.message.replace(/[\r\n]+/g, ' ')}\n`)
}
