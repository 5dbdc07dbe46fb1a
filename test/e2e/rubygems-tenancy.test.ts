/**
 * RubyGems and tenancy with the real gem: a project's service account pushes with its bare token
 * as the API key; a Developer of another project is refused with gem printing why; the project's
 * quota refuses a push that does not fit, and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { GemHome } from '../helpers/rubygems.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createUser, type ApiCall } from './admin-http.js'

const backends = await metadataBackends()
const hasClients = await requireClients('the gem tenancy suite', ['gem'])
const API = '/artifactory/api/gems'

describe.skipIf(!hasClients).each(backends)('RubyGems tenancy and quota with gem (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall
  let home: GemHome
  let ciToken: string
  const push = (file: string, key: string) => home.gem(['push', file, '--host', `${server.url}${API}/acme-gems`], { env: { GEM_HOST_API_KEY: key } })
  const stored = async () => {
    const response = await call('GET', '/artifactory/api/storage/acme-gems/gems')
    return response.status === 404 ? [] : ((await response.json()) as { children: { uri: string }[] }).children.map((c) => c.uri)
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    call = apiClient(server)
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'acme', storage_quota_bytes: 40_000 } })).status).toBe(201)
    expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'other' } })).status).toBe(201)
    const lead = await createUser(call, 'lead')
    await createUser(call, 'stranger', 'stranger-password-1')
    expect((await call('PUT', '/access/api/v1/projects/acme/users/lead', { json: { roles: ['Project Admin'] } })).status).toBe(200)
    expect((await call('PUT', '/access/api/v1/projects/other/users/stranger', { json: { roles: ['Developer'] } })).status).toBe(200)
    expect((await call('PUT', '/artifactory/api/repositories/acme-gems', { auth: lead, json: { rclass: 'local', packageType: 'gems' } })).status).toBe(200)
    expect((await call('PUT', '/access/api/v1/projects/acme/service-accounts/acme-ci', { auth: lead, json: { roles: ['Developer'] } })).status).toBe(201)
    ciToken = ((await (await call('POST', '/access/api/v1/tokens', { auth: lead, json: { username: 'acme-ci' } })).json()) as { access_token: string }).access_token
    home = await GemHome.create()
  })

  afterAll(async () => {
    await home?.remove()
    await server?.close()
  })

  it("the project's service account pushes with its bare token; another project's Developer is refused", async () => {
    const first = await home.build('acme_lib', '1.0.0', 'acme')
    const pushed = await push(first.file, ciToken)
    expect(pushed.code, pushed.output).toBe(0)
    const second = await home.build('acme_lib', '1.1.0', 'acme')
    const refused = await push(second.file, `Basic ${Buffer.from('stranger:stranger-password-1').toString('base64')}`)
    expect(refused.code).not.toBe(0)
    expect(refused.output).toMatch(/stranger/)
    expect(await stored()).toEqual(['/acme_lib-1.0.0.gem'])
  })

  it('the quota refuses a gem that does not fit, and gem prints why', async () => {
    const big = await home.build('acme_big', '1.0.0', 'big', [], 60_000)
    const refused = await push(big.file, ciToken)
    expect(refused.code).not.toBe(0)
    expect(refused.output).toMatch(/quota/)
    expect(await stored()).toEqual(['/acme_lib-1.0.0.gem'])
  })
})
