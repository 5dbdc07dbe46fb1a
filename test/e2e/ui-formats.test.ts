/**
 * What the console learns of the formats from the server (it holds no list of package types):
 * `GET /api/v1/ui/formats`, from the formats' own declarations, and a repository's Set Me Up
 * snippets rendered by its format for the caller, at the address the caller used, with the token
 * placeholder. Whether the snippets work: test/e2e/set-me-up.test.ts runs them.
 */
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TOKEN_PLACEHOLDER, type UiFormatList, type UiSetMeUp } from '../../src/api/formats.js'
import { FORMATS } from '../../src/formats/index.js'
import type { Format } from '../../src/formats/format.js'
import { buildHttpApp } from '../../src/http/app.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { apiClient, createRepository, createUser, expectRestError, type ApiCall } from './admin-http.js'

describe('formats and Set Me Up for the console', () => {
  let server: TestServer
  let call: ApiCall
  let dev: string

  beforeAll(async () => {
    server = await startTestServer()
    call = apiClient(server)
    dev = await createUser(call, 'dev')
    await createRepository(call, 'files')
    await createRepository(call, 'open-files', { anonymousRead: true })
    await call('PUT', '/artifactory/api/repositories/npm-remote', { json: { rclass: 'remote', packageType: 'npm', url: 'https://registry.example.test/' } })
    expect((await call('PUT', '/api/v1/repositories/files/grants/dev', { json: { actions: ['read'] } })).status).toBe(200)
  })
  afterAll(async () => server?.close())

  const setMeUp = async (key: string, auth?: string | null) => {
    const res = await call('GET', `/api/v1/ui/repositories/${key}/set-me-up`, { auth })
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as UiSetMeUp
  }

  it('lists every format with its title, classes, settings and console descriptor, to anyone', async () => {
    const res = await call('GET', '/api/v1/ui/formats', { auth: null })
    expect(res.status).toBe(200)
    const { formats } = (await res.json()) as UiFormatList
    expect(formats.map((f) => f.id)).toEqual(FORMATS.map((f) => f.id))
    for (const format of FORMATS) {
      expect(formats.find((f) => f.id === format.id)).toEqual({
        id: format.id,
        title: format.title,
        kinds: [...format.kinds],
        settings: (format.settings ?? []).map(({ schema: _schema, ...setting }) => JSON.parse(JSON.stringify(setting))),
        console: JSON.parse(JSON.stringify(format.console)),
        ...(format.packages ? { hasPackageViews: true } : {}),
      })
    }
    expect(formats.find((f) => f.id === 'docker')).toMatchObject({ title: 'Docker', console: { packageNoun: 'image' }, hasPackageViews: true })
  })

  it("describes a format's settings for the form, without their validators", async () => {
    const declaring: Format = {
      id: 'declaring',
      title: 'Declaring',
      kinds: ['local', 'remote'],
      settings: [
        { name: 'handleSnapshots', label: 'Snapshots', help: 'Accept SNAPSHOT versions.', kinds: ['local'], type: 'boolean', default: true, schema: z.boolean() },
        { name: 'layout', label: 'Layout', help: 'How paths are read.', kinds: ['local', 'remote'], type: 'enum', values: ['a', 'b'], default: 'a', schema: z.enum(['a', 'b']) },
      ],
      register: async () => {},
    }
    const app = await buildHttpApp(server.trove.services, [declaring], pino({ level: 'silent' }))
    try {
      const res = await app.inject({ method: 'GET', url: '/api/v1/ui/formats' })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({
        formats: [
          {
            id: 'declaring',
            title: 'Declaring',
            kinds: ['local', 'remote'],
            settings: [
              { name: 'handleSnapshots', label: 'Snapshots', help: 'Accept SNAPSHOT versions.', kinds: ['local'], type: 'boolean', default: true },
              { name: 'layout', label: 'Layout', help: 'How paths are read.', kinds: ['local', 'remote'], type: 'enum', values: ['a', 'b'], default: 'a' },
            ],
          },
        ],
      })
    } finally {
      await app.close()
    }
  })

  it("renders a repository's snippets for the caller, at the address they used, with the token placeholder", async () => {
    const body = await setMeUp('files', dev)
    expect(body).toMatchObject({ baseUrl: server.url, user: 'dev' })
    expect(body.snippets.map((s) => s.id)).toEqual(['curl-deploy', 'curl-download'])
    expect(body.snippets[1]!.text).toBe(`curl -u dev:${TOKEN_PLACEHOLDER} -O "${server.url}/artifactory/files/releases/1.0/build.tar.gz"`)
    // Under another name: the host the request came to (fetch sets Host itself, inject does not).
    const res = await server.trove.app.inject({ method: 'GET', url: '/api/v1/ui/repositories/files/set-me-up', headers: { host: 'trove.example.test:8443', authorization: dev } })
    const other = res.json() as UiSetMeUp
    expect(other.baseUrl).toBe('http://trove.example.test:8443')
    expect(other.snippets[1]!.text).toContain('"http://trove.example.test:8443/artifactory/files/')
  })

  it("renders by the repository's format and class", async () => {
    const body = await setMeUp('npm-remote')
    expect(body.user).toBe('admin')
    expect(body.snippets.map((s) => s.id)).toEqual(['npmrc', 'npmrc-scoped', 'npm-install', 'npm-login'])
    expect(body.snippets[0]!.text).toContain(`${server.url}/artifactory/api/npm/npm-remote/`)
  })

  it('only for repositories the caller may read', async () => {
    await expectRestError(await call('GET', '/api/v1/ui/repositories/npm-remote/set-me-up', { auth: null }), 401)
    const outsider = await createUser(call, 'outsider')
    await expectRestError(await call('GET', '/api/v1/ui/repositories/files/set-me-up', { auth: outsider }), 403)
    await expectRestError(await call('GET', '/api/v1/ui/repositories/no-such-repo/set-me-up'), 404, /no-such-repo/)
    expect((await setMeUp('open-files', null)).user).toBe('anonymous')
  })
})
