/**
 * Browsing (the storage API, its listings and the quick searches, as the console calls them) for
 * callers whose read access comes from a permission target, a group or a project role, on local,
 * remote (with a cached file) and virtual repositories; and what a virtual repository shows: the
 * merged contents of the members the caller may read, first member first (issue #13, items 7, 8).
 *
 * The cast: `pt-user` reads through a permission target naming them, `grp-user` through one naming
 * their group, `proj-user` as a Viewer of project `team`, `pattern-user` only `public/**` of
 * `libs-local`, `outsider` nothing. Remote repositories are not readable by every logged-in user
 * here (the global switch is off), so each right comes from the source under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createRepository, createUser, deploy, digestsOf, expectRestError, grant, type HttpResponse } from './generic-support.js'
import { createRemote, sendBody, startUpstream, type FakeUpstream } from './remote-support.js'

const backends = await metadataBackends()

const ALLOW_LOOPBACK = { remote: { allowedUpstreamHosts: ['127.0.0.1'] } }

/** What the upstream of both remote repositories serves. */
const UPSTREAM_FILES: Readonly<Record<string, string>> = {
  '/pub/cached.txt': 'cached from the upstream',
  '/shared/same.txt': 'shared, from the upstream',
  '/pub/never-pulled.txt': 'never pulled',
}

const PASSWORD = 'browse-password-1'
const USERS = ['pt-user', 'grp-user', 'proj-user', 'pattern-user', 'outsider', 'virtual-only', 'member-only'] as const
type User = (typeof USERS)[number]

