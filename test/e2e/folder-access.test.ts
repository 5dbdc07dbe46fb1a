/**
 * Permission-target path patterns on what reaches many paths at once (issue #13, follow-up of
 * items 7 and 8): the HTML folder listing, folder-wide writes (a folder delete, a recursive
 * property change), the quick searches' result limit and the checksum deploy's content check.
 *
 * The cast: `editor` may read, annotate, deploy and delete everything in `work-local` but what
 * `**\/secret/**` excludes; `reader` may read `public/**` but not `public/internal/**` (in
 * `work-local`, `other-local`, the virtual `work-virtual` over both, and `bulk-local`) and deploy to
 * `uploads-local`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildChart, chartFile } from '../helpers/helm.js'
import { metadataBackends } from '../helpers/postgres.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createRepository, createUser, deploy, digestsOf, expectRestError, grant, type HttpResponse } from './generic-support.js'

const backends = await metadataBackends()

const PASSWORD = 'folder-password-1'

/** The quick searches' result limit (Artifactory's default). */
const SEARCH_LIMIT = 1000

describe.each(backends)('path patterns on folders, listings and searches (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let editor: Client
  let reader: Client
  const storage = (repoPath: string) => `/artifactory/api/storage/${repoPath}`
  const propertiesOf = async (repoPath: string): Promise<Record<string, string[]>> => {
    const response = await admin.get(`${storage(repoPath)}?properties`)
    if (response.status === 404) return {}
    expect(response.status, response.text).toBe(200)
    return response.json().properties
  }
  const exists = async (repoPath: string) => (await admin.head(`/artifactory/${repoPath}`)).status === 200
  /** The names an HTML listing links to, in order (`../` left out). */
  const linksOf = (response: HttpResponse) => {
    expect(response.status, response.text).toBe(200)
    expect(response.headers['content-type']).toMatch(/^text\/html/)
    return [...response.text.matchAll(/<a href="([^"]*)">/g)].map((m) => decodeURIComponent(m[1]!)).filter((href) => href !== '../')
  }
  const found = (response: HttpResponse) => {
    expect(response.status, response.text).toBe(200)
    return (response.json().results as { uri: string }[]).map((r) => r.uri.slice(`${server.url}/artifactory/api/storage/`.length)).sort()
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    editor = admin.as(basicAuth('editor', PASSWORD))
    reader = admin.as(basicAuth('reader', PASSWORD))
    for (const user of ['editor', 'reader']) await createUser(admin, user, PASSWORD)
    for (const key of ['work-local', 'other-local', 'bulk-local', 'uploads-local']) await createRepository(admin, key)
    await createRepository(admin, 'work-virtual', { rclass: 'virtual', repositories: ['work-local', 'other-local'] })
    await createRepository(admin, 'work-helm', { packageType: 'helm' })
    for (const path of [
      'release/app.bin',
      'release/secret/key.txt',
      'docs/guide.txt',
      'docs/howto/step.txt',
      'public/a.txt',
      'public/internal/i.txt',
      'private/p.txt',
    ]) {
      await deploy(admin, `work-local/${path}`, `work-local/${path}`)
    }
    for (const path of ['public/b.txt', 'more/m.txt']) await deploy(admin, `other-local/${path}`, `other-local/${path}`)

    const target = async (name: string, repo: Record<string, unknown>) => {
      const response = await admin.post(`/artifactory/api/v2/security/permissions/${name}`, { body: { name, repo } })
      expect(response.status, response.text).toBe(201)
    }
    await target('work-editors', {
      repositories: ['work-local', 'work-helm'],
      'include-patterns': ['**'],
      'exclude-patterns': ['**/secret/**'],
      actions: { users: { editor: ['read', 'annotate', 'write', 'delete'] } },
    })
    await target('public-readers', {
      repositories: ['work-local', 'other-local', 'work-virtual', 'bulk-local'],
      'include-patterns': ['public/**'],
      'exclude-patterns': ['public/internal/**'],
      actions: { users: { reader: ['read'] } },
    })
    await grant(admin, 'uploads-local', 'reader', ['deploy'])
  }, 60_000)

  afterAll(async () => {
    await server?.close()
  })

  describe('the HTML folder listing follows the patterns, as the storage API does', () => {
    it('a narrower include browses from the root down to what it allows, and lists nothing else', async () => {
      expect(linksOf(await reader.get('/artifactory/work-local/'))).toEqual(['public/'])
      expect(linksOf(await reader.get('/artifactory/work-local/public/'))).toEqual(['a.txt'])
      // Without the trailing slash a folder is listed too.
      expect(linksOf(await reader.get('/artifactory/work-local/public'))).toEqual(['a.txt'])
      expect((await reader.get('/artifactory/work-local/public/a.txt')).text).toBe('work-local/public/a.txt')
    })

    it('refuses what the caller may not read whether or not it exists; 404 only where they may read', async () => {
      for (const path of ['private/', 'private', 'public/internal/', 'nowhere/', 'private/p.txt']) {
        expectRestError(await reader.get(`/artifactory/work-local/${path}`), 403, /may not read/)
      }
      expectRestError(await reader.get('/artifactory/work-local/public/none/'), 404)
      expectRestError(await admin.anonymous.get('/artifactory/work-local/'), 401)
    })

    it("an exclude pattern hides a folder's children from the listing", async () => {
      expect(linksOf(await editor.get('/artifactory/work-local/release/'))).toEqual(['app.bin'])
      expect(linksOf(await admin.get('/artifactory/work-local/release/'))).toEqual(['secret/', 'app.bin'])
      expectRestError(await editor.get('/artifactory/work-local/release/secret/'), 403)
    })

    it("a virtual lists its readable members' folders merged, first member first", async () => {
      expect(linksOf(await admin.get('/artifactory/work-virtual/'))).toEqual(['docs/', 'more/', 'private/', 'public/', 'release/'])
      expect(linksOf(await admin.get('/artifactory/work-virtual/public/'))).toEqual(['internal/', 'a.txt', 'b.txt'])
      expect(linksOf(await admin.get('/artifactory/work-virtual/more/'))).toEqual(['m.txt'])
      expect(linksOf(await reader.get('/artifactory/work-virtual/'))).toEqual(['public/'])
      expect(linksOf(await reader.get('/artifactory/work-virtual/public/'))).toEqual(['a.txt', 'b.txt'])
      expectRestError(await reader.get('/artifactory/work-virtual/more/'), 403)
    })
  })

  describe('a folder-wide write is refused whole when anything below is outside the caller’s rights', () => {
    it('a recursive property change of a folder holding an excluded file', async () => {
      expect((await admin.put(`${storage('work-local/release/secret/key.txt')}?properties=owner=ops`)).status).toBe(204)

      expectRestError(await editor.put(`${storage('work-local/release')}?properties=stage=prod&recursive=1`), 403, /editor.*release/)
      expectRestError(await editor.put(`${storage('work-local/release')}?properties=stage=prod`), 403)
      expectRestError(await editor.delete(`${storage('work-local/release')}?properties=owner&recursive=1`), 403)

      // Nothing changed, not even on the files the editor may annotate.
      expect(await propertiesOf('work-local/release/secret/key.txt')).toEqual({ owner: ['ops'] })
      expect(await propertiesOf('work-local/release/app.bin')).toEqual({})
      expect(await propertiesOf('work-local/release')).toEqual({})
      // The folder alone is the editor's to annotate.
      expect((await editor.put(`${storage('work-local/release')}?properties=stage=prod&recursive=0`)).status).toBe(204)
      expect(await propertiesOf('work-local/release')).toEqual({ stage: ['prod'] })
    })

    it('a folder delete of a folder holding an excluded file, or an excluded empty folder', async () => {
      expectRestError(await editor.delete('/artifactory/work-local/release/'), 403, /editor.*release/)
      expectRestError(await editor.delete('/artifactory/work-local/release'), 403)
      expect(await exists('work-local/release/secret/key.txt')).toBe(true)
      expect(await exists('work-local/release/app.bin')).toBe(true)
      expect(await propertiesOf('work-local/release')).toEqual({ stage: ['prod'] })

      // An empty folder the exclude matches is not the editor's to remove either.
      expect((await admin.put('/artifactory/work-local/scratch/secret/')).status).toBe(201)
      expectRestError(await editor.delete('/artifactory/work-local/scratch/'), 403)
      expect((await admin.get(storage('work-local/scratch/secret'))).status).toBe(200)
    })

    it("a folder delete through Helm's API, too", async () => {
      for (const [folder, name] of [['stable', 'app'], ['stable/secret', 'vault']] as const) {
        const response = await admin.put(`/artifactory/work-helm/${folder}/${chartFile(name, '1.0.0')}`, { body: await buildChart({ name, version: '1.0.0' }) })
        expect(response.status, response.text).toBe(201)
      }

      expectRestError(await editor.delete('/artifactory/api/helm/work-helm/stable'), 403, /editor.*stable/)

      expect(await exists(`work-helm/stable/secret/${chartFile('vault', '1.0.0')}`)).toBe(true)
      expect(await exists(`work-helm/stable/${chartFile('app', '1.0.0')}`)).toBe(true)
      expect((await editor.delete(`/artifactory/api/helm/work-helm/stable/${chartFile('app', '1.0.0')}`)).status).toBe(204)
    })

    it('a folder holding only what the caller may change is changed whole', async () => {
      expect((await editor.put(`${storage('work-local/docs')}?properties=team=docs`)).status).toBe(204)
      for (const path of ['docs', 'docs/guide.txt', 'docs/howto', 'docs/howto/step.txt']) expect(await propertiesOf(`work-local/${path}`), path).toEqual({ team: ['docs'] })
      expect((await editor.delete(`${storage('work-local/docs')}?properties=team`)).status).toBe(204)
      expect(await propertiesOf('work-local/docs/howto/step.txt')).toEqual({})

      expect((await editor.delete('/artifactory/work-local/docs/')).status).toBe(204)
      expect(await exists('work-local/docs/guide.txt')).toBe(false)
      expectRestError(await admin.get(storage('work-local/docs')), 404)
      // A file the editor may delete, beside the excluded folder.
      expect((await editor.delete('/artifactory/work-local/release/app.bin')).status).toBe(204)
      expect(await exists('work-local/release/secret/key.txt')).toBe(true)
    })
  })

  describe('searches and checksum deploys see what the caller may read', () => {
    it(`the ${SEARCH_LIMIT}-result limit counts what the caller may see, not the rows before filtering`, async () => {
      // `hidden/…` sorts before `public/…`: a limit applied before filtering fills up with hidden files.
      const content = 'one content, many paths'
      const { sha256 } = digestsOf(content)
      await deploy(admin, 'bulk-local/hidden/f0000.txt', content)
      const paths = Array.from({ length: SEARCH_LIMIT + 4 }, (_, i) => `hidden/f${String(i + 1).padStart(4, '0')}.txt`)
      for (let i = 0; i < paths.length; i += 8) {
        await Promise.all(
          paths.slice(i, i + 8).map((path) =>
            deploy(admin, `bulk-local/${path}`, '', { 'X-Checksum-Deploy': 'true', 'X-Checksum-Sha256': sha256 }),
          ),
        )
      }
      for (const name of ['z1.txt', 'z2.txt', 'z3.txt']) await deploy(admin, `bulk-local/public/${name}`, content)

      const byName = found(await reader.get('/artifactory/api/search/artifact?name=*.txt&repos=bulk-local'))
      const byChecksum = found(await reader.get(`/artifactory/api/search/checksum?sha256=${sha256}&repos=bulk-local`))

      const visible = ['bulk-local/public/z1.txt', 'bulk-local/public/z2.txt', 'bulk-local/public/z3.txt']
      expect(byName).toEqual(visible)
      expect(byChecksum).toEqual(visible)
      // The limit itself still holds.
      expect(found(await admin.get('/artifactory/api/search/artifact?name=*.txt&repos=bulk-local'))).toHaveLength(SEARCH_LIMIT)
    }, 120_000)

    it('a checksum deploy copies only content the caller may read at its path', async () => {
      const hidden = digestsOf('work-local/private/p.txt').sha256
      const shown = digestsOf('work-local/public/a.txt').sha256
      const checksumDeploy = (path: string, sha256: string) =>
        reader.put(`/artifactory/uploads-local/${path}`, { body: '', headers: { 'X-Checksum-Deploy': 'true', 'X-Checksum-Sha256': sha256 } })

      expectRestError(await checksumDeploy('copied-private.txt', hidden), 404)
      expect(await exists('uploads-local/copied-private.txt')).toBe(false)
      expect((await checksumDeploy('copied-public.txt', shown)).status).toBe(201)
    })
  })
})
