import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { TroveError } from '../core/errors.js'
import { MAX_DRAIN_BYTES, drainBeforeAnswer } from './drain.js'

export interface NormalizedError {
  readonly status: number
  readonly message: string
  readonly code: string
}

/**
 * Maps anything thrown to a status and a message safe to show. Typed domain errors keep their
 * message; Fastify's own client errors (bad JSON, body too large) keep theirs; anything else is a
 * bug or an outage: logged with its cause, answered with a generic message and the request id.
 */
export function normalizeError(err: unknown, request: FastifyRequest): NormalizedError {
  if (err instanceof TroveError) {
    if (err.status >= 500 && err.code !== 'READ_ONLY' && err.code !== 'UNAVAILABLE') request.log.error({ err }, 'request failed')
    return { status: err.status, message: err.message, code: err.code }
  }
  const fastifyError = err as Partial<FastifyError>
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500
  if (status < 500) return { status, message: fastifyError.message ?? 'bad request', code: fastifyError.code ?? 'BAD_REQUEST' }
  request.log.error({ err }, 'request failed')
  return { status: 500, message: `internal error (request id ${request.id}); the server log has the details`, code: 'INTERNAL' }
}

/** Artifactory's REST error body: `{"errors":[{"status":…,"message":…}]}`. */
export function sendRestError(reply: FastifyReply, error: NormalizedError): FastifyReply {
  if (error.status === 401) reply.header('www-authenticate', 'Basic realm="Trove"')
  return reply.status(error.status).type('application/json; charset=utf-8').send({ errors: [{ status: error.status, message: error.message }] })
}

/**
 * The REST error answer of routes that take uploads (plain deploys, Helm charts): what is left of
 * a refused body is drained first, so that the answer arrives and the connection stays usable.
 */
export async function sendRestUploadError(request: FastifyRequest, reply: FastifyReply, err: unknown): Promise<FastifyReply> {
  const error = normalizeError(err, request)
  await drainBeforeAnswer(request, reply, MAX_DRAIN_BYTES)
  return sendRestError(reply, error)
}
