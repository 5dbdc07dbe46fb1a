import type http from 'node:http'
import { blobsOfImage, sha256, type BuiltImage } from '../helpers/oci-images.js'
import { basicAuth } from '../helpers/oci.js'
import { sendBody } from './remote-support.js'

export interface FakeImage {
  readonly mediaType: string
  readonly bytes: Buffer
}

/**
 * A small registry upstream: `tags` maps `<image>:<tag>` to a manifest, `manifests` and `blobs` are
 * by digest. `bearer` turns on the token login; `status` forces an answer to every request.
 */
export function fakeRegistry(options: { bearer?: { user: string; password: string } } = {}) {
  const state = {
    tags: new Map<string, FakeImage>(),
    manifests: new Map<string, FakeImage>(),
    blobs: new Map<string, Buffer>(),
    status: undefined as number | undefined,
    add(name: string, tag: string, image: BuiltImage) {
      const m = { mediaType: image.manifest.descriptor.mediaType, bytes: image.manifest.bytes }
      state.tags.set(`${name}:${tag}`, m)
      state.manifests.set(image.manifest.descriptor.digest, m)
      for (const blob of blobsOfImage(image).slice(1)) state.blobs.set(blob.descriptor.digest, blob.bytes)
    },
  }
  const handler = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://upstream')
    if (options.bearer) {
      if (url.pathname === '/token') {
        if (request.headers.authorization !== basicAuth(options.bearer.user, options.bearer.password)) return sendBody(response, 'no', {}, 401)
        return sendBody(response, JSON.stringify({ token: 'the-upstream-token', expires_in: 300 }), { 'content-type': 'application/json' })
      }
      if (request.headers.authorization !== 'Bearer the-upstream-token') {
        const realm = `http://${request.headers.host}/token`
        return sendBody(response, '{}', { 'www-authenticate': `Bearer realm="${realm}",service="fake",scope="repository:x:pull"` }, 401)
      }
    }
    if (state.status !== undefined) return sendBody(response, 'forced', {}, state.status)
    const listed = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname)
    if (listed) {
      const tags = [...state.tags.keys()].filter((k) => k.startsWith(`${listed[1]}:`)).map((k) => k.slice(listed[1]!.length + 1))
      if (tags.length === 0) return sendBody(response, JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'unknown' }] }), { 'content-type': 'application/json' }, 404)
      return sendBody(response, JSON.stringify({ name: listed[1], tags }), { 'content-type': 'application/json' })
    }
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname)
    if (!match) return sendBody(response, 'not found', {}, 404)
    const [, name, kind, ref] = match as unknown as [string, string, string, string]
    if (kind === 'blobs') {
      const blob = state.blobs.get(ref)
      if (!blob) return sendBody(response, 'unknown blob', {}, 404)
      return sendBody(response, request.method === 'HEAD' ? '' : blob, { 'content-type': 'application/octet-stream', 'content-length': String(blob.length) })
    }
    const manifest = ref.startsWith('sha256:') ? state.manifests.get(ref) : state.tags.get(`${name}:${ref}`)
    if (!manifest) return sendBody(response, 'unknown manifest', {}, 404)
    const headers = { 'content-type': manifest.mediaType, 'docker-content-digest': `sha256:${sha256(manifest.bytes)}`, 'content-length': String(manifest.bytes.length) }
    if (request.method === 'HEAD') {
      response.writeHead(200, headers)
      response.end()
      return
    }
    return sendBody(response, manifest.bytes, headers)
  }
  return { state, handler }
}
