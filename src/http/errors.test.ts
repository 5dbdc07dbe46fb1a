import type { FastifyRequest } from 'fastify'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { TroveError, ValidationError, fieldPath, invalidField, schemaProblems } from '../core/errors.js'
import { normalizeError, restErrorBody } from './errors.js'

const request = { id: 'req-1', log: { error: vi.fn() } } as unknown as FastifyRequest
const body = (err: unknown) => restErrorBody(normalizeError(err, request))

describe('the REST error body', () => {
  it('gives every error its core code beside the status and message Artifactory clients read', () => {
    expect(body(new TroveError('NOT_FOUND', "repository 'x' does not exist"))).toEqual({
      errors: [{ status: 404, code: 'NOT_FOUND', message: "repository 'x' does not exist" }],
    })
  })

  it('names the field of a validation error, keeping its own code', () => {
    expect(body(invalidField('key', "invalid repository key 'A'", 'NAME_INVALID'))).toEqual({
      errors: [{ status: 400, code: 'NAME_INVALID', field: 'key', message: "invalid repository key 'A'" }],
    })
    expect(body(invalidField('key', "repository 'x' already exists", 'CONFLICT')).errors[0]).toMatchObject({ status: 409, field: 'key' })
  })

  it('answers one entry per problem when several fields are wrong; a problem of the whole body names no field', () => {
    const error = new ValidationError([{ field: 'offline', message: 'offline: expected boolean' }, { message: 'the body: too many fields' }], { message: 'invalid: two problems' })
    expect(error.message).toBe('invalid: two problems')
    expect(body(error)).toEqual({
      errors: [
        { status: 400, code: 'BAD_REQUEST', field: 'offline', message: 'offline: expected boolean' },
        { status: 400, code: 'BAD_REQUEST', message: 'the body: too many fields' },
      ],
    })
  })

  it("maps Fastify's own client errors to the core's codes, not Fastify's", () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' })
    expect(body(tooLarge)).toEqual({ errors: [{ status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' }] })
    const mediaType = Object.assign(new Error('Unsupported Media Type'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' })
    expect(body(mediaType).errors[0]!.code).toBe('UNSUPPORTED_MEDIA_TYPE')
  })

  it('hides the cause of a 5xx behind a generic message with the request id', () => {
    expect(body(new Error('secret stack detail'))).toEqual({ errors: [{ status: 500, code: 'INTERNAL', message: expect.stringContaining('req-1') }] })
  })
})

describe('field paths', () => {
  it('spells JSON paths with dots for members and brackets for indexes', () => {
    expect(fieldPath(['url'])).toBe('url')
    expect(fieldPath(['repositories', 1])).toBe('repositories[1]')
    expect(fieldPath(['repo', 'actions', 'users'])).toBe('repo.actions.users')
    expect(fieldPath([])).toBe('')
  })

  it("turns a schema's issues into problems naming their fields", () => {
    const parsed = z.object({ repositories: z.array(z.string()), offline: z.boolean() }).safeParse({ repositories: ['a', 2], offline: true })
    expect(parsed.success).toBe(false)
    expect(schemaProblems(parsed.error!.issues)).toEqual([{ field: 'repositories[1]', message: expect.stringMatching(/^repositories\[1\]: /) }])
    const whole = z.object({}).safeParse('text')
    expect(schemaProblems(whole.error!.issues)).toEqual([{ message: expect.stringMatching(/^the body: /) }])
  })
})