describe.each(backends)('browsing with every source of read access (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let upstream: FakeUpstream
  const as = (user: User) => admin.as(basicAuth(user, PASSWORD))
  const storage = (client: Client, repoPath: string, query = '') => client.get(`/artifactory/api/storage/${repoPath}${query}`)
  const childrenOf = (response: HttpResponse) =>
    (response.json().children as { uri: string; folder: boolean }[]).map((c) => `${c.uri.slice(1)}${c.folder ? '/' : ''}`).sort()
  const listed = (response: HttpResponse) => (response.json().files as { uri: string }[]).map((f) => f.uri).sort()
  const found = (response: HttpResponse) => (response.json().results as { uri: string }[]).map((r) => r.uri.slice(`${server.url}/artifactory/api/storage/`.length)).sort()

  beforeAll(async () => {
    upstream = await startUpstream((request, response) => {
      const body = UPSTREAM_FILES[(request.url ?? '').split('?')[0]!]
      if (body === undefined) sendBody(response, 'not here', {}, 404)
      else sendBody(response, body, { 'content-type': 'text/plain' })
    })
    server = await startTestServer({ backend, settings: ALLOW_LOOPBACK })
    admin = new Client(server.url, server.adminAuth)
    for (const user of USERS) await createUser(admin, user, PASSWORD)
    const access = await admin.request('PATCH', '/api/v1/system/access', { body: { remoteReadableByAuthenticated: false } })
    expect(access.status, access.text).toBe(200)

    // Outside projects: a local, a remote, a local nobody but the admin reads, and virtuals over them.
    await createRepository(admin, 'libs-local')
    await createRemote(admin, 'libs-remote', upstream.url, { anonymousRead: false })
    await createRepository(admin, 'hidden-local')
    await createRepository(admin, 'extra-local')
    await createRepository(admin, 'libs-virtual', { rclass: 'virtual', repositories: ['libs-local', 'hidden-local', 'libs-remote'] })
    // Nested: the inner virtual's members come first, then one of them again (seen once), then its own.
    await createRepository(admin, 'libs-outer', { rclass: 'virtual', repositories: ['libs-virtual', 'libs-local', 'extra-local'] })
    await deploy(admin, 'libs-local/public/a.txt', 'public a')
    await deploy(admin, 'libs-local/private/b.txt', 'private b')
    await deploy(admin, 'libs-local/root.txt', 'at the root')
    await deploy(admin, 'libs-local/shared/same.txt', 'shared, from the local repository')
    await deploy(admin, 'hidden-local/secret/hidden.txt', 'hidden')
    await deploy(admin, 'hidden-local/shared/only-hidden.txt', 'hidden too')
    await deploy(admin, 'extra-local/extra/e.txt', 'extra')
    for (const path of ['pub/cached.txt', 'shared/same.txt']) expect((await admin.get(`/artifactory/libs-remote/${path}`)).status).toBe(200)

    // A permission target for a user and a group (the default include pattern, `**`), one with a pattern.
    const group = await admin.put('/artifactory/api/security/groups/browsers', { body: { userNames: ['grp-user'] } })
    expect(group.status, group.text).toBe(201)
    const target = (name: string, repo: Record<string, unknown>) => admin.post(`/artifactory/api/v2/security/permissions/${name}`, { body: { name, repo } })
    const readers = await target('libs-readers', {
      repositories: ['libs-local', 'libs-remote', 'libs-virtual', 'libs-outer', 'extra-local'],
      actions: { users: { 'pt-user': ['read'] }, groups: { browsers: ['read'] } },
    })
    expect(readers.status, readers.text).toBe(201)
    const publicOnly = await target('public-only', {
      repositories: ['libs-local', 'libs-virtual'],
      'include-patterns': ['public/**'],
      actions: { users: { 'pattern-user': ['read'] } },
    })
    expect(publicOnly.status, publicOnly.text).toBe(201)
    await grant(admin, 'libs-virtual', 'virtual-only', ['read'])
    await grant(admin, 'libs-local', 'member-only', ['read'])

    // Project `team`: its own local, remote and virtual; proj-user is a Viewer.
    const project = await admin.post('/access/api/v1/projects', { body: { project_key: 'team', display_name: 'Team' } })
    expect(project.status, project.text).toBe(201)
    const member = await admin.put('/access/api/v1/projects/team/users/proj-user', { body: { roles: ['Viewer'] } })
    expect(member.status, member.text).toBe(200)
    await createRepository(admin, 'team-local', { projectKey: 'team' })
    await createRemote(admin, 'team-remote', upstream.url, { anonymousRead: false, projectKey: 'team' })
    await createRepository(admin, 'team-virtual', { rclass: 'virtual', repositories: ['team-local', 'team-remote'], projectKey: 'team' })
    await deploy(admin, 'team-local/build/app.bin', 'team build')
    expect((await admin.get('/artifactory/team-remote/pub/cached.txt')).status).toBe(200)
  }, 60_000)

  afterAll(async () => {
    await server?.close()
    await upstream?.close()
  })

  describe('7. the root of a repository browses for every source of read access', () => {
    const cases: [User, string, string[]][] = [
      ['pt-user', 'libs-local', ['private/', 'public/', 'root.txt', 'shared/']],
      ['grp-user', 'libs-local', ['private/', 'public/', 'root.txt', 'shared/']],
      ['pt-user', 'libs-remote', ['pub/', 'shared/']],
      ['grp-user', 'libs-remote', ['pub/', 'shared/']],
      ['proj-user', 'team-local', ['build/']],
      ['proj-user', 'team-remote', ['pub/']],
    ]

    it.each(cases)('%s: the storage API lists the root of %s', async (user, repo, expected) => {
      const response = await storage(as(user), repo)

      expect(response.status, response.text).toBe(200)
      expect(response.json()).toMatchObject({ repo, path: '/' })
      expect(childrenOf(response)).toEqual(expected)
    })

    it.each(cases)('%s: a deep listing of the root of %s, and a folder below it', async (user, repo, expected) => {
      const deep = await storage(as(user), repo, '?list&deep=1')
      expect(deep.status, deep.text).toBe(200)
      expect(listed(deep).length).toBeGreaterThan(0)
      const folder = expected.find((name) => name.endsWith('/'))!.slice(0, -1)
      const below = await storage(as(user), `${repo}/${folder}`)
      expect(below.status, below.text).toBe(200)
      expect(childrenOf(below).length).toBeGreaterThan(0)
    })

    it('a caller without read is refused at the root and below, and sees no names', async () => {
      for (const repo of ['libs-local', 'libs-remote', 'libs-virtual', 'team-local', 'team-virtual']) {
        expectRestError(await storage(as('outsider'), repo), 403, /may not read/)
        expectRestError(await storage(as('outsider'), `${repo}/shared`), 403)
        expectRestError(await storage(admin.anonymous, repo), 401)
      }
      expect(found(await as('outsider').get('/artifactory/api/search/artifact?name=*.txt'))).toEqual([])
    })

    it('an include pattern shows the folders leading to what it allows, and nothing else', async () => {
      const user = as('pattern-user')

      const root = await storage(user, 'libs-local')
      expect(root.status, root.text).toBe(200)
      expect(childrenOf(root)).toEqual(['public/'])
      expect(childrenOf(await storage(user, 'libs-local/public'))).toEqual(['a.txt'])
      expect((await storage(user, 'libs-local/public/a.txt')).json()).toMatchObject({ repo: 'libs-local', path: '/public/a.txt' })

      // Refused alike whether the path exists or not: a refusal tells nothing about what is there.
      expectRestError(await storage(user, 'libs-local/private'), 403, /may not read on 'libs-local\/private'/)
      expectRestError(await storage(user, 'libs-local/private/b.txt'), 403)
      expectRestError(await storage(user, 'libs-local/private/none.txt'), 403)
      expectRestError(await storage(user, 'libs-local/root.txt'), 403)
      expectRestError(await storage(user, 'libs-local/public/none.txt'), 404)

      expect(listed(await storage(user, 'libs-local', '?list&deep=1&listFolders=1'))).toEqual(['/public', '/public/a.txt'])
      expect(found(await user.get('/artifactory/api/search/artifact?name=*.txt'))).toEqual(['libs-local/public/a.txt'])
      const sha256 = digestsOf('private b').sha256
      expect(found(await user.get(`/artifactory/api/search/checksum?sha256=${sha256}`))).toEqual([])
      expect(found(await as('pt-user').get(`/artifactory/api/search/checksum?sha256=${sha256}`))).toEqual(['libs-local/private/b.txt'])
    })

    it('the console lists the repositories each caller may read', async () => {
      const keys = async (user: User) => ((await as(user).get('/api/v1/ui/repositories')).json().repositories as { key: string }[]).map((r) => r.key).sort()
      expect(await keys('pt-user')).toEqual(['extra-local', 'libs-local', 'libs-outer', 'libs-remote', 'libs-virtual'])
      expect(await keys('proj-user')).toEqual(['team-local', 'team-remote', 'team-virtual'])
      expect(await keys('outsider')).toEqual([])
    })
  })

  describe('8. a virtual repository browses as the merged contents of the members the caller may read', () => {
    it('the admin sees every member, local and remote (cached files only), first member first', async () => {
      const root = await storage(admin, 'libs-virtual')

      expect(root.status, root.text).toBe(200)
      expect(root.json()).toMatchObject({ repo: 'libs-virtual', path: '/', uri: `${server.url}/artifactory/api/storage/libs-virtual` })
      expect(childrenOf(root)).toEqual(['private/', 'pub/', 'public/', 'root.txt', 'secret/', 'shared/'])
      expect(childrenOf(await storage(admin, 'libs-virtual/shared'))).toEqual(['only-hidden.txt', 'same.txt'])
      expect(childrenOf(await storage(admin, 'libs-virtual/pub'))).toEqual(['cached.txt'])
    })

    it('a file of a virtual is described through the virtual, as the member that resolution picks', async () => {
      const local = digestsOf('shared, from the local repository')

      const item = await storage(admin, 'libs-virtual/shared/same.txt')

      expect(item.status, item.text).toBe(200)
      expect(item.json()).toMatchObject({
        repo: 'libs-virtual',
        path: '/shared/same.txt',
        downloadUri: `${server.url}/artifactory/libs-virtual/shared/same.txt`,
        uri: `${server.url}/artifactory/api/storage/libs-virtual/shared/same.txt`,
        checksums: local,
        size: String('shared, from the local repository'.length),
      })
      const download = await admin.get(new URL(item.json().downloadUri).pathname)
      expect(download.text).toBe('shared, from the local repository')
      // A remote member's cached file says where it came from; ?stats and ?properties work through the virtual.
      const cached = await storage(admin, 'libs-virtual/pub/cached.txt')
      expect(cached.json()).toMatchObject({ repo: 'libs-virtual', remoteUrl: `${upstream.url}/pub/cached.txt` })
      expect((await storage(admin, 'libs-virtual/pub/cached.txt', '?stats')).json()).toMatchObject({ downloadCount: expect.any(Number) })
      expect((await admin.put('/artifactory/api/storage/libs-local/root.txt?properties=team=core')).status).toBe(204)
      expect((await storage(admin, 'libs-virtual/root.txt', '?properties')).json().properties).toEqual({ team: ['core'] })
      // Never pulled: not in the cache, so not browsable (a download would still pull it).
      expectRestError(await storage(admin, 'libs-virtual/pub/never-pulled.txt'), 404)
    })

    it('deep listings and searches of a virtual show each path once, through the virtual', async () => {
      const deep = await storage(admin, 'libs-virtual', '?list&deep=1')
      expect(listed(deep)).toEqual(['/private/b.txt', '/pub/cached.txt', '/public/a.txt', '/root.txt', '/secret/hidden.txt', '/shared/only-hidden.txt', '/shared/same.txt'])
      const same = (deep.json().files as { uri: string; sha2: string }[]).find((f) => f.uri === '/shared/same.txt')!
      expect(same.sha2).toBe(digestsOf('shared, from the local repository').sha256)

      expect(found(await admin.get('/artifactory/api/search/artifact?name=same.txt&repos=libs-virtual'))).toEqual(['libs-virtual/shared/same.txt'])
      expect(found(await admin.get('/artifactory/api/search/artifact?name=same.txt'))).toEqual(['libs-local/shared/same.txt', 'libs-remote/shared/same.txt'])
      const sha256 = digestsOf('cached from the upstream').sha256
      expect(found(await admin.get(`/artifactory/api/search/checksum?sha256=${sha256}&repos=libs-virtual`))).toEqual(['libs-virtual/pub/cached.txt'])
      // The remote's shared/same.txt is hidden behind the local member's: the virtual does not serve it, so it is not found there.
      const hidden = digestsOf('shared, from the upstream').sha256
      expect(found(await admin.get(`/artifactory/api/search/checksum?sha256=${hidden}&repos=libs-virtual,libs-remote`))).toEqual(['libs-remote/shared/same.txt'])
    })

    it('nested virtuals merge once each, in order', async () => {
      const root = await storage(admin, 'libs-outer')
      expect(childrenOf(root)).toEqual(['extra/', 'private/', 'pub/', 'public/', 'root.txt', 'secret/', 'shared/'])
      expect((await storage(admin, 'libs-outer/shared/same.txt')).json()).toMatchObject({ repo: 'libs-outer', checksums: digestsOf('shared, from the local repository') })
    })

    it.each(['pt-user', 'grp-user'] as const)('%s: a member the caller may not read contributes nothing and leaks no names', async (user) => {
      const client = as(user)

      const root = await storage(client, 'libs-virtual')

      expect(root.status, root.text).toBe(200)
      expect(childrenOf(root)).toEqual(['private/', 'pub/', 'public/', 'root.txt', 'shared/'])
      expect(childrenOf(await storage(client, 'libs-virtual/shared'))).toEqual(['same.txt'])
      expectRestError(await storage(client, 'libs-virtual/secret'), 404)
      expectRestError(await storage(client, 'libs-virtual/secret/hidden.txt'), 404)
      expect(listed(await storage(client, 'libs-virtual', '?list&deep=1'))).not.toContain('/secret/hidden.txt')
      expect(found(await client.get('/artifactory/api/search/artifact?name=*hidden*&repos=libs-virtual'))).toEqual([])
      expect(childrenOf(await storage(client, 'libs-outer'))).toEqual(['extra/', 'private/', 'pub/', 'public/', 'root.txt', 'shared/'])
    })

    it('a project member browses the project virtual: its local and its remote cache', async () => {
      const root = await storage(as('proj-user'), 'team-virtual')
      expect(root.status, root.text).toBe(200)
      expect(childrenOf(root)).toEqual(['build/', 'pub/'])
      expect((await storage(as('proj-user'), 'team-virtual/build/app.bin')).json()).toMatchObject({ repo: 'team-virtual', path: '/build/app.bin' })
    })

    it('a permission target pattern on the virtual and on the member narrow the merged view', async () => {
      const user = as('pattern-user')
      const root = await storage(user, 'libs-virtual')
      expect(root.status, root.text).toBe(200)
      expect(childrenOf(root)).toEqual(['public/'])
      expectRestError(await storage(user, 'libs-virtual/shared'), 403)
      expect(found(await user.get('/artifactory/api/search/artifact?name=*.txt&repos=libs-virtual'))).toEqual(['libs-virtual/public/a.txt'])
    })

    it('read on the virtual alone opens none of its members (docs/remote-and-virtual.md)', async () => {
      const user = as('virtual-only')

      const root = await storage(user, 'libs-virtual')

      expect(root.status, root.text).toBe(200)
      expect(childrenOf(root)).toEqual([])
      expectRestError(await storage(user, 'libs-virtual/root.txt'), 404)
      expectRestError(await user.get('/artifactory/libs-virtual/root.txt'), 404)
      expect(listed(await storage(user, 'libs-virtual', '?list&deep=1'))).toEqual([])
      expect(found(await user.get('/artifactory/api/search/artifact?name=*.txt&repos=libs-virtual'))).toEqual([])
    })

    it('read on a member alone does not open the virtual, nor the other members through it', async () => {
      const user = as('member-only')

      expectRestError(await storage(user, 'libs-virtual'), 403)
      expectRestError(await storage(user, 'libs-virtual/secret/hidden.txt'), 403)
      expectRestError(await user.get('/artifactory/libs-virtual/root.txt'), 403)
      expect(found(await user.get('/artifactory/api/search/artifact?name=*.txt&repos=libs-virtual'))).toEqual([])
      expect(childrenOf(await storage(user, 'libs-local'))).toEqual(['private/', 'public/', 'root.txt', 'shared/'])
    })

    it('refuses what a virtual cannot do, with a clear message, changing nothing', async () => {
      expectRestError(await admin.put('/artifactory/api/storage/libs-virtual/root.txt?properties=a=1'), 405, /virtual/)
      expectRestError(await admin.delete('/artifactory/api/storage/libs-virtual/root.txt?properties=team'), 405, /virtual/)
      expect((await storage(admin, 'libs-local/root.txt', '?properties')).json().properties).toEqual({ team: ['core'] })
      expectRestError(await storage(admin, 'libs-virtual/root.txt', '?list'), 400, /file/)
      expectRestError(await storage(admin, 'libs-virtual/shared', '?stats'), 400, /folders/)
      expectRestError(await storage(admin, 'libs-virtual/nowhere'), 404)
      expectRestError(await storage(admin, 'no-such-repo'), 404)
    })
  })
})
