import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createRepository, createUser, expectRestError, expectRestErrors, type ApiCall } from './admin-http.js'

const backends = await metadataBackends()

describe.each(backends)('repositories REST API (%s)', (backend) => {
  let server: TestServer
  let call: ApiCall
  /** Basic credentials of a user with no grant anywhere, and of one who gets grants per test. */
  let nobody: string
  let alice: string

  beforeAll(async () => {
    server = await startTestServer({ backend })
    call = apiClient(server)
    nobody = await createUser(call, 'nobody')
    alice = await createUser(call, 'alice')
  })

  afterAll(async () => {
    await server?.close()
  })

  const repoPath = (key: string) => `/artifactory/api/repositories/${key}`
  const grant = async (key: string, user: string, actions: string[]) => {
    const res = await call('PUT', `/api/v1/repositories/${key}/grants/${user}`, { json: { actions } })
    expect(res.status, await res.clone().text()).toBe(200)
  }
  const deploy = (key: string, path: string, auth?: string | null, body = `content of ${path}`) =>
    call('PUT', `/artifactory/${key}/${path}`, { auth, body, headers: { 'content-type': 'application/octet-stream' } })

  describe('create and read', () => {
    it('creates a repository and echoes its fields with defaults, keeping unknown fields', async () => {
      const res = await call('PUT', repoPath('echo-local'), {
        json: {
          key: 'echo-local',
          rclass: 'local',
          packageType: 'generic',
          description: 'build outputs',
          notes: 'owned by the platform team',
          xrayIndex: true,
          propertySets: ['artifactory'],
          customSettings: { nested: { depth: 2 }, list: [1, 'two'] },
        },
      })
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('echo-local')

      const got = await call('GET', repoPath('echo-local'))
      expect(got.status).toBe(200)
      expect(got.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await got.json()).toEqual({
        key: 'echo-local',
        rclass: 'local',
        packageType: 'generic',
        description: 'build outputs',
        notes: 'owned by the platform team',
        includesPattern: '**/*',
        excludesPattern: '',
        xrayIndex: true,
        propertySets: ['artifactory'],
        customSettings: { nested: { depth: 2 }, list: [1, 'two'] },
      })
    })

    it('accepts rclass and packageType in any case and stores them in lower case', async () => {
      await createRepository(call, 'upper-local', { rclass: 'LOCAL', packageType: 'Generic' })
      const body = (await (await call('GET', repoPath('upper-local'))).json()) as Record<string, unknown>
      expect(body).toMatchObject({ key: 'upper-local', rclass: 'local', packageType: 'generic' })
    })

    it('accepts a body without a key (the URL names it)', async () => {
      const res = await call('PUT', repoPath('keyless-local'), { json: { rclass: 'local', packageType: 'generic' } })
      expect(res.status).toBe(200)
      expect(await (await call('GET', repoPath('keyless-local'))).json()).toMatchObject({ key: 'keyless-local' })
    })

    it('never returns a stored password', async () => {
      await createRepository(call, 'secret-local', { username: 'ci', password: 'upstream-secret' })
      const body = (await (await call('GET', repoPath('secret-local'))).json()) as Record<string, unknown>
      expect(body.username).toBe('ci')
      expect(body).not.toHaveProperty('password')
      expect(JSON.stringify(body)).not.toContain('upstream-secret')
    })

    it('answers 404 with a REST error for a repository that does not exist', async () => {
      const [error] = await expectRestErrors(await call('GET', repoPath('no-such-repo')), 404, 1)
      expect(error).toEqual({ status: 404, code: 'NOT_FOUND', message: expect.stringMatching(/no-such-repo/) })
    })
  })

  describe('refusals', () => {
    const put = (key: string, json: unknown) => call('PUT', repoPath(key), { json })
    const base = (key: string) => ({ key, rclass: 'local', packageType: 'generic' })

    /** Refused with 400, a message matching `message` and the `field` at fault; nothing was created. */
    async function refused(key: string, json: unknown, message: RegExp, field: string | null): Promise<void> {
      await expectRestError(await put(key, json), 400, message, field)
      expect((await call('GET', repoPath(key))).status).toBe(404)
    }

    it('refuses an unknown rclass', async () => {
      await refused('bad-rclass', { ...base('bad-rclass'), rclass: 'bogus' }, /rclass/, 'rclass')
    })

    it('refuses a missing rclass or packageType', async () => {
      await refused('no-rclass', { key: 'no-rclass', packageType: 'generic' }, /rclass/, 'rclass')
      await refused('no-type', { key: 'no-type', rclass: 'local' }, /packageType/, 'packageType')
    })

    it.each(['bogus', 'not-a-format'])('refuses the unsupported packageType %s, naming what is supported', async (packageType) => {
      const key = `unsupported-${packageType}`
      await refused(key, { ...base(key), packageType }, new RegExp(`packageType '${packageType}' is not supported.*generic`), 'packageType')
    })

    it('refuses members on a repository that is not federated, and a member that is not the same-named repository', async () => {
      // Federated repositories themselves: test/federation/.
      await refused('generic-members', { ...base('generic-members'), members: [{ url: 'http://127.0.0.1:9/artifactory/generic-members' }] }, /only a federated repository has members/, 'members')
      await refused('generic-fed', { ...base('generic-fed'), rclass: 'federated', members: [{ url: 'http://127.0.0.1:9/artifactory/other' }] }, /must end with \/artifactory\/generic-fed/, 'members[0].url')
    })

    it.each([
      ['offline', 'yes'],
      ['description', 42],
      ['includesPattern', ['**/*']],
      ['anonymousRead', 'true'],
      ['retrievalCachePeriodSecs', -1],
      ['retrievalCachePeriodSecs', 1.5],
      ['repositories', 'a,b'],
      ['url', 'ftp://127.0.0.1/'],
    ])('refuses %s = %j, naming the field', async (field, value) => {
      const key = `wrong-${field.toLowerCase()}`
      await refused(key, { ...base(key), [field]: value }, new RegExp(`${field}:`), field)
    })

    it('names the element of a list at fault by its JSON path', async () => {
      await refused('wrong-member', { ...base('wrong-member'), repositories: ['fine', 7] }, /^repositories\[1\]: /, 'repositories[1]')
    })

    it('refuses a remote repository without an upstream url, naming the url field', async () => {
      await refused('no-url', { ...base('no-url'), rclass: 'remote' }, /url/, 'url')
    })

    it('refuses an upstream on a private address (not allowed here), naming the url field', async () => {
      await refused('private-url', { ...base('private-url'), rclass: 'remote', url: 'http://10.1.2.3/' }, /private/, 'url')
    })

    it('lists several wrong fields at once, one error entry each with its field', async () => {
      const errors = await expectRestErrors(await put('many-wrong', { ...base('many-wrong'), offline: 'yes', description: 1 }), 400, 2)
      expect(errors.map((e) => e.field).sort()).toEqual(['description', 'offline'])
      for (const error of errors) expect(error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(new RegExp(`^${error.field}: `)) })
    })

    it('refuses virtual members that do not fit, naming the member by its index', async () => {
      await createRepository(call, 'member-local')
      const virtual = (repositories: string[], extra: Record<string, unknown> = {}) => ({ ...base('v-members'), rclass: 'virtual', repositories, ...extra })
      await refused('v-members', virtual(['member-local', 'no-such-member']), /'no-such-member' does not exist/, 'repositories[1]')
      await refused('v-members', virtual(['v-members']), /cannot contain itself/, 'repositories[0]')
      await refused('v-members', virtual(['member-local'], { defaultDeploymentRepo: 'elsewhere' }), /defaultDeploymentRepo/, 'defaultDeploymentRepo')
    })

    it('refuses a key in the body that differs from the key in the URL', async () => {
      await refused('url-key', base('body-key'), /body-key.*url-key|url-key.*body-key/, 'key')
      expect((await call('GET', repoPath('body-key'))).status).toBe(404)
    })

    it.each([
      ['Upper-Case', 'upper case'],
      ['-leading-dash', 'leading dash'],
      ['x', 'too short'],
      ['a'.repeat(65), 'too long'],
      ['has%20space', 'space'],
      ['api', 'reserved'],
    ])('refuses the invalid key %s (%s)', async (key) => {
      const res = await put(key, { rclass: 'local', packageType: 'generic' })
      const [error] = await expectRestErrors(res, 400, 1)
      expect(error).toMatchObject({ code: 'NAME_INVALID', field: 'key', message: expect.stringMatching(/key/) })
    })

    it('refuses a body that is not a JSON object', async () => {
      await expectRestError(await put('array-body', [base('array-body')]), 400, /JSON object/, null)
      await expectRestError(await call('PUT', repoPath('text-body'), { body: '{"key":', headers: { 'content-type': 'application/json' } }), 400)
      expect((await call('GET', repoPath('text-body'))).status).toBe(404)
    })

    it('refuses patterns with a leading slash', async () => {
      await refused('slash-pattern', { ...base('slash-pattern'), includesPattern: 'a/**,/etc/**' }, /includesPattern/, 'includesPattern')
    })

    it('refuses to create a repository twice with 409, keeping the first', async () => {
      await createRepository(call, 'twice-local', { description: 'first' })
      const [error] = await expectRestErrors(await put('twice-local', { ...base('twice-local'), description: 'second' }), 409, 1)
      expect(error).toMatchObject({ code: 'CONFLICT', field: 'key', message: expect.stringMatching(/already exists/) })
      expect(await (await call('GET', repoPath('twice-local'))).json()).toMatchObject({ description: 'first' })
    })
  })

  describe('partial update (POST)', () => {
    it('changes the fields given and keeps the others, unknown ones included', async () => {
      await createRepository(call, 'update-local', { description: 'before', includesPattern: 'a/**', customField: 'kept' })
      const res = await call('POST', repoPath('update-local'), { json: { description: 'after', another: 1 } })
      expect(res.status, await res.clone().text()).toBe(200)
      expect(await (await call('GET', repoPath('update-local'))).json()).toEqual({
        key: 'update-local',
        rclass: 'local',
        packageType: 'generic',
        description: 'after',
        includesPattern: 'a/**',
        excludesPattern: '',
        customField: 'kept',
        another: 1,
      })
    })

    it('cannot change rclass or packageType, but may repeat them', async () => {
      await createRepository(call, 'fixed-local')
      await expectRestError(await call('POST', repoPath('fixed-local'), { json: { rclass: 'virtual' } }), 400, /rclass cannot be changed/, 'rclass')
      await expectRestError(await call('POST', repoPath('fixed-local'), { json: { packageType: 'maven' } }), 400, /packageType cannot be changed/, 'packageType')
      const same = await call('POST', repoPath('fixed-local'), { json: { rclass: 'LOCAL', packageType: 'generic', description: 'same class' } })
      expect(same.status).toBe(200)
      expect(await (await call('GET', repoPath('fixed-local'))).json()).toMatchObject({ rclass: 'local', packageType: 'generic', description: 'same class' })
    })

    it('refuses wrong fields and a different key, changing nothing', async () => {
      await createRepository(call, 'strict-local', { description: 'unchanged' })
      await expectRestError(await call('POST', repoPath('strict-local'), { json: { offline: 'yes', description: 'changed' } }), 400, /offline/)
      await expectRestError(await call('POST', repoPath('strict-local'), { json: { key: 'other-key', description: 'changed' } }), 400, /other-key/)
      await expectRestError(await call('POST', repoPath('strict-local'), { json: ['description'] }), 400, /JSON object/)
      expect(await (await call('GET', repoPath('strict-local'))).json()).toMatchObject({ key: 'strict-local', description: 'unchanged' })
      expect((await call('GET', repoPath('other-key'))).status).toBe(404)
    })

    it('answers 404 for a repository that does not exist', async () => {
      await expectRestError(await call('POST', repoPath('never-created'), { json: { description: 'x' } }), 404, /never-created/)
      expect((await call('GET', repoPath('never-created'))).status).toBe(404)
    })
  })

  describe('listing', () => {
    beforeAll(async () => {
      await createRepository(call, 'list-a', { description: 'first listed' })
      await createRepository(call, 'list-b')
      await createRepository(call, 'list-public', { anonymousRead: true })
      await grant('list-b', 'alice', ['read'])
    })

    type Entry = { key: string; type: string; description: string; url: string; packageType: string }
    const list = async (query = '', auth?: string | null): Promise<Entry[]> => {
      const res = await call('GET', `/artifactory/api/repositories${query}`, { auth })
      expect(res.status, await res.clone().text()).toBe(200)
      return (await res.json()) as Entry[]
    }
    const keys = (entries: Entry[]) => entries.map((e) => e.key)

    it('lists every repository to the admin, in the Artifactory shape', async () => {
      const entries = await list()
      expect(keys(entries)).toEqual(expect.arrayContaining(['list-a', 'list-b', 'list-public']))
      expect(entries.find((e) => e.key === 'list-a')).toEqual({
        key: 'list-a',
        type: 'LOCAL',
        description: 'first listed',
        url: `${server.url}/artifactory/list-a`,
        packageType: 'generic',
      })
      expect(keys(entries)).toEqual([...keys(entries)].sort())
    })

    it('filters by type and packageType, in any case', async () => {
      const all = keys(await list())
      expect(keys(await list('?type=LOCAL'))).toEqual(all)
      expect(keys(await list('?type=local'))).toEqual(all)
      expect(await list('?type=REMOTE')).toEqual([])
      expect(await list('?type=VIRTUAL')).toEqual([])
      expect(keys(await list('?packageType=generic'))).toEqual(all)
      expect(keys(await list('?type=LOCAL&packageType=GENERIC'))).toEqual(all)
      expect(await list('?packageType=maven')).toEqual([])
      expect(await list('?type=LOCAL&packageType=docker')).toEqual([])
    })

    it('shows a user only the repositories they may read', async () => {
      expect(keys(await list('', alice))).toEqual(['list-b', 'list-public'])
      expect(keys(await list('?type=LOCAL', alice))).toEqual(['list-b', 'list-public'])
      expect(keys(await list('', nobody))).toEqual(['list-public'])
    })

    it('shows anonymous callers only repositories open to anonymous read', async () => {
      expect(keys(await list('', null))).toEqual(['list-public'])
    })
  })

  describe('includes and excludes patterns on deploy', () => {
    it('refuses paths outside includesPattern or inside excludesPattern with 403', async () => {
      await createRepository(call, 'patterns-local', { includesPattern: 'allowed/**,docs/*.md', excludesPattern: '**/*.tmp' })
      expect((await deploy('patterns-local', 'allowed/a/b.bin')).status).toBe(201)
      expect((await deploy('patterns-local', 'docs/readme.md')).status).toBe(201)
      await expectRestError(await deploy('patterns-local', 'other/b.bin'), 403, /not allowed.*patterns/)
      await expectRestError(await deploy('patterns-local', 'docs/deep/readme.md'), 403, /not allowed/)
      await expectRestError(await deploy('patterns-local', 'allowed/x.tmp'), 403, /not allowed/)
      // Nothing of the refused deploys is stored.
      expect((await call('GET', '/artifactory/patterns-local/other/b.bin')).status).toBe(404)
      expect((await call('GET', '/artifactory/patterns-local/allowed/x.tmp')).status).toBe(404)
      expect((await call('GET', '/artifactory/patterns-local/allowed/a/b.bin')).status).toBe(200)
    })

    it('applies a changed pattern at once', async () => {
      await createRepository(call, 'repattern-local', { includesPattern: 'only/**' })
      expect((await deploy('repattern-local', 'free/a.bin')).status).toBe(403)
      expect((await call('POST', repoPath('repattern-local'), { json: { includesPattern: '**/*', excludesPattern: 'only/**' } })).status).toBe(200)
      expect((await deploy('repattern-local', 'free/a.bin')).status).toBe(201)
      expect((await deploy('repattern-local', 'only/a.bin')).status).toBe(403)
    })
  })

  describe('delete', () => {
    it('removes the repository and its artifacts; a new one with the same key starts empty', async () => {
      await createRepository(call, 'doomed-local')
      expect((await deploy('doomed-local', 'a/b/c.txt')).status).toBe(201)
      expect((await deploy('doomed-local', 'top.txt')).status).toBe(201)
      await grant('doomed-local', 'alice', ['read', 'deploy'])

      const res = await call('DELETE', repoPath('doomed-local'))
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('doomed-local')

      await expectRestError(await call('GET', repoPath('doomed-local')), 404)
      await expectRestError(await call('GET', '/artifactory/doomed-local/a/b/c.txt'), 404)
      await expectRestError(await call('GET', '/artifactory/api/storage/doomed-local/a/b/c.txt'), 404)
      const listed = (await (await call('GET', '/artifactory/api/repositories')).json()) as { key: string }[]
      expect(listed.map((r) => r.key)).not.toContain('doomed-local')
      const search = (await (await call('GET', '/artifactory/api/search/artifact?name=c.txt')).json()) as { results: { uri: string }[] }
      expect(search.results.map((r) => r.uri).join()).not.toContain('doomed-local')

      await createRepository(call, 'doomed-local')
      expect((await call('GET', '/artifactory/doomed-local/a/b/c.txt')).status).toBe(404)
      expect((await call('GET', '/artifactory/doomed-local/top.txt')).status).toBe(404)
      expect(await (await call('GET', '/api/v1/repositories/doomed-local/grants')).json()).toEqual({ grants: [] })
      expect((await deploy('doomed-local', 'top.txt', alice)).status).toBe(403)
    })

    it('answers 404 for a repository that does not exist', async () => {
      await expectRestError(await call('DELETE', repoPath('never-there')), 404, /never-there/)
    })
  })

  describe('access', () => {
    beforeAll(async () => {
      await createRepository(call, 'guarded-local', { description: 'guarded' })
    })

    it('refuses configuration changes by non-admins with 403', async () => {
      await expectRestError(await call('PUT', repoPath('mine-local'), { auth: nobody, json: { rclass: 'local', packageType: 'generic' } }), 403)
      await expectRestError(await call('POST', repoPath('guarded-local'), { auth: nobody, json: { description: 'hijacked' } }), 403)
      await expectRestError(await call('DELETE', repoPath('guarded-local'), { auth: nobody }), 403)
      // Even a user with every action on the repository manages it only through the admin.
      await grant('guarded-local', 'alice', ['read', 'deploy', 'delete', 'annotate', 'manage'])
      await expectRestError(await call('DELETE', repoPath('guarded-local'), { auth: alice }), 403)
      expect((await call('GET', repoPath('mine-local'))).status).toBe(404)
      expect(await (await call('GET', repoPath('guarded-local'))).json()).toMatchObject({ description: 'guarded' })
    })

    it('refuses anonymous configuration calls with 401', async () => {
      await expectRestError(await call('PUT', repoPath('anon-local'), { auth: null, json: { rclass: 'local', packageType: 'generic' } }), 401)
      await expectRestError(await call('POST', repoPath('guarded-local'), { auth: null, json: { description: 'x' } }), 401)
      await expectRestError(await call('DELETE', repoPath('guarded-local'), { auth: null }), 401)
      await expectRestError(await call('GET', repoPath('guarded-local'), { auth: null }), 401)
      expect((await call('GET', repoPath('anon-local'))).status).toBe(404)
    })

    it('shows a configuration to users who may read the repository', async () => {
      await createRepository(call, 'readable-local', { description: 'readable' })
      await expectRestError(await call('GET', repoPath('readable-local'), { auth: nobody }), 403)
      await grant('readable-local', 'nobody', ['read'])
      const res = await call('GET', repoPath('readable-local'), { auth: nobody })
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ key: 'readable-local', description: 'readable' })
      const removed = await call('DELETE', '/api/v1/repositories/readable-local/grants/nobody')
      expect(removed.status).toBe(204)
    })

    it('lets anonymous callers read a repository open to anonymous read, and nothing more', async () => {
      await createRepository(call, 'anon-read-local', { anonymousRead: true })
      expect((await deploy('anon-read-local', 'pub.txt')).status).toBe(201)
      expect((await call('GET', repoPath('anon-read-local'), { auth: null })).status).toBe(200)
      const file = await call('GET', '/artifactory/anon-read-local/pub.txt', { auth: null })
      expect(file.status).toBe(200)
      expect(await file.text()).toBe('content of pub.txt')
      await expectRestError(await deploy('anon-read-local', 'other.txt', null), 401)
      await expectRestError(await call('DELETE', '/artifactory/anon-read-local/pub.txt', { auth: null }), 401)
      // Turned off again: anonymous callers are asked to log in.
      expect((await call('POST', repoPath('anon-read-local'), { json: { anonymousRead: false } })).status).toBe(200)
      await expectRestError(await call('GET', '/artifactory/anon-read-local/pub.txt', { auth: null }), 401)
    })
  })

  describe('grants API', () => {
    const grantsPath = (key: string, user?: string) => `/api/v1/repositories/${key}/grants${user ? `/${user}` : ''}`

    it('grants, lists, changes and removes per-user actions, which the deploy and download routes honour', async () => {
      await createUser(call, 'carol')
      const carol = `Basic ${Buffer.from('carol:carol-password-1').toString('base64')}`
      await createRepository(call, 'granted-local')
      expect((await deploy('granted-local', 'seed.txt')).status).toBe(201)

      // 1. No grant: carol may neither read nor deploy.
      expect(await (await call('GET', grantsPath('granted-local'))).json()).toEqual({ grants: [] })
      await expectRestError(await call('GET', '/artifactory/granted-local/seed.txt', { auth: carol }), 403, /carol/)
      await expectRestError(await deploy('granted-local', 'carol.txt', carol), 403)

      // 2. Read only.
      const res = await call('PUT', grantsPath('granted-local', 'carol'), { json: { actions: ['read'] } })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ grants: [{ user: 'carol', actions: ['read'] }] })
      expect((await call('GET', '/artifactory/granted-local/seed.txt', { auth: carol })).status).toBe(200)
      await expectRestError(await deploy('granted-local', 'carol.txt', carol), 403, /deploy/)

      // 3. Read and deploy: a new file deploys, replacing an existing one needs delete too.
      await grant('granted-local', 'carol', ['read', 'deploy', 'read'])
      expect(await (await call('GET', grantsPath('granted-local'))).json()).toEqual({ grants: [{ user: 'carol', actions: ['read', 'deploy'] }] })
      expect((await deploy('granted-local', 'carol.txt', carol)).status).toBe(201)
      await expectRestError(await deploy('granted-local', 'seed.txt', carol), 403, /delete/)
      await expectRestError(await call('DELETE', '/artifactory/granted-local/carol.txt', { auth: carol }), 403)

      // 4. Removed: back to nothing.
      expect((await call('DELETE', grantsPath('granted-local', 'carol'))).status).toBe(204)
      await expectRestError(await call('GET', '/artifactory/granted-local/carol.txt', { auth: carol }), 403)
      await expectRestError(await call('DELETE', grantsPath('granted-local', 'carol')), 404)
      expect(await (await call('GET', grantsPath('granted-local'))).json()).toEqual({ grants: [] })
    })

    it('refuses bad grants with clear messages', async () => {
      await createRepository(call, 'badgrant-local')
      await expectRestError(await call('PUT', grantsPath('badgrant-local', 'alice'), { json: { actions: ['read', 'fly'] } }), 400, /fly/)
      await expectRestError(await call('PUT', grantsPath('badgrant-local', 'alice'), { json: { actions: [] } }), 400, /non-empty/)
      await expectRestError(await call('PUT', grantsPath('badgrant-local', 'alice'), { json: {} }), 400, /actions/)
      await expectRestError(await call('PUT', grantsPath('badgrant-local', 'ghost'), { json: { actions: ['read'] } }), 404, /ghost/)
      await expectRestError(await call('PUT', grantsPath('no-such-repo', 'alice'), { json: { actions: ['read'] } }), 404, /no-such-repo/)
      await expectRestError(await call('GET', grantsPath('no-such-repo')), 404, /no-such-repo/)
      expect(await (await call('GET', grantsPath('badgrant-local'))).json()).toEqual({ grants: [] })
    })

    it('is for admins only', async () => {
      await createRepository(call, 'admingrant-local')
      await grant('admingrant-local', 'alice', ['read', 'manage'])
      await expectRestError(await call('GET', grantsPath('admingrant-local'), { auth: alice }), 403)
      await expectRestError(await call('PUT', grantsPath('admingrant-local', 'nobody'), { auth: alice, json: { actions: ['read'] } }), 403)
      await expectRestError(await call('DELETE', grantsPath('admingrant-local', 'alice'), { auth: alice }), 403)
      await expectRestError(await call('GET', grantsPath('admingrant-local'), { auth: null }), 401)
      await expectRestError(await call('PUT', grantsPath('admingrant-local', 'nobody'), { auth: null, json: { actions: ['read'] } }), 401)
      expect(await (await call('GET', grantsPath('admingrant-local'))).json()).toEqual({ grants: [{ user: 'alice', actions: ['read', 'manage'] }] })
    })
  })
})
