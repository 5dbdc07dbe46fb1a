/**
 * Registry login as clients expect it, over real HTTP on every metadata backend: the Bearer
 * challenge, the token endpoint, tokens narrowed to their scope, Basic credentials straight to
 * /v2/, anonymous pulls where a repository allows them, UNAUTHORIZED and DENIED, read-only mode.
 */
import { SignJWT, decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildImage } from '../../../test/helpers/oci-images.js'
import { RegistryClient, basicAuth, expectOciError, startOciServer, type OciServer } from '../../../test/helpers/oci.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'

const backends = await metadataBackends()

interface Token {
  token: string
  access_token: string
  expires_in: number
  issued_at: string
}

function challenge(res: Response): Record<string, string> {
  const header = res.headers.get('www-authenticate') ?? ''
  expect(header).toMatch(/^Bearer /)
  return Object.fromEntries([...header.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]))
}

describe.each(backends)('registry authentication on %s', (backend) => {
  let server: OciServer
  let admin: RegistryClient
  let anonymous: RegistryClient
  let reader: string
  let pusher: string

  beforeAll(async () => {
    server = await startOciServer(backend, { oci: { tokenExpirySecs: 60 } })
    admin = new RegistryClient(server, server.adminAuth)
    anonymous = admin.as(undefined)
    await admin.createRepository('docker-local')
    await admin.createRepository('public-local', { anonymousRead: true })
    reader = await admin.createUser('reader', { 'docker-local': ['read'] })
    pusher = await admin.createUser('pusher', { 'docker-local': ['read', 'deploy'] })
    await admin.pushImage('docker-local/app', 'v1', buildImage('auth', 1))
    await admin.pushImage('public-local/app', 'v1', buildImage('public', 1))
  })
  afterAll(async () => server?.close())

  async function token(query: string, authorization?: string, path = '/v2/token'): Promise<Token> {
    const res = await anonymous.call('GET', `${path}?${query}`, authorization ? { headers: { authorization } } : {})
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as Token
  }

  it('challenges /v2/ with a Bearer realm and service, and answers 200 to any credentials', async () => {
    const res = await anonymous.call('GET', '/v2/')
    await expectOciError(res.clone(), 401, 'UNAUTHORIZED')
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0')
    const params = challenge(res)
    expect(params.realm).toBe(`${server.url}/v2/token`)
    expect(params.service).toBe(new URL(server.url).host)
    expect(params.scope).toBeUndefined()
    const ok = await admin.call('GET', '/v2/')
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({})
    expect(ok.headers.get('docker-distribution-api-version')).toBe('registry/2.0')
    await expectOciError(await anonymous.call('GET', '/v2/', { headers: { authorization: basicAuth('admin', 'wrong-password') } }), 401, 'UNAUTHORIZED')
  })

  it('names the scope a request needs in its challenge', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/v2/docker-local/app/manifests/v1', 'repository:docker-local/app:pull'],
      ['HEAD', '/v2/docker-local/app/blobs/sha256:' + '0'.repeat(64), 'repository:docker-local/app:pull'],
      ['POST', '/v2/docker-local/app/blobs/uploads/', 'repository:docker-local/app:pull,push'],
      ['PUT', '/v2/docker-local/app/manifests/v2', 'repository:docker-local/app:pull,push'],
      ['DELETE', '/v2/docker-local/app/manifests/v1', 'repository:docker-local/app:delete'],
      ['POST', '/v2/docker-local/app/blobs/uploads/?mount=sha256:' + '0'.repeat(64) + '&from=public-local/app', 'repository:docker-local/app:pull,push repository:public-local/app:pull'],
    ]
    for (const [method, path, scope] of cases) {
      const res = await anonymous.call(method, path)
      expect(res.status, `${method} ${path}`).toBe(401)
      expect(challenge(res).scope, `${method} ${path}`).toBe(scope)
    }
    // The catalog answers anonymous callers (with what they may read); wrong credentials get the challenge.
    const catalog = await anonymous.call('GET', '/v2/_catalog', { headers: { authorization: basicAuth('admin', 'wrong-password') } })
    expect(challenge(catalog).scope).toBe('registry:catalog:*')
    // Under Artifactory's API path, the realm and the names are the repository's own.
    const res = await anonymous.call('GET', '/artifactory/api/docker/docker-local/v2/app/manifests/v1')
    expect(challenge(res)).toMatchObject({ realm: `${server.url}/artifactory/api/docker/docker-local/v2/token`, scope: 'repository:app:pull' })
  })

  it('issues tokens for what the user may do, as the Docker token specification describes', async () => {
    const issued = await token('service=trove&scope=repository:docker-local/app:pull,push', pusher)
    expect(issued.access_token).toBe(issued.token)
    expect(issued.expires_in).toBe(60)
    expect(Date.parse(issued.issued_at)).toBeGreaterThan(Date.now() - 60_000)
    const claims = decodeJwt(issued.token)
    expect(claims).toMatchObject({ sub: 'pusher', aud: 'trove', access: [{ type: 'repository', name: 'docker-local/app', actions: ['pull', 'push'] }] })
    expect(claims.exp! - claims.iat!).toBe(60)

    // What the user may not do is left out, not refused.
    const narrowed = decodeJwt((await token('scope=repository:docker-local/app:pull,push,delete', reader)).token)
    expect(narrowed.access).toEqual([{ type: 'repository', name: 'docker-local/app', actions: ['pull'] }])
    const several = decodeJwt((await token('scope=repository:docker-local/app:pull&scope=repository:public-local/app:push registry:catalog:*', reader)).token)
    expect(several.access).toEqual([
      { type: 'repository', name: 'docker-local/app', actions: ['pull'] },
      { type: 'repository', name: 'public-local/app', actions: [] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ])
    // Anonymous callers get a token too, with what anonymous may do.
    const anon = decodeJwt((await token('scope=repository:public-local/app:pull&scope=repository:docker-local/app:pull')).token)
    expect(anon.sub).toBeUndefined()
    expect(anon.access).toEqual([
      { type: 'repository', name: 'public-local/app', actions: ['pull'] },
      { type: 'repository', name: 'docker-local/app', actions: [] },
    ])
    // Under Artifactory's API path, names are the repository's images.
    const prefixed = decodeJwt((await token('scope=repository:app:pull', reader, '/artifactory/api/docker/docker-local/v2/token')).token)
    expect(prefixed.access).toEqual([{ type: 'repository', name: 'docker-local/app', actions: ['pull'] }])

    const bad = await anonymous.call('GET', '/v2/token?scope=repository:docker-local/app:pull', { headers: { authorization: basicAuth('reader', 'wrong-password') } })
    await expectOciError(bad, 401, 'UNAUTHORIZED')
    expect(bad.headers.get('www-authenticate')).toMatch(/^Basic /)
  })

  it('takes an access token instead of a password, at the token endpoint and straight at /v2/', async () => {
    const created = await admin.call('POST', '/access/api/v1/tokens', {
      headers: { 'content-type': 'application/json', authorization: reader },
      body: JSON.stringify({ description: 'ci' }),
    })
    expect(created.status, await created.clone().text()).toBe(200)
    const { access_token: accessToken } = (await created.json()) as { access_token: string }
    const issued = await token('scope=repository:docker-local/app:pull', basicAuth('reader', accessToken))
    expect(decodeJwt(issued.token).sub).toBe('reader')
    expect((await anonymous.call('GET', '/v2/docker-local/app/manifests/v1', { headers: { authorization: basicAuth('reader', accessToken) } })).status).toBe(200)
    expect((await anonymous.call('GET', '/v2/docker-local/app/manifests/v1', { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(200)

    // A registry token lives no longer than the access token it was issued for: revoking that ends it at the next request.
    const registryBearer = { authorization: `Bearer ${issued.token}` }
    expect((await anonymous.call('GET', '/v2/docker-local/app/manifests/v1', { headers: registryBearer })).status).toBe(200)
    const listed = await anonymous.call('GET', '/access/api/v1/tokens', { headers: { authorization: reader } })
    const tokens = ((await listed.json()) as { tokens: { token_id: string; description: string }[] }).tokens
    const ci = tokens.find((t) => t.description === 'ci')
    expect(ci, JSON.stringify(tokens)).toBeDefined()
    expect((await anonymous.call('DELETE', `/access/api/v1/tokens/${ci!.token_id}`, { headers: { authorization: reader } })).status).toBeLessThan(300)
    const revoked = await anonymous.call('GET', '/v2/docker-local/app/manifests/v1', { headers: registryBearer })
    await expectOciError(revoked, 401, 'UNAUTHORIZED', /revoked or expired/)
  })

  it('lets a token do what its scope names and nothing more', async () => {
    const { token: pull } = await token('scope=repository:docker-local/app:pull', pusher)
    const bearer = { authorization: `Bearer ${pull}` }
    expect((await anonymous.call('GET', '/v2/docker-local/app/manifests/v1', { headers: bearer })).status).toBe(200)
    expect((await anonymous.call('GET', '/v2/', { headers: bearer })).status).toBe(200)
    // The user may push, but the token says pull: 401 naming the scope to ask for.
    const push = await anonymous.call('POST', '/v2/docker-local/app/blobs/uploads/', { headers: bearer })
    await expectOciError(push.clone(), 401, 'UNAUTHORIZED', /does not grant deploy/)
    expect(challenge(push)).toMatchObject({ scope: 'repository:docker-local/app:pull,push', error: 'insufficient_scope' })
    // Another image of the same repository is outside the scope too.
    expect((await anonymous.call('GET', '/v2/docker-local/other/tags/list', { headers: bearer })).status).toBe(401)
    // And so is the rest of Trove: a registry token is for the registry API.
    const rest = await anonymous.call('GET', '/artifactory/api/storage/docker-local/app', { headers: bearer })
    expect(rest.status).toBe(401)
    expect((await anonymous.call('POST', '/access/api/v1/tokens', { headers: { ...bearer, 'content-type': 'application/json' }, body: '{}' })).status).toBe(401)
    // An admin's token is narrowed the same way.
    const { token: adminPull } = await token('scope=repository:docker-local/app:pull', server.adminAuth)
    expect((await anonymous.call('DELETE', '/v2/docker-local/app/manifests/v1', { headers: { authorization: `Bearer ${adminPull}` } })).status).toBe(401)
  })

  it('refuses tokens that are expired, forged, or whose user is disabled', async () => {
    const secret = await server.trove.services.metadata.db.selectFrom('settings').select('value').where('name', '=', 'registry.token-secret').executeTakeFirstOrThrow()
    const key = new Uint8Array(Buffer.from(secret.value, 'base64url'))
    const sign = (claims: Record<string, unknown>, exp: number, signingKey = key) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('trove').setSubject('reader').setExpirationTime(exp).sign(signingKey)
    const access = { access: [{ type: 'repository', name: 'docker-local/app', actions: ['pull'] }] }
    const now = Math.floor(Date.now() / 1000)
    const valid = await sign(access, now + 60)
    expect((await anonymous.call('GET', '/v2/docker-local/app/manifests/v1', { headers: { authorization: `Bearer ${valid}` } })).status).toBe(200)
    const expired = await sign(access, now - 10)
    await expectOciError(await anonymous.call('GET', '/v2/docker-local/app/manifests/v1', { headers: { authorization: `Bearer ${expired}` } }), 401, 'UNAUTHORIZED', /invalid or expired/)
    const forged = await sign(access, now + 60, new Uint8Array(32))
    await expectOciError(await anonymous.call('GET', '/v2/docker-local/app/manifests/v1', { headers: { authorization: `Bearer ${forged}` } }), 401, 'UNAUTHORIZED')

    const temp = await admin.createUser(`temp-${backend}`, { 'docker-local': ['read'] })
    const { token: tempToken } = await token('scope=repository:docker-local/app:pull', temp)
    const disabled = await admin.call('POST', `/artifactory/api/security/users/temp-${backend}`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ disabled: true }),
    })
    expect(disabled.status, await disabled.clone().text()).toBeLessThan(300)
    await expectOciError(await anonymous.call('GET', '/v2/docker-local/app/manifests/v1', { headers: { authorization: `Bearer ${tempToken}` } }), 401, 'UNAUTHORIZED')
  })

  it('answers DENIED to signed-in users without the right, and UNAUTHORIZED to anonymous callers', async () => {
    await expectOciError(await admin.as(reader).call('POST', '/v2/docker-local/app/blobs/uploads/'), 403, 'DENIED')
    await expectOciError(await admin.as(reader).call('DELETE', '/v2/docker-local/app/manifests/v1'), 403, 'DENIED')
    // Anonymous read lets every signed-in user read too.
    expect((await admin.as(reader).call('GET', '/v2/public-local/app/tags/list')).status).toBe(200)
    await expectOciError(await anonymous.call('GET', '/v2/docker-local/app/tags/list'), 401, 'UNAUTHORIZED')
  })

  it('serves anonymous pulls where the repository allows them, through an anonymous token as Docker does', async () => {
    expect((await anonymous.call('GET', '/v2/public-local/app/manifests/v1')).status).toBe(200)
    const { token: anon } = await token('scope=repository:public-local/app:pull')
    const bearer = { authorization: `Bearer ${anon}` }
    expect((await anonymous.call('GET', '/v2/', { headers: bearer })).status).toBe(200)
    expect((await anonymous.call('GET', '/v2/public-local/app/manifests/v1', { headers: bearer })).status).toBe(200)
    await expectOciError(await anonymous.call('POST', '/v2/public-local/app/blobs/uploads/', { headers: bearer }), 401, 'UNAUTHORIZED')
    const catalog = (await (await anonymous.call('GET', '/v2/_catalog')).json()) as { repositories: string[] }
    expect(catalog.repositories).toEqual(['public-local/app'])
  })

  it('lists the catalog with a token carrying the catalog scope', async () => {
    const { token: catalogToken } = await token('scope=registry:catalog:*', reader)
    const res = await anonymous.call('GET', '/v2/_catalog', { headers: { authorization: `Bearer ${catalogToken}` } })
    expect(((await res.json()) as { repositories: string[] }).repositories).toEqual(['docker-local/app', 'public-local/app'])
  })

  it('refuses every push in read-only mode with 503, and keeps serving pulls', async () => {
    const on = await admin.call('PUT', '/api/v1/system/read-only', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, message: 'maintenance until noon' }),
    })
    expect(on.status, await on.clone().text()).toBe(200)
    try {
      await expectOciError(await admin.call('POST', '/v2/docker-local/app/blobs/uploads/'), 503, 'UNSUPPORTED', /maintenance until noon/)
      await expectOciError(await admin.call('DELETE', '/v2/docker-local/app/manifests/v1'), 503, 'UNSUPPORTED')
      expect((await admin.call('GET', '/v2/docker-local/app/manifests/v1')).status).toBe(200)
      expect((await anonymous.call('GET', '/v2/token?scope=repository:docker-local/app:pull', { headers: { authorization: reader } })).status).toBe(200)
    } finally {
      await admin.call('PUT', '/api/v1/system/read-only', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enabled: false }) })
    }
  })
})
