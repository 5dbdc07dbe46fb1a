/**
 * Projects, service accounts, groups, permission targets, token scopes and quotas over real HTTP
 * (issue #7), as the README's "Projects and access" walks through them: a system admin creates a
 * project with a quota and a Project Admin; the Project Admin creates repositories, adds a
 * developer and a service account; the service account's token pushes; other projects' members
 * are refused; the quota stops an oversized push.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createUser, expectRestError, type ApiCall } from './admin-http.js'

const backends = await metadataBackends()

describe.each(backends)('projects and access (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall
  const auth: Record<string, string> = {}

  const bearer = (token: string) => `Bearer ${token}`
  const put = (path: string, body: string, who: string | null) => call('PUT', `/artifactory/${path}`, { auth: who, body })
  const project = async (key: string) => (await (await call('GET', `/access/api/v1/projects/${key}`)).json()) as Record<string, unknown>
  async function tokenFor(who: string, body: Record<string, unknown>): Promise<{ access_token: string; token_id: string; refresh_token?: string; expires_in: number }> {
    const res = await call('POST', '/access/api/v1/tokens', { auth: who, json: body })
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as never
  }

  beforeAll(async () => {
    server = await startTestServer({ backend, settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    call = apiClient(server)
    for (const name of ['lead', 'dev', 'viewer', 'rival', 'outsider']) auth[name] = await createUser(call, name)
  })

  afterAll(async () => {
    await server?.close()
  })

  describe('1. a system admin creates projects', () => {
    it('creates a project with a quota and shows it in Artifactory shape, with its usage', async () => {
      const res = await call('POST', '/access/api/v1/projects', {
        json: { project_key: 'team', display_name: 'Team', description: 'our space', storage_quota_bytes: 10_000, admin_privileges: { manage_members: true, manage_resources: true, index_resources: false } },
      })
      expect(res.status, await res.clone().text()).toBe(201)
      expect(await res.json()).toEqual({
        project_key: 'team',
        display_name: 'Team',
        description: 'our space',
        admin_privileges: { manage_members: true, manage_resources: true, index_resources: false },
        storage_quota_bytes: 10_000,
        storage_used_bytes: 0,
        storage_quota_warning_threshold: 0.8,
        storage_quota_warning: false,
      })
      expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'rival' } })).status).toBe(201)
    })

    it('refuses bad project input, duplicates and non-admins, changing nothing', async () => {
      await expectRestError(await call('POST', '/access/api/v1/projects', { json: { project_key: 'Bad-Key' } }), 400, /invalid project key/, 'project_key')
      await expectRestError(await call('POST', '/access/api/v1/projects', { json: { project_key: 'okkey', storage_quota_bytes: -5 } }), 400, /storage_quota_bytes/, 'storage_quota_bytes')
      await expectRestError(await call('POST', '/access/api/v1/projects', { json: { project_key: 'team' } }), 409, /already exists/, 'project_key')
      await expectRestError(await call('POST', '/access/api/v1/projects', { auth: auth.lead, json: { project_key: 'mine' } }), 403)
      await expectRestError(await call('POST', '/access/api/v1/projects', { auth: null, json: { project_key: 'mine' } }), 401)
      const keys = ((await (await call('GET', '/access/api/v1/projects')).json()) as { project_key: string }[]).map((p) => p.project_key)
      expect(keys).toEqual(['rival', 'team'])
    })

    it('makes lead the Project Admin; roles must be the built-in ones', async () => {
      await expectRestError(await call('PUT', '/access/api/v1/projects/team/users/lead', { json: { roles: ['Owner'] } }), 400, /roles must be/, 'roles')
      await expectRestError(await call('PUT', '/access/api/v1/projects/team/users/ghost', { json: { roles: ['Viewer'] } }), 404, /ghost/)
      const res = await call('PUT', '/access/api/v1/projects/team/users/lead', { json: { roles: ['Project Admin'] } })
      expect(await res.json()).toEqual({ name: 'lead', roles: ['Project Admin'] })
      expect((await call('PUT', '/access/api/v1/projects/rival/users/rival', { json: { roles: ['Developer'] } })).status).toBe(200)
      // Members see their projects only.
      const seen = ((await (await call('GET', '/access/api/v1/projects', { auth: auth.lead })).json()) as { project_key: string }[]).map((p) => p.project_key)
      expect(seen).toEqual(['team'])
      await expectRestError(await call('GET', '/access/api/v1/projects/team', { auth: auth.rival }), 404)
    })
  })

  describe('2. the Project Admin runs the project', () => {
    it('creates, updates and deletes repositories of the project without being a system admin', async () => {
      const created = await call('PUT', '/artifactory/api/repositories/team-generic', { auth: auth.lead, json: { rclass: 'local', packageType: 'generic' } })
      expect(created.status, await created.clone().text()).toBe(200)
      expect(await (await call('GET', '/artifactory/api/repositories/team-generic', { auth: auth.lead })).json()).toMatchObject({ projectKey: 'team' })
      expect((await call('PUT', '/artifactory/api/repositories/team-npm', { auth: auth.lead, json: { rclass: 'local', packageType: 'npm', projectKey: 'team' } })).status).toBe(200)
      expect((await call('POST', '/artifactory/api/repositories/team-generic', { auth: auth.lead, json: { description: 'build outputs' } })).status).toBe(200)
      expect((await call('PUT', '/artifactory/api/repositories/team-scratch', { auth: auth.lead, json: { rclass: 'local', packageType: 'generic' } })).status).toBe(200)
      expect((await call('DELETE', '/artifactory/api/repositories/team-scratch', { auth: auth.lead })).status).toBe(200)
    })

    it('cannot touch repositories outside the project, move one, or name one against its project', async () => {
      await expectRestError(await call('PUT', '/artifactory/api/repositories/libs-generic', { auth: auth.lead, json: { rclass: 'local', packageType: 'generic' } }), 403, /manage/)
      await expectRestError(await call('PUT', '/artifactory/api/repositories/rival-generic', { auth: auth.lead, json: { rclass: 'local', packageType: 'generic' } }), 403)
      await expectRestError(
        await call('PUT', '/artifactory/api/repositories/team-odd', { auth: auth.lead, json: { rclass: 'local', packageType: 'generic', projectKey: 'rival' } }),
        400,
        /must be named 'rival-/,
      )
      await expectRestError(await call('POST', '/artifactory/api/repositories/team-generic', { auth: auth.lead, json: { projectKey: 'rival' } }), 400, /cannot be changed/, 'projectKey')
      expect((await call('GET', '/artifactory/api/repositories/team-odd')).status).toBe(404)
      expect((await call('PUT', '/artifactory/api/repositories/rival-generic', { json: { rclass: 'local', packageType: 'generic' } })).status).toBe(200)
    })

    it('adds a developer, a viewer and a service account; only Project Admins manage members', async () => {
      expect((await call('PUT', '/access/api/v1/projects/team/users/dev', { auth: auth.lead, json: { roles: ['Developer'] } })).status).toBe(200)
      expect((await call('PUT', '/access/api/v1/projects/team/users/viewer', { auth: auth.lead, json: { roles: ['Viewer'] } })).status).toBe(200)
      const sa = await call('PUT', '/access/api/v1/projects/team/service-accounts/team-ci', { auth: auth.lead, json: { roles: ['Contributor'] } })
      expect(sa.status, await sa.clone().text()).toBe(201)
      await expectRestError(await call('PUT', '/access/api/v1/projects/team/users/outsider', { auth: auth.dev, json: { roles: ['Viewer'] } }), 403, /Project Admin/)
      await expectRestError(await call('PUT', '/access/api/v1/projects/rival/service-accounts/team-ci', { json: { roles: ['Viewer'] } }), 409, /taken/)
      const members = (await (await call('GET', '/access/api/v1/projects/team/users', { auth: auth.dev })).json()) as { members: { name: string; roles: string[] }[] }
      expect(members.members).toEqual([
        { name: 'dev', roles: ['Developer'] },
        { name: 'lead', roles: ['Project Admin'] },
        { name: 'team-ci', roles: ['Contributor'] },
        { name: 'viewer', roles: ['Viewer'] },
      ])
    })
  })

  describe('3. service accounts act only through tokens', () => {
    let ciToken: string

    it('the Project Admin issues the service account a token, which pushes with curl-level PUT', async () => {
      await expectRestError(await call('POST', '/access/api/v1/tokens', { auth: auth.dev, json: { username: 'team-ci' } }), 403, /Project Admins/)
      ciToken = (await tokenFor(auth.lead!, { username: 'team-ci', description: 'ci' })).access_token
      expect((await put('team-generic/builds/1.txt', 'build one', bearer(ciToken))).status).toBe(201)
      // Contributor: no delete; nothing of another project.
      await expectRestError(await call('DELETE', '/artifactory/team-generic/builds/1.txt', { auth: bearer(ciToken) }), 403)
      await expectRestError(await put('rival-generic/x.txt', 'x', bearer(ciToken)), 403)
      // The token as the Basic password works too (docker login, twine, Maven).
      expect((await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: basicAuth('team-ci', ciToken) })).status).toBe(200)
    })

    it('is refused a password on every password path, with a clear message', async () => {
      await expectRestError(await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: basicAuth('team-ci', 'any-password-1') }), 401, /service account.*access tokens/)
      const login = await call('POST', '/api/v1/ui/login', { auth: null, json: { user: 'team-ci', password: 'any-password-1' } })
      expect(login.status).toBe(401)
      expect(await login.text()).toMatch(/service account/)
      const npm = await call('PUT', '/artifactory/api/npm/team-npm/-/user/org.couchdb.user:team-ci', { auth: null, json: { name: 'team-ci', password: 'any-password-1' } })
      expect(npm.status).toBe(401)
      expect(((await npm.json()) as { error: string }).error).toMatch(/service account/)
      await expectRestError(await call('POST', '/artifactory/api/security/users/team-ci', { json: { password: 'new-password-1' } }), 400, /service account/, 'password')
    })
  })

  describe('4. other projects and outsiders', () => {
    it('refuses a member of another project, an outsider and anonymous callers', async () => {
      for (const who of [auth.rival!, auth.outsider!]) {
        await expectRestError(await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: who }), 403)
        await expectRestError(await put('team-generic/evil.txt', 'evil', who), 403)
      }
      await expectRestError(await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: null }), 401)
      const listed = ((await (await call('GET', '/artifactory/api/repositories', { auth: auth.rival })).json()) as { key: string }[]).map((r) => r.key)
      expect(listed).toEqual(['rival-generic'])
    })

    it('shares a repository read-only with another project, then with all, and takes it back', async () => {
      await expectRestError(await call('PUT', '/access/api/v1/projects/_/share/repositories/team-generic/rival', { auth: auth.dev }), 403)
      expect((await call('PUT', '/access/api/v1/projects/_/share/repositories/team-generic/rival', { auth: auth.lead })).status).toBe(204)
      expect((await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: auth.rival })).status).toBe(200)
      await expectRestError(await put('team-generic/from-rival.txt', 'no', auth.rival!), 403)
      await expectRestError(await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: auth.outsider }), 403)
      expect((await call('PUT', '/access/api/v1/projects/_/share/repositories/team-generic', { auth: auth.lead })).status).toBe(204)
      expect((await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: auth.outsider })).status).toBe(200)
      expect(await (await call('GET', '/access/api/v1/projects/_/share/repositories/team-generic', { auth: auth.lead })).json()).toEqual({
        shared_with_all: true,
        target_projects: ['rival'],
      })
      expect((await call('DELETE', '/access/api/v1/projects/_/share/repositories/team-generic', { auth: auth.lead })).status).toBe(204)
      expect((await call('DELETE', '/access/api/v1/projects/_/share/repositories/team-generic/rival', { auth: auth.lead })).status).toBe(204)
      await expectRestError(await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: auth.rival }), 403)
      await expectRestError(await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: auth.outsider }), 403)
    })
  })

  describe('5. the quota', () => {
    it('counts usage, warns past 80%, refuses an oversized push with 413 naming project, quota and usage, and frees on delete', async () => {
      const used0 = (await project('team')).storage_used_bytes as number
      expect(used0).toBe('build one'.length)
      expect((await put('team-generic/big/a.bin', 'a'.repeat(6000), auth.dev!)).status).toBe(201)
      expect(await project('team')).toMatchObject({ storage_used_bytes: used0 + 6000, storage_quota_warning: false })

      const refused = await put('team-generic/big/b.bin', 'b'.repeat(5000), auth.dev!)
      await expectRestError(refused, 413, new RegExp(`project 'team' has a quota of 10000 bytes and uses ${used0 + 6000} bytes`))
      expect((await call('GET', '/artifactory/team-generic/big/b.bin')).status).toBe(404)

      // Without Content-Length (chunked), the commit refuses it.
      const chunked = await fetch(`${server.url}/artifactory/team-generic/big/c.bin`, {
        method: 'PUT',
        headers: { authorization: auth.dev! },
        body: new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('c'.repeat(5000))), c.close()) }),
        duplex: 'half',
      } as RequestInit)
      await expectRestError(chunked, 413, /storage quota exceeded: project 'team'/)
      expect((await call('GET', '/artifactory/team-generic/big/c.bin')).status).toBe(404)

      expect((await put('team-generic/big/d.bin', 'd'.repeat(2500), auth.dev!)).status).toBe(201)
      expect(await project('team')).toMatchObject({ storage_used_bytes: used0 + 8500, storage_quota_warning: true })
      const metrics = await (await call('GET', '/artifactory/api/v1/metrics')).text()
      expect(metrics).toMatch(/trove_project_storage_used_bytes\{project="team"\} 8509/)
      expect(metrics).toMatch(/trove_project_storage_quota_warning\{project="team"\} 1/)

      // Overwriting replaces the old size; deleting frees it at once.
      expect((await put('team-generic/big/d.bin', 'd'.repeat(1000), auth.dev!)).status).toBe(201)
      expect((await project('team')).storage_used_bytes).toBe(used0 + 7000)
      expect((await call('DELETE', '/artifactory/team-generic/big', { auth: auth.dev })).status).toBe(204)
      expect((await project('team')).storage_used_bytes).toBe(used0)
      expect((await put('team-generic/big/b.bin', 'b'.repeat(5000), auth.dev!)).status).toBe(201)
      expect((await call('DELETE', '/artifactory/team-generic/big/b.bin', { auth: auth.dev })).status).toBe(204)
    })

    it('refuses a container blob the quota has no room for before storing it, in the registry error shape', async () => {
      expect((await call('PUT', '/artifactory/api/repositories/team-docker', { auth: auth.lead, json: { rclass: 'local', packageType: 'docker', projectKey: 'team' } })).status).toBe(200)
      const content = new Uint8Array(20_000).fill(7)
      const hex = createHash('sha256').update(content).digest('hex')
      const expectQuotaRefusal = async (response: Response) => {
        expect(response.status).toBe(413)
        const body = (await response.json()) as { errors: { code: string; message: string }[] }
        expect(body.errors[0]).toMatchObject({ code: 'DENIED' })
        expect(body.errors[0]!.message).toMatch(/project 'team' has a quota of 10000 bytes/)
      }
      // A monolithic upload declares its length: refused before a byte is stored.
      await expectQuotaRefusal(await call('POST', `/v2/team-docker/app/blobs/uploads/?digest=sha256:${hex}`, { auth: auth.dev, body: content }))
      expect((await call('HEAD', `/v2/team-docker/app/blobs/sha256:${hex}`, { auth: auth.dev })).status).toBe(404)
      // So does a chunk: the session stays where it was, and can be cancelled.
      const started = await call('POST', '/v2/team-docker/app/blobs/uploads/', { auth: auth.dev })
      expect(started.status).toBe(202)
      const location = new URL(started.headers.get('location')!, server.url)
      const session = `${location.pathname}${location.search}`
      await expectQuotaRefusal(await call('PATCH', session, { auth: auth.dev, body: content, headers: { 'content-type': 'application/octet-stream' } }))
      const status = await call('GET', session, { auth: auth.dev })
      expect(status.status).toBe(204)
      expect(status.headers.get('range')).toBe('0-0')
      expect((await call('DELETE', session, { auth: auth.dev })).status).toBe(204)
      expect((await call('DELETE', '/artifactory/api/repositories/team-docker', { auth: auth.lead })).status).toBe(200)
    })

    it('stores at most the quota when parallel uploads together exceed it', async () => {
      expect((await call('POST', '/access/api/v1/projects', { json: { project_key: 'race', storage_quota_bytes: 10_000 } })).status).toBe(201)
      expect((await call('PUT', '/artifactory/api/repositories/race-generic', { json: { rclass: 'local', packageType: 'generic' } })).status).toBe(200)
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => put(`race-generic/part-${i}.bin`, String.fromCharCode(97 + i).repeat(2000), server.adminAuth).then((r) => r.status)),
      )
      const stored = results.filter((s) => s === 201).length
      expect(results.every((s) => s === 201 || s === 413)).toBe(true)
      expect(stored).toBe(5)
      expect((await project('race')).storage_used_bytes).toBe(stored * 2000)
      const files = (await (await call('GET', '/artifactory/api/storage/race-generic?list&deep=1')).json()) as { files: unknown[] }
      expect(files.files).toHaveLength(stored)
    })

    it('recounts usage when a whole repository goes, and lowers no usage for other projects', async () => {
      expect((await call('DELETE', '/artifactory/api/repositories/race-generic')).status).toBe(200)
      expect((await project('race')).storage_used_bytes).toBe(0)
      expect((await call('DELETE', '/access/api/v1/projects/race')).status).toBe(204)
    })
  })

  describe('6. tokens', () => {
    it('scopes: a roles scope narrows to that role; a token of an admin with a roles scope is no admin', async () => {
      const viewerScoped = (await tokenFor(auth.dev!, { scope: 'applied-permissions/roles:team:Viewer' })).access_token
      expect((await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: bearer(viewerScoped) })).status).toBe(200)
      await expectRestError(await put('team-generic/scoped.txt', 'x', bearer(viewerScoped)), 403)
      // Asking for more than the owner has gives no more than the owner has.
      const adminRole = (await tokenFor(auth.viewer!, { scope: 'applied-permissions/roles:team:"Project Admin"' })).access_token
      await expectRestError(await put('team-generic/by-viewer.txt', 'x', bearer(adminRole)), 403)
      const adminScoped = (await tokenFor(server.adminAuth, { scope: 'applied-permissions/roles:team:Viewer' })).access_token
      await expectRestError(await call('GET', '/artifactory/api/security/users', { auth: bearer(adminScoped) }), 403)
      await expectRestError(await call('POST', '/access/api/v1/tokens', { auth: auth.dev, json: { scope: 'applied-permissions/admin' } }), 400, /not an administrator/)
      await expectRestError(await call('POST', '/access/api/v1/tokens', { auth: auth.dev, json: { scope: 'everything' } }), 400, /unsupported scope/)
      await expectRestError(await call('POST', '/access/api/v1/tokens', { auth: auth.dev, json: { scope: 'applied-permissions/roles:team:Boss' } }), 400, /unknown role/)
    })

    it('never grants more than the owner has now', async () => {
      const token = (await tokenFor(auth.viewer!, {})).access_token
      expect((await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: bearer(token) })).status).toBe(200)
      expect((await call('DELETE', '/access/api/v1/projects/team/users/viewer', { auth: auth.lead })).status).toBe(204)
      await expectRestError(await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: bearer(token) }), 403)
      expect((await call('PUT', '/access/api/v1/projects/team/users/viewer', { auth: auth.lead, json: { roles: ['Viewer'] } })).status).toBe(200)
    })

    it('revocation takes effect on the next request; last use is recorded', async () => {
      const { access_token, token_id } = await tokenFor(auth.dev!, { description: 'short-lived' })
      expect((await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: bearer(access_token) })).status).toBe(200)
      const listed = (await (await call('GET', '/access/api/v1/tokens', { auth: auth.dev })).json()) as { tokens: { token_id: string; last_used?: number }[] }
      expect(listed.tokens.find((t) => t.token_id === token_id)?.last_used).toBeGreaterThan(0)
      expect((await call('DELETE', `/access/api/v1/tokens/${token_id}`, { auth: auth.dev })).status).toBe(200)
      await expectRestError(await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: bearer(access_token) }), 401, /invalid or expired/)
    })

    it('expires, within the maximum lifetime the admin sets', async () => {
      const short = (await tokenFor(auth.dev!, { expires_in: 1 })).access_token
      await new Promise((r) => setTimeout(r, 1100))
      await expectRestError(await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: bearer(short) }), 401, /expired/)

      await expectRestError(await call('PATCH', '/api/v1/system/access', { auth: auth.lead, json: { tokenMaxExpirySecs: 3600 } }), 403)
      await expectRestError(await call('PATCH', '/api/v1/system/access', { json: { tokenMaxExpirySecs: -1 } }), 400)
      expect(await (await call('PATCH', '/api/v1/system/access', { json: { tokenMaxExpirySecs: 3600 } })).json()).toEqual({
        tokenMaxExpirySecs: 3600,
        remoteReadableByAuthenticated: true,
      })
      await expectRestError(await call('POST', '/access/api/v1/tokens', { auth: auth.dev, json: { expires_in: 7200 } }), 400, /maximum token lifetime.*3600/)
      expect((await tokenFor(auth.dev!, {})).expires_in).toBe(3600)
      expect((await call('PATCH', '/api/v1/system/access', { json: { tokenMaxExpirySecs: 0 } })).status).toBe(200)
    })

    it('refreshes with grant_type=refresh_token (form-encoded, as Artifactory), once', async () => {
      const first = await tokenFor(auth.dev!, { refreshable: true, expires_in: 600, scope: 'applied-permissions/roles:team:Viewer' })
      expect(first.refresh_token).toMatch(/^trvr_/)
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token!, access_token: first.access_token }).toString()
      const res = await call('POST', '/access/api/v1/tokens', { auth: null, body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      expect(res.status, await res.clone().text()).toBe(200)
      const second = (await res.json()) as { access_token: string; refresh_token: string; expires_in: number; scope: string }
      expect(second).toMatchObject({ expires_in: 600, scope: 'applied-permissions/roles:team:Viewer' })
      expect((await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: bearer(second.access_token) })).status).toBe(200)
      await expectRestError(await call('GET', '/artifactory/team-generic/builds/1.txt', { auth: bearer(first.access_token) }), 401)
      const again = await call('POST', '/access/api/v1/tokens', { auth: null, body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      await expectRestError(again, 401, /refresh token is invalid or was already used/)
    })
  })

  describe('7. groups and permission targets (repositories outside projects)', () => {
    it('grants a group read on matching paths only; membership changes take effect at once', async () => {
      expect((await call('PUT', '/artifactory/api/repositories/libs-generic', { json: { rclass: 'local', packageType: 'generic' } })).status).toBe(200)
      expect((await put('libs-generic/public/a.txt', 'public', server.adminAuth)).status).toBe(201)
      expect((await put('libs-generic/private/b.txt', 'private', server.adminAuth)).status).toBe(201)
      await expectRestError(await call('PUT', '/artifactory/api/security/groups/readers', { json: { userNames: ['nobody-here'] } }), 400, /no such user/)
      expect((await call('PUT', '/artifactory/api/security/groups/readers', { json: { description: 'readers', userNames: ['outsider'] } })).status).toBe(201)
      expect(await (await call('GET', '/artifactory/api/security/groups/readers')).json()).toMatchObject({ name: 'readers', userNames: ['outsider'] })

      const target = {
        name: 'libs-readers',
        repo: { repositories: ['libs-generic'], 'include-patterns': ['public/**'], 'exclude-patterns': [], actions: { groups: { readers: ['read'] }, users: { dev: ['read', 'write'] } } },
      }
      await expectRestError(await call('POST', '/artifactory/api/v2/security/permissions/libs-readers', { json: { ...target, repo: { ...target.repo, actions: { users: { dev: ['fly'] } } } } }), 400, /unknown action 'fly'/)
      await expectRestError(await call('POST', '/artifactory/api/v2/security/permissions/libs-readers', { json: { name: 'libs-readers' } }), 400, /repo/)
      expect((await call('GET', '/artifactory/api/v2/security/permissions/libs-readers')).status).toBe(404)
      expect((await call('POST', '/artifactory/api/v2/security/permissions/libs-readers', { json: target })).status).toBe(201)
      expect(await (await call('GET', '/artifactory/api/v2/security/permissions/libs-readers')).json()).toEqual(target)

      expect((await call('GET', '/artifactory/libs-generic/public/a.txt', { auth: auth.outsider })).status).toBe(200)
      await expectRestError(await call('GET', '/artifactory/libs-generic/private/b.txt', { auth: auth.outsider }), 403)
      await expectRestError(await put('libs-generic/public/c.txt', 'c', auth.outsider!), 403)
      expect((await put('libs-generic/public/c.txt', 'c', auth.dev!)).status).toBe(201)
      await expectRestError(await put('libs-generic/private/c.txt', 'c', auth.dev!), 403)
      // A groups-scoped token keeps only what comes through the group.
      const groupsToken = (await tokenFor(auth.outsider!, { scope: 'applied-permissions/groups:readers' })).access_token
      expect((await call('GET', '/artifactory/libs-generic/public/a.txt', { auth: bearer(groupsToken) })).status).toBe(200)

      expect((await call('POST', '/artifactory/api/security/groups/readers', { json: { userNames: [] } })).status).toBe(200)
      await expectRestError(await call('GET', '/artifactory/libs-generic/public/a.txt', { auth: auth.outsider }), 403)
      await expectRestError(await call('GET', '/artifactory/libs-generic/public/a.txt', { auth: bearer(groupsToken) }), 403)
      // `manage` in a permission target does not let anyone reconfigure the repository.
      expect((await call('PUT', '/artifactory/api/v2/security/permissions/libs-readers', { json: { ...target, repo: { ...target.repo, actions: { users: { dev: ['manage'] } } } } })).status).toBe(200)
      await expectRestError(await call('DELETE', '/artifactory/api/repositories/libs-generic', { auth: auth.dev }), 403)
      expect((await call('DELETE', '/artifactory/api/v2/security/permissions/libs-readers')).status).toBe(200)
      await expectRestError(await call('DELETE', '/artifactory/api/v2/security/permissions/libs-readers'), 404)
    })

    it('lets every logged-in user read remote repositories outside projects, by a global setting', async () => {
      const created = await call('PUT', '/artifactory/api/repositories/cache-remote', { json: { rclass: 'remote', packageType: 'generic', url: 'http://127.0.0.1:9/' } })
      expect(created.status, await created.clone().text()).toBe(200)
      expect((await call('GET', '/artifactory/api/repositories/cache-remote', { auth: auth.outsider })).status).toBe(200)
      await expectRestError(await call('GET', '/artifactory/api/repositories/cache-remote', { auth: null }), 401)
      expect((await call('PATCH', '/api/v1/system/access', { json: { remoteReadableByAuthenticated: false } })).status).toBe(200)
      await expectRestError(await call('GET', '/artifactory/api/repositories/cache-remote', { auth: auth.outsider }), 403)
      expect((await call('PATCH', '/api/v1/system/access', { json: { remoteReadableByAuthenticated: true } })).status).toBe(200)
    })
  })

  describe('8. deleting', () => {
    it('refuses to delete a project that still has repositories; deletes its service accounts with it', async () => {
      await expectRestError(await call('DELETE', '/access/api/v1/projects/team'), 409, /team-generic/)
      for (const key of ['team-generic', 'team-npm']) expect((await call('DELETE', `/artifactory/api/repositories/${key}`, { auth: auth.lead })).status).toBe(200)
      expect((await call('DELETE', '/access/api/v1/projects/team')).status).toBe(204)
      expect((await call('GET', '/artifactory/api/security/users/team-ci')).status).toBe(404)
    })
  })
})
