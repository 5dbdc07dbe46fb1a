/**
 * Brute-force protection of password logins, over real HTTP (curl and fetch): past the failures
 * allowed for an account (or from an address), password checks are refused with 429, a
 * Retry-After and a message in each protocol's own error shape (REST, npm, OCI, the console's
 * login), the right password included; access tokens keep working; a success clears the
 * account's count; two nodes on one metadata database share the counts.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createRepository, createUser, expectRestError, type ApiCall } from './admin-http.js'

const run = promisify(execFile)
const backends = await metadataBackends()
const hasCurl = await requireClients('the login limit suite (curl)', ['curl'])

const LIMITS = { maxFailuresPerAccount: 3, maxFailuresPerAddress: 9, windowSecs: 60, blockSecs: 2 }
const ALICE_PASSWORD = 'alice-password-1'
const BOB_PASSWORD = 'bob-password-1'

/** `curl -u user:password URL`: the status, the headers (lower-cased names) and the body. */
async function curl(url: string, user: string, password: string): Promise<{ status: number; headers: Map<string, string>; body: string }> {
  const { stdout } = await run('curl', ['-sS', '-i', '-u', `${user}:${password}`, url])
  const split = stdout.indexOf('\r\n\r\n')
  const [statusLine = '', ...headerLines] = stdout.slice(0, split).split('\r\n')
  const headers = new Map(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  return { status: Number(statusLine.split(' ')[1]), headers, body: stdout.slice(split + 4) }
}

describe.skipIf(!hasCurl).each(backends)('login limits (%s)', (backend) => {
  let server: TestServer
  let second: TestServer
  let call: ApiCall
  let aliceToken: string
  const fileUrl = () => `${server.url}/artifactory/files/hello.txt`

  beforeAll(async () => {
    server = await startTestServer({ backend, settings: { loginLimits: LIMITS } })
    // A second node on the same metadata database (its own data folder): the counts are shared.
    second = await startTestServer({ settings: { loginLimits: LIMITS, database: { url: server.trove.services.config.databaseUrl } } })
    call = apiClient(server)
    await createUser(call, 'alice', ALICE_PASSWORD)
    await createUser(call, 'bob', BOB_PASSWORD)
    // Readable by anyone: what is tested is the credential check, which comes before any permission.
    await createRepository(call, 'files', { anonymousRead: true })
    expect((await call('PUT', '/artifactory/files/hello.txt', { body: 'hello\n' })).status).toBe(201)
    const npmRepo = await call('PUT', '/artifactory/api/repositories/npm-local', { json: { key: 'npm-local', rclass: 'local', packageType: 'npm' } })
    expect(npmRepo.status).toBe(200)
    const created = await call('POST', '/access/api/v1/tokens', { auth: basicAuth('alice', ALICE_PASSWORD), json: { description: 'ci' } })
    expect(created.status).toBe(200)
    aliceToken = ((await created.json()) as { access_token: string }).access_token
  }, 60_000)

  afterAll(async () => {
    await second?.close()
    await server?.close()
  })

  it('blocks an account after its failures, on every node and every password login, but not its tokens', async () => {
    // 1. Wrong passwords: 401 each, two on this node and one on the other.
    expect((await curl(fileUrl(), 'alice', 'wrong-1')).status).toBe(401)
    expect((await curl(fileUrl(), 'alice', 'wrong-2')).status).toBe(401)
    expect((await curl(`${second.url}/artifactory/files/hello.txt`, 'alice', 'wrong-3')).status).toBe(401)

    // 2. Now even the right password is refused, with 429, Retry-After and the REST error body.
    const blocked = await curl(fileUrl(), 'alice', ALICE_PASSWORD)
    expect(blocked.status).toBe(429)
    const retryAfter = Number(blocked.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(LIMITS.blockSecs)
    expect(JSON.parse(blocked.body)).toEqual({ errors: [{ status: 429, code: 'TOO_MANY_REQUESTS', message: expect.stringMatching(/too many failed logins for account 'alice'/) }] })
    const onSecond = await fetch(`${second.url}/artifactory/files/hello.txt`, { headers: { authorization: basicAuth('alice', ALICE_PASSWORD) } })
    await expectRestError(onSecond, 429, /too many failed logins/)

    // 3. The console's login, npm's legacy login and the registry: 429 in their own shapes.
    const consoleLogin = await fetch(`${server.url}/api/v1/ui/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-requested-with': 'XMLHttpRequest' },
      body: JSON.stringify({ user: 'alice', password: ALICE_PASSWORD }),
    })
    expect(consoleLogin.headers.get('set-cookie')).toBeNull()
    await expectRestError(consoleLogin, 429, /too many failed logins/)
    const npmLogin = await fetch(`${server.url}/artifactory/api/npm/npm-local/-/user/org.couchdb.user:alice`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alice', password: ALICE_PASSWORD }),
    })
    expect(npmLogin.status).toBe(429)
    expect(npmLogin.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(await npmLogin.json()).toEqual({ error: expect.stringMatching(/too many failed logins for account 'alice'/) })
    const registry = await fetch(`${server.url}/v2/`, { headers: { authorization: basicAuth('alice', ALICE_PASSWORD) } })
    expect(registry.status).toBe(429)
    expect(registry.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(((await registry.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('TOOMANYREQUESTS')

    // 4. Tokens are not password logins: Bearer and Basic with the token still work.
    const bearer = await fetch(fileUrl(), { headers: { authorization: `Bearer ${aliceToken}` } })
    expect(bearer.status).toBe(200)
    expect(await bearer.text()).toBe('hello\n')
    expect((await curl(fileUrl(), 'alice', aliceToken)).status).toBe(200)

    // 5. Another account from the same address is not blocked.
    expect((await curl(fileUrl(), 'bob', BOB_PASSWORD)).status).toBe(200)

    // 6. After the block, the right password works and clears the count: two failures are 401 again.
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 200))
    const after = await curl(fileUrl(), 'alice', ALICE_PASSWORD)
    expect(after.status).toBe(200)
    expect(after.body).toBe('hello\n')
    expect((await curl(fileUrl(), 'alice', 'wrong-4')).status).toBe(401)
    expect((await curl(fileUrl(), 'alice', 'wrong-5')).status).toBe(401)
    expect((await curl(fileUrl(), 'alice', ALICE_PASSWORD)).status).toBe(200)
  }, 30_000)

  it('blocks an address that guesses at many accounts', async () => {
    // Failures from 127.0.0.1 so far: 5 (alice). Four more on unknown accounts reach the limit of 9.
    for (const name of ['mallory1', 'mallory2', 'mallory3', 'mallory4']) expect((await curl(fileUrl(), name, 'guess')).status).toBe(401)
    const bob = await curl(fileUrl(), 'bob', BOB_PASSWORD)
    expect(bob.status).toBe(429)
    expect(JSON.parse(bob.body).errors[0].message).toMatch(/too many failed logins for address 127\.0\.0\.1/)
    // Anonymous reads and token logins from that address still work.
    expect((await fetch(`${server.url}/api/v1/ui/me`)).status).toBe(200)
    expect((await fetch(fileUrl(), { headers: { authorization: `Bearer ${aliceToken}` } })).status).toBe(200)
    // Every password from that address is refused, the admin's too; nothing was created for the guessed names.
    await expectRestError(await call('GET', '/artifactory/api/security/users'), 429, /address 127\.0\.0\.1/)
    expect(await server.trove.services.users.get('mallory1')).toBeUndefined()
  }, 30_000)

  it('counts the forwarded client address behind a trusted proxy, and ignores X-Forwarded-For from anyone else', async () => {
    // This node trusts 127.0.0.1 as its load balancer: the address a client's failures count
    // against is the one the proxy forwards, so one guessing client does not block the others.
    const proxied = await startTestServer({
      settings: { loginLimits: LIMITS, http: { trustedProxies: ['127.0.0.1'] }, database: { url: server.trove.services.config.databaseUrl } },
    })
    try {
      const from = (address: string, name: string, password: string) =>
        // Any authenticated call will do (this node has its own, empty blob folder).
        fetch(`${proxied.url}/artifactory/api/repositories`, { headers: { authorization: basicAuth(name, password), 'x-forwarded-for': address } })
      for (let i = 0; i < LIMITS.maxFailuresPerAddress; i++) expect((await from('203.0.113.7', `guesser${i}`, 'guess')).status).toBe(401)
      const blocked = await from('203.0.113.7', 'bob', BOB_PASSWORD)
      await expectRestError(blocked, 429, /address 203\.0\.113\.7/)
      expect((await from('198.51.100.20', 'bob', BOB_PASSWORD)).status).toBe(200)
    } finally {
      await proxied.close()
    }
    // The first node trusts no proxy: a forwarded address is ignored, and the connecting address (still blocked) counts.
    const spoofed = await fetch(fileUrl(), { headers: { authorization: basicAuth('bob', BOB_PASSWORD), 'x-forwarded-for': '198.51.100.21' } })
    await expectRestError(spoofed, 429, /address 127\.0\.0\.1/)
  }, 30_000)
})
