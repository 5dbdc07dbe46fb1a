import type { FastifyReply, FastifyRequest } from 'fastify'
import { drainBeforeAnswer, normalizeError } from '../../http/index.js'

/**
 * RubyGems' error answer: the status and the message as a plain text body, which `gem push` and
 * `gem yank` print as they get it; bundler prints the status. A 401 carries a Basic challenge
 * (bundler then uses the credentials of its `bundle config`, gem those in its source URL).
 */
export async function sendGemsError(request: FastifyRequest, reply: FastifyReply, err: unknown, maxDrainBytes: number): Promise<FastifyReply> {
  const error = normalizeError(err, request)
  await drainBeforeAnswer(request, reply, maxDrainBytes)
  if (error.status === 401) reply.header('www-authenticate', 'Basic realm="Trove"')
  return reply.status(error.status).type('text/plain; charset=utf-8').send(`${error.message}\n`)
}
