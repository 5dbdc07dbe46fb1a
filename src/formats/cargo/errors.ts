import type { FastifyReply, FastifyRequest } from 'fastify'
import { drainBeforeAnswer, normalizeError } from '../../http/index.js'

/**
 * Cargo's registry error body, `{"errors":[{"detail":"…"}]}`, which cargo prints after "the remote
 * server responded with an error". What is left of a refused publish body is drained first (up to
 * `maxDrainBytes`, else the connection closes after the answer), so that cargo reads the answer.
 * A 401 carries `WWW-Authenticate: Cargo`, which tells cargo that the registry wants its token.
 */
export async function sendCargoError(request: FastifyRequest, reply: FastifyReply, err: unknown, maxDrainBytes: number): Promise<FastifyReply> {
  const error = normalizeError(err, request)
  await drainBeforeAnswer(request, reply, maxDrainBytes)
  if (error.status === 401) reply.header('www-authenticate', 'Cargo')
  return reply.status(error.status).type('application/json; charset=utf-8').send({ errors: [{ detail: error.message }] })
}
