import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { RestError, RestErrorBody } from '../api/errors.js'
import { TroveError, ValidationError, inCoreTerms, outageOf, type ErrorCode, type FieldProblem } from '../core/errors.js'
import { MAX_DRAIN_BYTES, drainBeforeAnswer } from './drain.js'

export interface NormalizedError {
  readonly status: number
  readonly message: string
  /** The stable code of the core's table (`NOT_FOUND`, `BAD_REQUEST`, …). */
  readonly code: ErrorCode
  /** A validation error's problems, field by field: the REST body has one entry each. */
  readonly problems?: readonly FieldProblem[]
}

/** The core code of a status Fastify or the router chose (bad JSON, body too large, bad URL). */
const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'DENIED',
  404: 'NOT_FOUND',
  405: 'UNSUPPORTED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  416: 'RANGE_NOT_SATISFIABLE',
  429: 'TOO_MANY_REQUESTS',
}

/**
 * Maps anything thrown to a status and a message safe to show. Typed domain errors keep their
 * message; Fastify's own client errors (bad JSON, body too large) keep theirs; anything else is a
 * bug or an outage: logged with its cause, answered with a generic message and the request id.
 */
export function normalizeError(thrown: unknown, request: FastifyRequest): NormalizedError {
  const err = coreErrorOf(thrown, request)
  if (err instanceof TroveError) {
    const problems = err instanceof ValidationError ? { problems: err.problems } : {}
    return { status: err.status, message: err.message, code: err.code, ...problems }
  }
  const fastifyError = err as Partial<FastifyError>
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500
  if (status < 500) return { status, message: fastifyError.message ?? 'bad request', code: CODE_OF_STATUS[status] ?? 'BAD_REQUEST' }
  request.log.error({ err }, 'request failed')
  return { status: 500, message: `internal error (request id ${request.id}); the server log has the details`, code: 'INTERNAL' }
}

/**
 * Anything thrown, in the core's terms, for every protocol's edge to render, logged once: a node
 * cut off from a store is 503 UNAVAILABLE (a balancer retries elsewhere; docs/high-availability.md),
 * a full database 507 (`inCoreTerms`); a core error of status 5xx other than an expected
 * unavailability is logged as an error. Anything else is returned as it is.
 */
export function coreErrorOf(thrown: unknown, request: FastifyRequest): unknown {
  const outage = outageOf(thrown)
  if (outage) {
    request.log.warn({ err: thrown }, 'a store cannot be reached; answering 503')
    return outage
  }
  const err = inCoreTerms(thrown)
  if (err instanceof TroveError && err.status >= 500 && err.code !== 'READ_ONLY' && err.code !== 'UNAVAILABLE') request.log.error({ err }, 'request failed')
  return err
}

/**
 * Artifactory's REST error body, `{"errors":[{"status","message"}]}`, with Trove's `code` and, for
 * a validation error, one entry per problem with its `field` (src/api/errors.ts, docs/rest-api.md).
 */
export function sendRestError(reply: FastifyReply, error: NormalizedError): FastifyReply {
  if (error.status === 401) reply.header('www-authenticate', 'Basic realm="Trove"')
  return reply.status(error.status).type('application/json; charset=utf-8').send(restErrorBody(error))
}

export function restErrorBody(error: NormalizedError): RestErrorBody {
  const entry = (message: string, field?: string): RestError => ({ status: error.status, message, code: error.code, ...(field !== undefined ? { field } : {}) })
  const problems = error.problems ?? []
  return { errors: problems.length > 0 ? problems.map((p) => entry(p.message, p.field)) : [entry(error.message)] }
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
