import type { FastifyReply, FastifyRequest } from 'fastify'
import { drainBeforeAnswer, normalizeError } from '../../http/index.js'

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
  await drainBeforeAnswer(request, reply, maxDrainBytes)
  if (error.status === 401) reply.header('www-authenticate', 'Basic realm="Trove"')
  reply.raw.statusMessage = reasonPhrase(error.message)
  return reply.status(error.status).type('text/plain; charset=utf-8').send(`${error.status} ${error.message}\n`)
}

/** A message as a status line reason: one line of printable Latin-1 (Node refuses anything else). */
export function reasonPhrase(message: string): string {
  const line = message.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?')
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 3)}...` : line
}
