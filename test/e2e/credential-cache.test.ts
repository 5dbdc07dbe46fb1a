/**
 * Remembered credentials (issue 22, Authenticator): with the cache on (its default), a revoked
 * token, a changed password and a disabled account are refused on the very next request, on the
 * node that made the change and, through the change feed, on another node sharing PostgreSQL.
 */
import { describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { startSharedNodes } from '../helpers/shared-nodes.js'
import { ADMIN_PASSWORD, basicAuth, startTestServer } from '../helpers/server.js'

const ADMIN = basicAuth('admin', ADMIN_PASSWORD)

async function call(base: string, method: string, path: string, auth: string, json?: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: auth, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: json !== undefined ? JSON.stringify(json) : undefined,
  })
}

/** The status of an authenticated read (the caller's own user record needs valid credentials). */
const whoAmI = async (base: string, auth: string) => (await call(base, 'GET', '/access/api/v1/tokens', auth)).status

async function createUser(base: string, name: string, password: string): Promise<void> {
  const res = await call(base, 'PUT', `/artifactory/api/security/users/${name}`, ADMIN, { email: `${name}@example.test`, password })
  expect(res.status, await res.clone().text()).toBe(201)
}

async function createToken(base: string, auth: string): Promise<{ id: string; bearer: string }> {
  const res = await call(base, 'POST', '/access/api/v1/tokens', auth, { description: 'cache test' })
  expect(res.status, await res.clone().text()).toBe(200)
  const body = (await res.json()) as { token_id: string; access_token: string }
  return { id: body.token_id, bearer: `Bearer ${body.access_token}` }
}

describe('remembered credentials', () => {
  for (const backend of ['sqlite', 'postgres'] as const) {
    it(`a revoked token, a changed password and a disabled account are refused at once (${backend})`, async () => {
      if (!(await metadataBackends()).includes(backend)) return
      const server = await startTestServer({ backend, settings: { caches: { credentialSecs: 300 } } })
      try {
        await createUser(server.url, 'dev', 'dev-password-1')
        const password = basicAuth('dev', 'dev-password-1')
        const token = await createToken(server.url, password)
        // Each used twice: remembered now.
        for (const auth of [password, token.bearer, password, token.bearer]) expect(await whoAmI(server.url, auth)).toBe(200)

        expect((await call(server.url, 'DELETE', `/access/api/v1/tokens/${token.id}`, ADMIN)).status).toBeLessThan(300)
        expect(await whoAmI(server.url, token.bearer)).toBe(401)

        expect((await call(server.url, 'POST', '/artifactory/api/security/users/dev', ADMIN, { password: 'dev-password-2' })).status).toBeLessThan(300)
        expect(await whoAmI(server.url, password)).toBe(401)
        const changed = basicAuth('dev', 'dev-password-2')
        expect(await whoAmI(server.url, changed)).toBe(200)
        expect(await whoAmI(server.url, changed)).toBe(200)

        expect((await call(server.url, 'POST', '/artifactory/api/security/users/dev', ADMIN, { disabled: true })).status).toBeLessThan(300)
        expect(await whoAmI(server.url, changed)).toBe(401)
      } finally {
        await server.close()
      }
    })
  }

  it('a token revoked on one node is refused on another at once (two nodes, one PostgreSQL)', async () => {
    if (!(await metadataBackends()).includes('postgres')) return
    const nodes = await startSharedNodes(2, { caches: { credentialSecs: 300 } })
    try {
      const [a, b] = nodes.urls as [string, string]
      const token = await createToken(a, ADMIN)
      expect(await whoAmI(b, token.bearer)).toBe(200)
      expect(await whoAmI(b, token.bearer)).toBe(200) // remembered on b
      expect((await call(a, 'DELETE', `/access/api/v1/tokens/${token.id}`, ADMIN)).status).toBeLessThan(300)
      // The change feed reaches b within a second (a notification, else the next poll): bounded wait,
      // far below the 300 s the credential would otherwise be remembered.
      let status = 200
      for (let i = 0; i < 50 && status === 200; i++) {
        status = await whoAmI(b, token.bearer)
        if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(status).toBe(401)
    } finally {
      await nodes.close()
    }
  }, 120_000)
})
