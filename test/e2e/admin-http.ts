import { expect } from 'vitest'
import type { RestError, RestErrorBody } from '../../src/api/errors.js'
import { basicAuth, type TestServer } from '../helpers/server.js'

/** Options of one call: `auth` is an `Authorization` value, `null` for none (anonymous); the admin by default. */
export interface CallOptions {
  readonly auth?: string | null
  readonly json?: unknown
  readonly body?: string | Uint8Array
  readonly headers?: Record<string, string>
}

/** A small fetch wrapper for the management API of one test server, as the admin unless told. */
export function apiClient(server: Pick<TestServer, 'url' | 'adminAuth'>) {
  return async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers }
    const auth = options.auth === undefined ? server.adminAuth : options.auth
    if (auth !== null) headers.authorization = auth
    let body: string | Uint8Array | undefined = options.body
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json'
      body = JSON.stringify(options.json)
    }
    return fetch(`${server.url}${path}`, { method, headers, body })
  }
}

export type ApiCall = ReturnType<typeof apiClient>

/** Creates a local user with a password (as the admin) and returns its Basic `Authorization` value. */
export async function createUser(call: ApiCall, name: string, password = `${name}-password-1`, isAdmin = false): Promise<string> {
  const res = await call('PUT', `/artifactory/api/security/users/${name}`, { json: { email: `${name}@example.test`, password, admin: isAdmin } })
  expect(res.status, await res.clone().text()).toBe(201)
  return basicAuth(name, password)
}

/** Creates a generic local repository (as the admin). */
export async function createRepository(call: ApiCall, key: string, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await call('PUT', `/artifactory/api/repositories/${key}`, { json: { key, rclass: 'local', packageType: 'generic', ...extra } })
  expect(res.status, await res.clone().text()).toBe(200)
}

/**
 * Asserts Artifactory's REST error body, `{"errors":[{"status","message","code"[,"field"]}]}`, with
 * one entry, the status given, a message matching `message` and, when given, the `field` (`null`:
 * none); returns the message.
 */
export async function expectRestError(res: Response, status: number, message?: RegExp | string, field?: string | null): Promise<string> {
  const [error] = await expectRestErrors(res, status, 1)
  if (message !== undefined) expect(error!.message).toMatch(message)
  if (field !== undefined) expect(error!.field).toBe(field ?? undefined)
  return error!.message
}

/** Asserts a REST error body of `count` entries with the status given, a code each; returns them. */
export async function expectRestErrors(res: Response, status: number, count: number): Promise<RestError[]> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = JSON.parse(text) as RestErrorBody
  expect(body.errors, text).toHaveLength(count)
  for (const error of body.errors) {
    expect(error.status).toBe(status)
    expect(typeof error.message).toBe('string')
    expect(error.code).toMatch(/^[A-Z_]+$/)
  }
  if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
  return [...body.errors]
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
