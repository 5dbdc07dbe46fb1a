import { isMetadataFull } from '../metadata/metadata-errors.js'

/**
 * Typed, protocol-agnostic errors. Domain code throws these; each protocol renders them once, at
 * its edge (the REST API as Artifactory's `{"errors":[…]}`, OCI as its error JSON, and so on).
 * Domain code never picks an HTTP status: the table below does.
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'BLOB_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'SIZE_INVALID'
  | 'NAME_INVALID'
  | 'PATH_INVALID'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'CONFLICT'
  | 'UNSUPPORTED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RANGE_NOT_SATISFIABLE'
  | 'PAYLOAD_TOO_LARGE'
  | 'QUOTA_EXCEEDED'
  | 'TOO_MANY_REQUESTS'
  | 'INSUFFICIENT_STORAGE'
  | 'READ_ONLY'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UNAVAILABLE'
  | 'INTERNAL'

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  NOT_FOUND: 404,
  BLOB_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  SIZE_INVALID: 400,
  NAME_INVALID: 400,
  PATH_INVALID: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  CONFLICT: 409,
  UNSUPPORTED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  PAYLOAD_TOO_LARGE: 413,
  QUOTA_EXCEEDED: 413,
  TOO_MANY_REQUESTS: 429,
  // RFC 4918 §11.5: the server cannot store what the request needs stored (the store is full).
  INSUFFICIENT_STORAGE: 507,
  READ_ONLY: 503,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  UNAVAILABLE: 503,
  INTERNAL: 500,
}

export class TroveError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'TroveError'
  }

  get status(): number {
    return HTTP_STATUS[this.code]
  }
}

/** One problem with one field of a request body (or with the whole body: no field). */
export interface FieldProblem {
  /** The field's JSON path in the body: `url`, `repositories[1]`, `repo.actions.users`. */
  readonly field?: string
  /** A sentence that stands on its own (it names the field), e.g. `url: must be an http or https URL`. */
  readonly message: string
}

/**
 * A request body that breaks its rules, field by field: the REST API answers one error entry per
 * problem, each with its `field`, so that a form shows each message next to its field without
 * reading the message. The code is BAD_REQUEST unless a rule has its own (NAME_INVALID, CONFLICT).
 */
export class ValidationError extends TroveError {
  constructor(
    readonly problems: readonly FieldProblem[],
    options: { readonly code?: ErrorCode; readonly message?: string } = {},
  ) {
    super(options.code ?? 'BAD_REQUEST', options.message ?? problems.map((p) => p.message).join('; '), { problems })
    this.name = 'ValidationError'
  }
}

/** A problem with one field; `message` names the field itself. */
export const invalidField = (field: string, message: string, code?: ErrorCode) => new ValidationError([{ field, message }], code ? { code } : {})

/** A JSON path as the REST errors name fields: `repositories[1]`, `repo.actions.users`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text === '' ? String(part) : `${text}.${String(part)}`), '')
}

/** Problems of a schema check (zod's issues), each named by its path (none for the whole body). */
export function schemaProblems(issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[]): FieldProblem[] {
  return issues.map((issue) => {
    const field = fieldPath(issue.path)
    return field === '' ? { message: `the body: ${issue.message}` } : { field, message: `${field}: ${issue.message}` }
  })
}

export const notFound = (message: string, details?: Record<string, unknown>) =>
  new TroveError('NOT_FOUND', message, details)
export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new TroveError('BAD_REQUEST', message, details)
export const denied = (message: string) => new TroveError('DENIED', message)
export const unauthorized = (message: string) => new TroveError('UNAUTHORIZED', message)
export const conflict = (message: string) => new TroveError('CONFLICT', message)

/**
 * A fault of the layers below the core in the core's terms, for the protocol edges to render: a
 * full metadata database is INSUFFICIENT_STORAGE (507), said so to the client (a full blob store
 * is translated by the blob store itself). Anything else is returned as it is.
 */
export function inCoreTerms(err: unknown): unknown {
  if (!isMetadataFull(err)) return err
  return new TroveError('INSUFFICIENT_STORAGE', 'the metadata database is full: nothing was stored; an administrator must free or add storage', undefined, { cause: err })
}

export function isTroveError(err: unknown): err is TroveError {
  return err instanceof TroveError
}

/** Network failures of a connection to a store (the database, the object store). */
const OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])
/** What node-postgres says when its connection drops or cannot be opened in time. */
const OUTAGE_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/

/**
 * The error to answer when `err` (or its cause) is a store this node depends on being unreachable
 * (a dropped or refused database connection, SQLSTATE class 08 or 57P): UNAVAILABLE (503), so that
 * a load balancer sends an idempotent request to another node and a client retries, instead of a
 * 500 that reads as a bug. `undefined` for any other error.
 */
export function outageOf(err: unknown): TroveError | undefined {
  let current: unknown = err
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof TroveError) return undefined
    const code = (current as { code?: unknown }).code
    const isOutage =
      (typeof code === 'string' && (OUTAGE_CODES.has(code) || /^08|^57P0/.test(code))) || OUTAGE_MESSAGES.test(current.message)
    if (isOutage) return new TroveError('UNAVAILABLE', 'this node cannot reach one of its stores right now; try again (another node may answer)', undefined, { cause: err })
    current = current.cause
  }
  return undefined
}
