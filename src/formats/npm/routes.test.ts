/**
 * The npm registry API over real HTTP, endpoint by endpoint and refusal by refusal, on every
 * metadata backend: what the npm, pnpm and yarn clients send, written out by hand so that each
 * status and `{"error"}` message is pinned down. The real clients are in test/conformance/npm.
 */
import { createHash } from 'node:crypto'
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { npmPackage, packTarball, publishBody } from '../../../test/helpers/npm.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import { basicAuth, startTestServer, type TestServer } from '../../../test/helpers/server.js'

const backends = await metadataBackends()
const REGISTRY = '/artifactory/api/npm/npm-local'
const MAX_TARBALL = 256 * 1024

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  json<T = any>(): T
}

describe.each(backends)('npm registry API (%s)', (backend) => {
  let server: TestServer
  /** Basic credentials of users with: every right; read only; read + annotate; read + deploy. */
  const auth = { dev: '', reader: '', annotator: '', deployer: '' }

  const call = async (method: string, path: string, options: { auth?: string | null; json?: unknown; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...options.headers }
    const credentials = options.auth === undefined ? auth.dev : options.auth
    if (credentials) headers.authorization = credentials
    let body = options.body
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json'
      body = JSON.stringify(options.json)
    }
    const res = await fetch(`${server.url}${path}`, { method, headers, body })
    const text = await res.text()
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) }
  }
  const admin = (method: string, path: string, json?: unknown) => call(method, path, { auth: server.adminAuth, json })

  /** Asserts npm's error body with the status given; returns the message. */
  const expectNpmError = (reply: Reply, status: number, message?: RegExp): string => {
    expect(reply.status, reply.text).toBe(status)
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/)
    const body = reply.json<{ error?: unknown }>()
    expect(Object.keys(body)).toEqual(['error'])
    expect(typeof body.error).toBe('string')
    if (message) expect(body.error).toMatch(message)
    expect(reply.headers.get('www-authenticate')).toBeNull()
    return body.error as string
  }

  const publish = async (packageJson: Record<string, unknown>, options: { auth?: string | null; files?: Record<string, string> } = {}) => {
    const pkg = await npmPackage(packageJson, options.files)
    const reply = await call('PUT', `${REGISTRY}/${encodeURIComponent(String(packageJson.name))}`, { json: pkg.body, auth: options.auth })
    return { ...pkg, reply }
  }

  const storage = (path: string) => admin('GET', `/artifactory/api/storage/npm-local/${path}`)

  /** A GET with another Host header (as behind a proxy), which fetch does not let one set. */
  const getWithHost = (path: string, host: string) =>
    new Promise<any>((resolve, reject) => {
      const url = new URL(server.url)
      const request = http.get({ host: url.hostname, port: url.port, path, headers: { host, authorization: auth.dev } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))))
      })
      request.on('error', reject)
    })

  beforeAll(async () => {
    server = await startTestServer({ backend, settings: { npm: { maxTarballBytes: MAX_TARBALL, maxMetadataBytes: 512 * 1024, maxUnpackedBytes: 4 * 1024 * 1024 } } })
    expect((await admin('PUT', '/artifactory/api/repositories/npm-local', { key: 'npm-local', rclass: 'local', packageType: 'npm' })).status).toBe(200)
    expect((await admin('PUT', '/artifactory/api/repositories/generic-local', { key: 'generic-local', rclass: 'local', packageType: 'generic' })).status).toBe(200)
    const grants: Record<keyof typeof auth, string[]> = {
      dev: ['read', 'annotate', 'deploy', 'delete'],
      reader: ['read'],
      annotator: ['read', 'annotate'],
      deployer: ['read', 'deploy'],
    }
    for (const [user, actions] of Object.entries(grants) as [keyof typeof auth, string[]][]) {
      const password = `${user}-password-1`
      expect((await admin('PUT', `/artifactory/api/security/users/${user}`, { email: `${user}@example.test`, password })).status).toBe(201)
      expect((await admin('PUT', `/api/v1/repositories/npm-local/grants/${user}`, { actions })).status).toBe(200)
      auth[user] = basicAuth(user, password)
    }
  })

  afterAll(async () => {
    await server?.close()
  })

  describe('publish and read', () => {
    it('publishes a package and serves its full packument, with tarball URLs at the host the client used', async () => {
      const { tarball, reply } = await publish({ name: 'plain', version: '1.0.0', description: 'Plain package', keywords: ['demo'], bin: './cli.js' }, { files: { 'cli.js': '#!/usr/bin/env node\n', 'README.md': '# Plain\n' } })
      expect(reply.status, reply.text).toBe(201)
      expect(reply.json()).toMatchObject({ ok: true, id: 'plain' })

      const doc = (await call('GET', `${REGISTRY}/plain`)).json()
      expect(doc).toMatchObject({ _id: 'plain', name: 'plain', description: 'Plain package', 'dist-tags': { latest: '1.0.0' } })
      expect(doc._rev).toMatch(/^\d+-[0-9a-f]+$/)
      expect(doc.versions['1.0.0']).toMatchObject({
        name: 'plain',
        version: '1.0.0',
        bin: { plain: 'cli.js' },
        _id: 'plain@1.0.0',
        _npmUser: { name: 'dev', email: 'dev@example.test' },
        _hasShrinkwrap: false,
        dist: {
          shasum: createHash('sha1').update(tarball).digest('hex'),
          integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
          fileCount: 3,
          tarball: `${server.url}${REGISTRY}/plain/-/plain-1.0.0.tgz`,
        },
      })
      expect(doc.time['1.0.0']).toBe(doc.time.created)

      // Another Host header, another URL: the metadata points back where the client came from.
      const proxied = await getWithHost(`${REGISTRY}/plain`, 'npm.example.test:8443')
      expect(proxied.versions['1.0.0'].dist.tarball).toBe(`http://npm.example.test:8443${REGISTRY}/plain/-/plain-1.0.0.tgz`)
    })

    it('serves the abbreviated document to installers that ask for it', async () => {
      const reply = await call('GET', `${REGISTRY}/plain`, { headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*' } })
      expect(reply.status).toBe(200)
      expect(reply.headers.get('content-type')).toMatch(/^application\/vnd\.npm\.install-v1\+json/)
      expect(reply.headers.get('vary')).toMatch(/accept/i)
      const doc = reply.json()
      expect(Object.keys(doc).sort()).toEqual(['dist-tags', 'modified', 'name', 'versions'])
      expect(Object.keys(doc.versions['1.0.0']).sort()).toEqual(['_hasShrinkwrap', 'bin', 'dist', 'name', 'version'])
    })

    it('answers 304 to a client that has the current document, and a new ETag once it changes', async () => {
      const first = await call('GET', `${REGISTRY}/plain`)
      const etag = first.headers.get('etag')!
      // A strong ETag (the document cache names each form by a hash of its bytes).
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{16,}"$/)
      expect((await call('GET', `${REGISTRY}/plain`, { headers: { 'if-none-match': etag } })).status).toBe(304)
      const abbreviated = await call('GET', `${REGISTRY}/plain`, { headers: { accept: 'application/vnd.npm.install-v1+json' } })
      expect(abbreviated.headers.get('etag')).not.toBe(etag)

      expect((await publish({ name: 'plain', version: '1.1.0', description: 'Plain package, again' })).reply.status).toBe(201)
      const changed = await call('GET', `${REGISTRY}/plain`, { headers: { 'if-none-match': etag } })
      expect(changed.status).toBe(200)
      expect(changed.headers.get('etag')).not.toBe(etag)
      expect(changed.json()).toMatchObject({ description: 'Plain package, again', 'dist-tags': { latest: '1.1.0' } })
      expect(Object.keys(changed.json().versions)).toEqual(['1.0.0', '1.1.0'])
    })

    it('serves one version by number or by tag', async () => {
      expect((await call('GET', `${REGISTRY}/plain/1.0.0`)).json()).toMatchObject({ name: 'plain', version: '1.0.0' })
      expect((await call('GET', `${REGISTRY}/plain/latest`)).json()).toMatchObject({ version: '1.1.0' })
      expectNpmError(await call('GET', `${REGISTRY}/plain/9.9.9`), 404, /plain@9\.9\.9 is not in 'npm-local'/)
    })

    it('serves the tarball byte for byte, with an ETag, and shows it in the storage API at its Artifactory path', async () => {
      const { tarball } = await npmPackage({ name: 'plain', version: '1.0.0', description: 'Plain package', keywords: ['demo'], bin: './cli.js' })
      const doc = (await call('GET', `${REGISTRY}/plain`)).json()
      const res = await fetch(doc.versions['1.0.0'].dist.tarball, { headers: { authorization: auth.reader } })
      const bytes = Buffer.from(await res.arrayBuffer())
      expect(res.status).toBe(200)
      expect(createHash('sha1').update(bytes).digest('hex')).toBe(doc.versions['1.0.0'].dist.shasum)
      expect(bytes.length).toBeGreaterThan(tarball.length / 2)
      const etag = res.headers.get('etag')!
      expect((await call('GET', `${REGISTRY}/plain/-/plain-1.0.0.tgz`, { headers: { 'if-none-match': etag } })).status).toBe(304)
      const head = await call('HEAD', `${REGISTRY}/plain/-/plain-1.0.0.tgz`)
      expect(head.status).toBe(200)
      expect(Number(head.headers.get('content-length'))).toBe(bytes.length)

      const info = await storage('plain/-/plain-1.0.0.tgz')
      expect(info.status).toBe(200)
      expect(info.json()).toMatchObject({ repo: 'npm-local', path: '/plain/-/plain-1.0.0.tgz', size: String(bytes.length), checksums: { sha1: doc.versions['1.0.0'].dist.shasum } })
      expectNpmError(await call('GET', `${REGISTRY}/plain/-/plain-7.0.0.tgz`), 404)
    })

    it('publishes scoped packages, reachable as @scope%2fname and @scope/name', async () => {
      const { reply } = await publish({ name: '@team/util', version: '2.0.0', dependencies: { plain: '^1.0.0' } })
      expect(reply.status, reply.text).toBe(201)
      const encoded = (await call('GET', `${REGISTRY}/@team%2futil`)).json()
      const plain = (await call('GET', `${REGISTRY}/@team/util`)).json()
      expect(plain).toEqual(encoded)
      expect(encoded.versions['2.0.0'].dist.tarball).toBe(`${server.url}${REGISTRY}/@team/util/-/util-2.0.0.tgz`)
      expect((await call('GET', `${REGISTRY}/@team/util/2.0.0`)).json()).toMatchObject({ dependencies: { plain: '^1.0.0' } })
      expect((await call('GET', `${REGISTRY}/@team/util/-/util-2.0.0.tgz`)).status).toBe(200)
      expect((await storage('@team/util/-/util-2.0.0.tgz')).status).toBe(200)
    })

    it('publishes with the tag asked for, and gives a first version latest whatever its tag', async () => {
      const pkg = await npmPackage({ name: 'tagged', version: '1.0.0-beta.1' })
      const body = publishBody({ tarball: pkg.tarball, manifest: { name: 'tagged', version: '1.0.0-beta.1' }, distTags: { beta: '1.0.0-beta.1' } })
      expect((await call('PUT', `${REGISTRY}/tagged`, { json: body })).status).toBe(201)
      expect((await call('GET', `${REGISTRY}/-/package/tagged/dist-tags`)).json()).toEqual({ beta: '1.0.0-beta.1', latest: '1.0.0-beta.1' })
    })

    it('lets exactly one of two racing publishes of a version win, and serves the winner', async () => {
      const [a, b] = await Promise.all(['a', 'b'].map((which) => npmPackage({ name: 'racer', version: '1.0.0' }, { 'index.js': `module.exports = '${which}'\n` })))
      const replies = await Promise.all([a!, b!].map((pkg) => call('PUT', `${REGISTRY}/racer`, { json: pkg.body })))
      expect(replies.map((r) => r.status).sort()).toEqual([201, 409])
      const winner = replies[0]!.status === 201 ? a! : b!
      const sha1 = createHash('sha1').update(winner.tarball).digest('hex')
      expect((await call('GET', `${REGISTRY}/racer`)).json().versions['1.0.0'].dist.shasum).toBe(sha1)
      expect((await storage('racer/-/racer-1.0.0.tgz')).json().checksums.sha1).toBe(sha1)
    })

    it('supports federated npm repositories (local ones, mirrored: test/federation/)', async () => {
      const federated = await admin('PUT', '/artifactory/api/repositories/npm-federated', { key: 'npm-federated', rclass: 'federated', packageType: 'npm' })
      expect(federated.status).toBe(200)
      expect((await admin('GET', '/artifactory/api/repositories/npm-federated')).json().rclass).toBe('federated')
    })

    it('answers 404 in npm form for a package or endpoint it does not have', async () => {
      expectNpmError(await call('GET', `${REGISTRY}/no-such-package`), 404, /package no-such-package is not in 'npm-local'/)
      expectNpmError(await call('POST', `${REGISTRY}/-/v1/login`), 404, /no such npm registry endpoint/)
      expectNpmError(await call('GET', '/artifactory/api/npm/no-such-repo/plain', { auth: server.adminAuth }), 404, /'no-such-repo' is not an npm repository/)
      expectNpmError(await call('GET', '/artifactory/api/npm/no-such-repo/plain'), 403) // existence is not told to who may not read
      expectNpmError(await call('GET', '/artifactory/api/npm/generic-local/plain', { auth: server.adminAuth }), 404, /'generic-local' is not an npm repository/)
      expectNpmError(await call('GET', REGISTRY), 404, /use \/artifactory\/api\/npm\/npm-local\/ as the registry URL/)
    })
  })

  describe('publish refusals: each says why and stores nothing', () => {
    /** Every refused publish below is of 'refused'; none may leave a trace. */
    afterAll(async () => {
      expect((await call('GET', `${REGISTRY}/refused`)).status).toBe(404)
      expect((await storage('refused')).status).toBe(404)
    })

    it('refuses a version that exists (409)', async () => {
      const { reply } = await publish({ name: 'plain', version: '1.0.0' })
      expectNpmError(reply, 409, /cannot publish over the previously published version plain@1\.0\.0/)
    })

    it('refuses invalid names before reading the tarball (400)', async () => {
      for (const name of ['Refused', '.refused', 'ref used']) {
        const pkg = await npmPackage({ name, version: '1.0.0' })
        expectNpmError(await call('PUT', `${REGISTRY}/${encodeURIComponent(name)}`, { json: pkg.body }), 400, /invalid package name/)
      }
    })

    it('refuses a version that is not semver (400)', async () => {
      const { reply } = await publish({ name: 'refused', version: '1.0' })
      expectNpmError(reply, 400, /version '1\.0' in the tarball's package\.json is not a valid semver version/)
    })

    it('refuses a shasum or an integrity that does not match the tarball (400)', async () => {
      const pkg = await npmPackage({ name: 'refused', version: '1.0.0' })
      const wrongSha1 = publishBody({ tarball: pkg.tarball, manifest: { name: 'refused', version: '1.0.0' }, dist: { shasum: '0'.repeat(40) } })
      expectNpmError(await call('PUT', `${REGISTRY}/refused`, { json: wrongSha1 }), 400, /shasum mismatch: the metadata declares 0{40}/)
      const wrongSri = publishBody({ tarball: pkg.tarball, manifest: { name: 'refused', version: '1.0.0' }, dist: { integrity: `sha512-${Buffer.alloc(64).toString('base64')}` } })
      expectNpmError(await call('PUT', `${REGISTRY}/refused`, { json: wrongSri }), 400, /integrity mismatch/)
      const wrongLength = publishBody({ tarball: pkg.tarball, manifest: { name: 'refused', version: '1.0.0' } })
      ;(wrongLength._attachments as Record<string, { length: number }>)['refused-1.0.0.tgz']!.length = 1
      expectNpmError(await call('PUT', `${REGISTRY}/refused`, { json: wrongLength }), 400, /declares 1/)
    })

    it('refuses metadata that differs from the package.json inside the tarball (manifest confusion)', async () => {
      const tarball = await packTarball({ 'package.json': JSON.stringify({ name: 'refused', version: '1.0.0', dependencies: { plain: '^1.0.0' }, scripts: { postinstall: 'node steal.js' } }) })
      const innocent = publishBody({ tarball, manifest: { name: 'refused', version: '1.0.0', dependencies: {} } })
      expectNpmError(await call('PUT', `${REGISTRY}/refused`, { json: innocent }), 400, /differs from the package\.json inside the tarball in: dependencies, scripts \(manifest confusion\)/)
      const otherVersion = publishBody({ tarball, manifest: { name: 'refused', version: '1.0.1', dependencies: { plain: '^1.0.0' }, scripts: { postinstall: 'node steal.js' } } })
      expectNpmError(await call('PUT', `${REGISTRY}/refused`, { json: otherVersion }), 400, /publishes version '1\.0\.1' but the tarball's package\.json has '1\.0\.0'/)
      const otherName = await packTarball({ 'package.json': JSON.stringify({ name: 'plain', version: '5.0.0' }) })
      expectNpmError(await call('PUT', `${REGISTRY}/refused`, { json: publishBody({ tarball: otherName, manifest: { name: 'refused', version: '5.0.0' } }) }), 400, /names 'plain', not 'refused'/)
    })

    it('refuses attachments that are not package tarballs', async () => {
      const plainTar = await packTarball({ 'package.json': '{"name":"refused","version":"1.0.0"}' }, { gzip: false })
      expectNpmError(await call('PUT', `${REGISTRY}/refused`, { json: publishBody({ tarball: plainTar, manifest: { name: 'refused', version: '1.0.0' } }) }), 400, /not a gzip-compressed tarball/)
      const noManifest = await packTarball({ 'index.js': '1' })
      expectNpmError(await call('PUT', `${REGISTRY}/refused`, { json: publishBody({ tarball: noManifest, manifest: { name: 'refused', version: '1.0.0' } }) }), 400, /no package\.json/)
      const body = publishBody({ tarball: noManifest, manifest: { name: 'refused', version: '1.0.0' } })
      ;(body._attachments as Record<string, unknown>)['refused-1.0.0.sigstore'] = { data: 'e30=' }
      expectNpmError(await call('PUT', `${REGISTRY}/refused`, { json: body }), 400, /exactly one attachment/)
      expectNpmError(await call('PUT', `${REGISTRY}/refused`, { body: '{"versions": {', headers: { 'content-type': 'application/json' } }), 400, /not valid JSON/)
    })

    it('refuses a tarball over npm.maxTarballBytes (413)', async () => {
      const random = createHash('sha512')
      const noise = Buffer.concat(Array.from({ length: 5000 }, (_, i) => random.copy().update(String(i)).digest()))
      const { reply } = await publish({ name: 'refused', version: '1.0.0' }, { files: { 'noise.bin': noise.toString('latin1') } })
      expectNpmError(reply, 413, new RegExp(`larger than the limit of ${MAX_TARBALL} bytes \\(npm\\.maxTarballBytes\\)`))
    })

    it('refuses a publish without the right to deploy (401 anonymous, 403 with a reason)', async () => {
      expectNpmError((await publish({ name: 'refused', version: '1.0.0' }, { auth: null })).reply, 401, /authentication is required/)
      expectNpmError((await publish({ name: 'refused', version: '1.0.0' }, { auth: auth.reader })).reply, 403, /user 'reader' may not publish \(deploy\) or deprecate \(annotate\) on 'npm-local\/refused'/)
      expectNpmError((await publish({ name: 'refused', version: '1.0.0' }, { auth: auth.annotator })).reply, 403, /user 'annotator' may not publish \(deploy\) on 'npm-local\/refused'/)
      expectNpmError((await publish({ name: 'refused', version: '1.0.0' }, { auth: 'Basic ' + Buffer.from('dev:wrong-password').toString('base64') })).reply, 401, /bad credentials/)
    })

    it('refuses every write in read-only mode (503 with the message) and still serves reads', async () => {
      expect((await admin('PUT', '/api/v1/system/read-only', { enabled: true, message: 'Maintenance until 18:00' })).status).toBe(200)
      try {
        expectNpmError((await publish({ name: 'refused', version: '1.0.0' })).reply, 503, /^Maintenance until 18:00$/)
        expectNpmError(await call('PUT', `${REGISTRY}/-/package/plain/dist-tags/next`, { json: '1.0.0' }), 503, /Maintenance/)
        expect((await call('GET', `${REGISTRY}/plain`)).status).toBe(200)
      } finally {
        await admin('PUT', '/api/v1/system/read-only', { enabled: false })
      }
    })
  })

  describe('dist-tags', () => {
    it('lists, adds, moves and removes tags (deploy needed to change them)', async () => {
      expect((await call('GET', `${REGISTRY}/-/package/plain/dist-tags`, { auth: auth.reader })).json()).toEqual({ latest: '1.1.0' })
      const added = await call('PUT', `${REGISTRY}/-/package/plain/dist-tags/stable`, { json: '1.0.0', auth: auth.deployer })
      expect(added.status, added.text).toBe(201)
      expect((await call('GET', `${REGISTRY}/-/package/plain/dist-tags`)).json()).toEqual({ latest: '1.1.0', stable: '1.0.0' })
      expect((await call('GET', `${REGISTRY}/plain/stable`)).json()).toMatchObject({ version: '1.0.0' })
      expect((await call('GET', `${REGISTRY}/-/package/plain/dist-tags/stable`)).json()).toBe('1.0.0')
      expect((await call('PUT', `${REGISTRY}/-/package/@team%2futil/dist-tags/stable`, { json: '2.0.0' })).status).toBe(201)
      expect((await call('DELETE', `${REGISTRY}/-/package/plain/dist-tags/stable`)).status).toBe(200)
      expect((await call('GET', `${REGISTRY}/-/package/plain/dist-tags`)).json()).toEqual({ latest: '1.1.0' })
    })

    it('refuses bad tags and tag changes without deploy', async () => {
      expectNpmError(await call('PUT', `${REGISTRY}/-/package/plain/dist-tags/next`, { json: '3.0.0' }), 404, /plain@3\.0\.0 is not in/)
      expectNpmError(await call('PUT', `${REGISTRY}/-/package/plain/dist-tags/x`, { json: '1.0.0' }), 400, /must not be a semver version or range/)
      expectNpmError(await call('PUT', `${REGISTRY}/-/package/plain/dist-tags/1.x`, { json: '1.0.0' }), 400, /must not be a semver version or range/)
      expectNpmError(await call('PUT', `${REGISTRY}/-/package/plain/dist-tags/next`, { body: '1.0.0' }), 400, /not valid JSON/)
      expectNpmError(await call('DELETE', `${REGISTRY}/-/package/plain/dist-tags/latest`), 400, /'latest' tag cannot be removed/)
      expectNpmError(await call('DELETE', `${REGISTRY}/-/package/plain/dist-tags/nope`), 404, /no dist-tag 'nope'/)
      expectNpmError(await call('PUT', `${REGISTRY}/-/package/plain/dist-tags/next`, { json: '1.0.0', auth: auth.annotator }), 403, /user 'annotator' may not deploy/)
      expectNpmError(await call('GET', `${REGISTRY}/-/package/nope/dist-tags`), 404)
    })
  })

  describe('deprecate and unpublish', () => {
    /** The packument as `npm deprecate` and `npm unpublish` read it before sending it back. */
    const document = async (name: string) => (await call('GET', `${REGISTRY}/${encodeURIComponent(name)}?write=true`)).json()

    it('deprecates and undeprecates versions (annotate is enough)', async () => {
      const doc = await document('plain')
      doc.versions['1.0.0'].deprecated = 'use plain@1.1'
      const deprecated = await call('PUT', `${REGISTRY}/plain`, { json: doc, auth: auth.annotator })
      expect(deprecated.status, deprecated.text).toBe(200)
      const after = await document('plain')
      expect(after.versions['1.0.0'].deprecated).toBe('use plain@1.1')
      expect(after.versions['1.1.0'].deprecated).toBeUndefined()
      const abbreviated = (await call('GET', `${REGISTRY}/plain`, { headers: { accept: 'application/vnd.npm.install-v1+json' } })).json()
      expect(abbreviated.versions['1.0.0'].deprecated).toBe('use plain@1.1')

      after.versions['1.0.0'].deprecated = ''
      expect((await call('PUT', `${REGISTRY}/plain`, { json: after, auth: auth.deployer })).status).toBe(200)
      expect((await document('plain')).versions['1.0.0'].deprecated).toBeUndefined()
    })

    it('refuses to deprecate without annotate or deploy, or a version that does not exist', async () => {
      const doc = await document('plain')
      doc.versions['1.0.0'].deprecated = 'x'
      expectNpmError(await call('PUT', `${REGISTRY}/plain`, { json: doc, auth: auth.reader }), 403, /may not publish \(deploy\) or deprecate \(annotate\)/)
      doc.versions['9.0.0'] = { name: 'plain', version: '9.0.0' }
      expectNpmError(await call('PUT', `${REGISTRY}/plain`, { json: doc }), 400, /plain@9\.0\.0 does not exist; publish it with its tarball/)
    })

    it('unpublishes one version as npm does (PUT without it, then DELETE its tarball), releasing the tarball', async () => {
      expect((await publish({ name: 'plain', version: '1.2.0' })).reply.status).toBe(201)
      const doc = await document('plain')
      const tarball = doc.versions['1.2.0'].dist.tarball as string
      delete doc.versions['1.2.0']
      doc['dist-tags'].latest = '1.1.0'
      expectNpmError(await call('PUT', `${REGISTRY}/plain/-rev/${doc._rev}`, { json: doc, auth: auth.deployer }), 403, /may not unpublish \(delete\)/)
      const updated = await call('PUT', `${REGISTRY}/plain/-rev/${doc._rev}`, { json: doc })
      expect(updated.status, updated.text).toBe(200)
      const after = await document('plain')
      expect(Object.keys(after.versions)).toEqual(['1.0.0', '1.1.0'])
      expect(after['dist-tags'].latest).toBe('1.1.0')
      // npm then deletes the tarball, which went with the version already.
      expectNpmError(await call('DELETE', `${new URL(tarball).pathname}/-rev/${after._rev}`), 404)
      expect((await storage('plain/-/plain-1.2.0.tgz')).status).toBe(404)
      expect((await storage('plain/-/plain-1.1.0.tgz')).status).toBe(200)
    })

    it('refuses a change made against a stale revision (409)', async () => {
      const doc = await document('plain')
      const stale = doc._rev as string
      expect((await call('PUT', `${REGISTRY}/-/package/plain/dist-tags/moved`, { json: '1.0.0' })).status).toBe(201)
      delete doc.versions['1.0.0']
      expectNpmError(await call('PUT', `${REGISTRY}/plain/-rev/${stale}`, { json: doc }), 409, /changed since revision/)
      expectNpmError(await call('DELETE', `${REGISTRY}/plain/-rev/${stale}`), 409, /changed since revision/)
      expectNpmError(await call('DELETE', `${REGISTRY}/plain/-rev/not-a-rev`), 409, /not a revision of plain/)
    })

    it('deletes a tarball of a live version together with its version', async () => {
      expect((await publish({ name: 'plain', version: '1.3.0' })).reply.status).toBe(201)
      expect((await call('DELETE', `${REGISTRY}/plain/-/plain-1.3.0.tgz/-rev/1-0`)).status).toBe(200)
      expect(Object.keys((await document('plain')).versions)).not.toContain('1.3.0')
    })

    it('unpublishes a whole package and its tarballs go to garbage collection', async () => {
      const { tarball } = await publish({ name: '@team/gone', version: '1.0.0', description: 'doomed' })
      const sha256 = createHash('sha256').update(tarball).digest('hex')
      const doc = await document('@team/gone')
      expectNpmError(await call('DELETE', `${REGISTRY}/@team%2fgone/-rev/${doc._rev}`, { auth: auth.deployer }), 403, /may not unpublish \(delete\)/)
      expect((await call('DELETE', `${REGISTRY}/@team%2fgone/-rev/${doc._rev}`)).status).toBe(200)
      expectNpmError(await call('GET', `${REGISTRY}/@team%2fgone`), 404)
      expect((await storage('@team/gone/-/gone-1.0.0.tgz')).status).toBe(404)
      expect((await admin('GET', `/artifactory/api/search/checksum?sha256=${sha256}`)).json().results).toEqual([])
      const collected = await server.trove.services.gc.collect(0)
      expect(collected.deleted).toBeGreaterThanOrEqual(1)
      expect(await server.trove.services.blobs.exists(sha256)).toBe(false)
      // It can be published again, and the packument (cached before) shows the new one.
      expect((await publish({ name: '@team/gone', version: '1.0.0', description: 'back' })).reply.status).toBe(201)
      const again = await document('@team/gone')
      expect(again.description).toBe('back')
      expect(again._rev).not.toBe(doc._rev)
    })

    it('goes with its repository', async () => {
      const repo = '/artifactory/api/repositories/npm-doomed'
      expect((await admin('PUT', repo, { key: 'npm-doomed', rclass: 'local', packageType: 'npm' })).status).toBe(200)
      const pkg = await npmPackage({ name: 'doomed', version: '1.0.0' })
      expect((await call('PUT', '/artifactory/api/npm/npm-doomed/doomed', { json: pkg.body, auth: server.adminAuth })).status).toBe(201)
      expect((await admin('DELETE', repo)).status).toBe(200)
      expect((await admin('PUT', repo, { key: 'npm-doomed', rclass: 'local', packageType: 'npm' })).status).toBe(200)
      expectNpmError(await call('GET', '/artifactory/api/npm/npm-doomed/doomed', { auth: server.adminAuth }), 404)
      expect((await call('PUT', '/artifactory/api/npm/npm-doomed/doomed', { json: pkg.body, auth: server.adminAuth })).status).toBe(201)
    })
  })

  describe('login, whoami, ping, search, .npmrc lines', () => {
    it('logs in with a password and returns a token that works as _authToken and in _auth', async () => {
      const login = await call('PUT', `${REGISTRY}/-/user/org.couchdb.user:dev`, { auth: null, json: { _id: 'org.couchdb.user:dev', name: 'dev', password: 'dev-password-1', type: 'user', roles: [], date: new Date().toISOString() } })
      expect(login.status, login.text).toBe(201)
      const token = login.json().token as string
      expect(token).toMatch(/^trv_/)
      expect((await call('GET', `${REGISTRY}/-/whoami`, { auth: `Bearer ${token}` })).json()).toEqual({ username: 'dev' })
      expect((await call('GET', `${REGISTRY}/-/whoami`, { auth: basicAuth('dev', token) })).json()).toEqual({ username: 'dev' })
      expect((await call('GET', `${REGISTRY}/-/whoami`, { auth: auth.dev })).json()).toEqual({ username: 'dev' })

      // A client still holding a revoked token can log in again.
      expect((await call('DELETE', `${REGISTRY}/-/user/token/${token}`, { auth: `Bearer ${token}` })).status).toBe(200)
      expectNpmError(await call('GET', `${REGISTRY}/-/whoami`, { auth: `Bearer ${token}` }), 401, /invalid or expired token/)
      const again = await call('PUT', `${REGISTRY}/-/user/org.couchdb.user:dev`, { auth: `Bearer ${token}`, json: { name: 'dev', password: 'dev-password-1' } })
      expect(again.status, again.text).toBe(201)
    })

    it('refuses a wrong password or an unknown user alike, and requires a signed-in caller for whoami', async () => {
      expectNpmError(await call('PUT', `${REGISTRY}/-/user/org.couchdb.user:dev`, { auth: null, json: { name: 'dev', password: 'nope-nope' } }), 401, /bad username or password for 'dev'/)
      expectNpmError(await call('PUT', `${REGISTRY}/-/user/org.couchdb.user:ghost`, { auth: null, json: { name: 'ghost', password: 'nope-nope' } }), 401, /bad username or password for 'ghost'/)
      expectNpmError(await call('PUT', `${REGISTRY}/-/user/org.couchdb.user:dev`, { auth: null, json: { name: 'other', password: 'x' } }), 400)
      expectNpmError(await call('GET', `${REGISTRY}/-/whoami`, { auth: null }), 401, /authentication is required/)
    })

    it('answers ping anonymously', async () => {
      const reply = await call('GET', `${REGISTRY}/-/ping?write=true`, { auth: null })
      expect(reply.status).toBe(200)
      expect(reply.json()).toEqual({})
    })

    it('searches names, descriptions and keywords of the packages the caller may read', async () => {
      const result = (await call('GET', `${REGISTRY}/-/v1/search?text=plain&size=20`, { auth: auth.reader })).json()
      expect(result.total).toBe(1)
      expect(result.objects[0].package).toMatchObject({ name: 'plain', scope: 'unscoped', version: '1.1.0', description: 'Plain package, again', publisher: { username: 'dev' } })
      expect(result.objects[0].score.final).toBe(1)
      const scoped = (await call('GET', `${REGISTRY}/-/v1/search?text=scope:team`)).json()
      expect(scoped.objects.map((o: { package: { name: string } }) => o.package.name)).toEqual(['@team/gone', '@team/util'])
      expect((await call('GET', `${REGISTRY}/-/v1/search?text=keywords:demo`)).json().total).toBe(0) // 1.1.0 has no keywords
      const paged = (await call('GET', `${REGISTRY}/-/v1/search?text=&size=1&from=1`)).json()
      expect(paged.objects).toHaveLength(1)
      expect(paged.total).toBeGreaterThanOrEqual(3)
      expectNpmError(await call('GET', `${REGISTRY}/-/v1/search?text=plain`, { auth: null }), 401)
      expectNpmError(await call('GET', `${REGISTRY}/-/v1/search?size=many`), 400)
    })

    it('serves ready-made .npmrc lines for the caller', async () => {
      const host = new URL(server.url).host
      const root = await call('GET', '/artifactory/api/npm/auth')
      expect(root.status).toBe(200)
      expect(root.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(root.text).toBe(`//${host}/artifactory/api/npm/:_auth=${auth.dev.slice('Basic '.length)}\nemail=dev@example.test\n`)
      const scoped = await call('GET', `${REGISTRY}/auth/team`, { auth: 'Bearer ' + (await login()) })
      const lines = scoped.text.trim().split('\n')
      expect(lines[0]).toBe(`@team:registry=${server.url}${REGISTRY}/`)
      expect(lines[1]).toMatch(new RegExp(`^//${host}${REGISTRY}/:_authToken=trv_`))
      expect((await call('GET', `${REGISTRY}/auth/@team`)).text.split('\n')[0]).toBe(`@team:registry=${server.url}${REGISTRY}/`)
      expectNpmError(await call('GET', '/artifactory/api/npm/auth', { auth: null }), 401)
      expectNpmError(await call('GET', `${REGISTRY}/auth/team`, { auth: null }), 401)
    })

    async function login(): Promise<string> {
      const reply = await call('PUT', `${REGISTRY}/-/user/org.couchdb.user:dev`, { auth: null, json: { name: 'dev', password: 'dev-password-1' } })
      return reply.json().token as string
    }
  })

  describe('limits', () => {
    it('refuses a metadata document over npm.maxMetadataBytes (413)', async () => {
      const doc = (await call('GET', `${REGISTRY}/plain?write=true`)).json()
      doc.readme = 'x'.repeat(600 * 1024)
      expectNpmError(await call('PUT', `${REGISTRY}/plain`, { json: doc }), 413, /npm\.maxMetadataBytes/)
    })
  })
})
