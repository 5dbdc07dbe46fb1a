/**
 * Issue #13, item 9: a manifest reference that is neither a valid tag nor a valid digest names no
 * manifest. Reads and deletes answer `404 MANIFEST_UNKNOWN` (distribution-spec: a manifest that is
 * not found is 404; `MANIFEST_INVALID` describes a refused upload), after the caller's rights were
 * checked; a push keeps its `400`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildImage } from '../../../test/helpers/oci-images.js'
import { RegistryClient, expectOciError, startOciServer, type OciServer } from '../../../test/helpers/oci.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'

const backends = await metadataBackends()

/** Invalid references as a client may send them (percent-encoded where a URL needs it). */
const INVALID_TAGS = ['bad..tag!', '.hidden', '-dash', 'a'.repeat(129), '%E2%9C%93']
const INVALID_DIGESTS = ['sha256:xyz', 'sha256:' + 'A'.repeat(64), 'md5:abc!', 'sha512:' + 'a'.repeat(128)]

describe.each(backends)('manifest references that are neither tag nor digest on %s', (backend) => {
  let server: OciServer
  let admin: RegistryClient
  let image: ReturnType<typeof buildImage>

  beforeAll(async () => {
    server = await startOciServer(backend)
    admin = new RegistryClient(server, server.adminAuth)
    await admin.createRepository('docker-local')
    image = buildImage('references', 1)
    await admin.pushImage('docker-local/app', 'v1', image)
  })
  afterAll(async () => server?.close())

  it('answers GET, HEAD and DELETE with 404 MANIFEST_UNKNOWN, under /v2/ and the Artifactory path', async () => {
    for (const reference of [...INVALID_TAGS, ...INVALID_DIGESTS]) {
      for (const path of [`/v2/docker-local/app/manifests/${reference}`, `/artifactory/api/docker/docker-local/v2/app/manifests/${reference}`]) {
        const errors = await expectOciError(await admin.call('GET', path), 404, 'MANIFEST_UNKNOWN')
        expect(errors[0]!.detail).toEqual({ name: path.startsWith('/v2/') ? 'docker-local/app' : 'app' })
        const head = await admin.call('HEAD', path)
        expect(head.status, reference).toBe(404)
        expect(await head.text()).toBe('')
        await expectOciError(await admin.call('DELETE', path), 404, 'MANIFEST_UNKNOWN')
      }
    }
    // Nothing was deleted.
    expect((await admin.call('GET', '/v2/docker-local/app/manifests/v1', { headers: { accept: image.manifest.descriptor.mediaType } })).status).toBe(200)
  })

  it('checks the caller first: anonymous is challenged, a reader may not delete', async () => {
    const anonymous = admin.as(undefined)
    const get = await anonymous.call('GET', '/v2/docker-local/app/manifests/bad..tag!')
    await expectOciError(get, 401, 'UNAUTHORIZED')
    const reader = admin.as(await admin.createUser('reader', { 'docker-local': ['read'] }))
    await expectOciError(await reader.call('GET', '/v2/docker-local/app/manifests/bad..tag!'), 404, 'MANIFEST_UNKNOWN')
    await expectOciError(await reader.call('DELETE', '/v2/docker-local/app/manifests/bad..tag!'), 403, 'DENIED')
  })

  it('keeps refusing a push to such a reference with 400', async () => {
    const put = (reference: string) => admin.call('PUT', `/v2/docker-local/app/manifests/${reference}`, { headers: { 'content-type': image.manifest.descriptor.mediaType }, body: image.manifest.bytes })
    for (const reference of INVALID_TAGS) await expectOciError(await put(reference), 400, 'MANIFEST_INVALID', /invalid tag/)
    for (const reference of INVALID_DIGESTS) await expectOciError(await put(reference), 400, 'DIGEST_INVALID')
  })
})
