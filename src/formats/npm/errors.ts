import type { FastifyReply, FastifyRequest } from 'fastify'
import { drainBeforeAnswer, normalizeError } from '../../http/index.js'

/**
 * npm's error body, `{"error": "…"}`: the npm CLI prints `<status> <reason> - <METHOD> <url> -
 * <error>`, pnpm and yarn print the message too. No `WWW-Authenticate` on 401: npm would print
 * 'Unable to authenticate, need: Basic …' instead of the reason, and none of the clients
 * answers a challenge (they send their configured credentials up front).
 */
export async function sendNpmError(request: FastifyRequest, reply: FastifyReply, err: unknown, maxDrainBytes: number): Promise<FastifyReply> {
  const error = normalizeError(err, request)
  await drainBeforeAnswer(request, reply, maxDrainBytes)
  return reply.status(error.status).type('application/json; charset=utf-8').send({ error: error.message })
}
