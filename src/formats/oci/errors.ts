import type { FastifyReply, FastifyRequest } from 'fastify'
import { type ErrorCode, TroveError } from '../../core/index.js'
import { coreErrorOf } from '../../http/index.js'

/**
 * The error codes of the OCI distribution specification (v1.1, "Error Codes"), and the status each
 * is answered with. `TOOMANYREQUESTS` is spelled as the specification and Docker's clients spell it.
 */
export const OCI_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
} as const

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS

export interface OciErrorEntry {
  readonly code: OciErrorCode | 'UNKNOWN'
  readonly message: string
  readonly detail?: unknown
}

/**
 * An error of the registry protocol. Usually one entry; a refused manifest lists every blob it
 * misses. `status` overrides the code's usual status where the specification asks for another
 * (416 for an upload chunk out of order, 413 for a manifest too large).
 */
export class OciError extends Error {
  readonly entries: readonly OciErrorEntry[]
  readonly status: number
  readonly headers: Readonly<Record<string, string>>

  constructor(
    readonly code: OciErrorCode,
    message: string,
    options: { detail?: unknown; status?: number; headers?: Record<string, string>; more?: readonly OciErrorEntry[] } = {},
  ) {
    super(message)
    this.name = 'OciError'
    this.entries = [{ code, message, ...(options.detail !== undefined ? { detail: options.detail } : {}) }, ...(options.more ?? [])]
    this.status = options.status ?? OCI_ERROR_STATUS[code]
    this.headers = options.headers ?? {}
  }
}

/**
 * How core errors read in the registry protocol: the closest code, the core's status. Codes not
 * listed (added to the core later) read as UNKNOWN for 5xx and UNSUPPORTED otherwise.
 */
const FROM_CORE: Readonly<Partial<Record<ErrorCode, OciErrorCode | 'UNKNOWN'>>> = {
  NOT_FOUND: 'NAME_UNKNOWN',
  BLOB_UNKNOWN: 'BLOB_UNKNOWN',
  DIGEST_INVALID: 'DIGEST_INVALID',
  SIZE_INVALID: 'SIZE_INVALID',
  NAME_INVALID: 'NAME_INVALID',
  PATH_INVALID: 'NAME_INVALID',
  BAD_REQUEST: 'UNSUPPORTED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  DENIED: 'DENIED',
  CONFLICT: 'DENIED',
  UNSUPPORTED: 'UNSUPPORTED',
  RANGE_NOT_SATISFIABLE: 'BLOB_UNKNOWN',
  PAYLOAD_TOO_LARGE: 'SIZE_INVALID',
  QUOTA_EXCEEDED: 'DENIED',
  TOO_MANY_REQUESTS: 'TOOMANYREQUESTS',
  INSUFFICIENT_STORAGE: 'UNKNOWN',
  // The specification has no code for these; 503 tells clients to come back later.
  READ_ONLY: 'UNSUPPORTED',
  UPSTREAM_UNAVAILABLE: 'UNKNOWN',
  UPSTREAM_TIMEOUT: 'UNKNOWN',
  UNAVAILABLE: 'UNKNOWN',
  INTERNAL: 'UNKNOWN',
}

export interface OciErrorResponse {
  readonly status: number
  readonly entries: readonly OciErrorEntry[]
  readonly headers: Readonly<Record<string, string>>
}

/**
 * Maps anything thrown to the registry's error body. Registry and core errors keep their message;
 * Fastify's client errors keep theirs; anything else is a bug or an outage, logged with its cause
 * and answered with a generic message and the request id.
 */
export function toOciErrorResponse(thrown: unknown, request: FastifyRequest): OciErrorResponse {
  if (thrown instanceof OciError) return { status: thrown.status, entries: thrown.entries, headers: thrown.headers }
  const err = coreErrorOf(thrown, request)
  if (err instanceof TroveError) {
    const code = FROM_CORE[err.code] ?? (err.status >= 500 ? 'UNKNOWN' : 'UNSUPPORTED')
    const entry: OciErrorEntry = { code, message: err.message, ...(err.details ? { detail: err.details } : {}) }
    return { status: err.status, entries: [entry], headers: {} }
  }
  const status = (err as { statusCode?: unknown }).statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code: OciErrorCode = status === 413 ? 'SIZE_INVALID' : status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : 'UNSUPPORTED'
    return { status, entries: [{ code, message: (err as Error).message || 'bad request' }], headers: {} }
  }
  request.log.error({ err }, 'request failed')
  return {
    status: 500,
    entries: [{ code: 'UNKNOWN', message: `internal error (request id ${request.id}); the server log has the details` }],
    headers: {},
  }
}

/** `{"errors":[{"code","message","detail"}]}`, with the headers the error asks for. */
export function sendOciError(reply: FastifyReply, response: OciErrorResponse): FastifyReply {
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value)
  return reply
    .status(response.status)
    .type('application/json; charset=utf-8')
    .send({ errors: response.entries.map((e) => ({ code: e.code, message: e.message, ...(e.detail !== undefined ? { detail: e.detail } : {}) })) })
}
