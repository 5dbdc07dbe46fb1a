import { createHash } from 'node:crypto'
import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { GeneratedFile } from '../core/artifacts/plain-layout.js'
import { principalName } from '../core/auth/principal.js'
import { TroveError } from '../core/errors.js'
import type { Downloads, ServedFile } from '../core/remote/downloads.js'
import type { Sender } from '../storage/storage-driver.js'
import { matchesEtag, notModifiedSince, parseRange } from './ranges.js'

/**
 * Sends a blob body with the headers already set on `reply`. The body goes straight to the socket
 * through the driver's reused buffers (see {@link Sender}: a stream allocates one per chunk, and
 * under many concurrent downloads collecting them costs throughput), so Fastify steps aside once
 * the headers are written; a failure mid-way cuts the connection, so the client sees an error.
 * A sender to offload (see {@link Sender.offload}) is answered with its header and no body instead.
 */
export async function sendBody(request: FastifyRequest, reply: FastifyReply, send: Sender, context: Record<string, unknown>): Promise<void> {
  if (send.offload) {
    // The proxy sends the file, and answers the client's Range itself: Trove's answer is a 200 without a body.
    reply.status(200).removeHeader('content-range').removeHeader('content-length')
    return reply.header(send.offload.header, send.offload.value).send()
  }
  reply.hijack()
  const response = reply.raw
  response.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders)
  try {
    await send(response)
    response.end()
  } catch (err) {
    request.log.warn({ err, ...context }, 'download cut short')
    response.destroy()
  }
}

/**
 * Answers a `GET`/`HEAD` with a file, as every format's file downloads do: validators
 * (`ETag`, `Last-Modified`) and conditional requests, `Range`, Artifactory's checksum headers, the
 * download count (on the file of the repository that served it, see {@link Downloads.count}),
 * and headers that keep a browser from running stored content on Trove's origin. A file pulled
 * through from an upstream streams as it is cached; an error mid-way cuts the connection, so the
 * client sees a failure rather than a short file. The download policies were asked before
 * ({@link Downloads.admit}). With download redirects on, a `GET` of a stored file, once every
 * check has passed and the download is counted, answers 307 to the object store's own
 * short-lived URL instead (the client sends its `Range` there).
 */
export async function sendFile(request: FastifyRequest, reply: FastifyReply, downloads: Downloads, found: ServedFile): Promise<void> {
  reply.header('x-content-type-options', 'nosniff')
  reply.header('content-security-policy', "sandbox; default-src 'none'")
  if (found.kind === 'stream') {
    reply.type(found.contentType)
    if (found.size !== undefined) reply.header('content-length', found.size)
    if (request.method === 'HEAD') {
      found.stream.resume() // the cache write goes on without a reader
      return reply.send()
    }
    downloads.count(found, principalName(request.principal))
    return reply.send(found.stream)
  }
  const asset = found.asset
  const etag = `"${asset.sha1}"`
  reply.header('etag', etag)
  reply.header('last-modified', new Date(asset.modifiedAt).toUTCString())
  reply.header('accept-ranges', 'bytes')
  reply.header('x-checksum-sha1', asset.sha1)
  reply.header('x-checksum-sha256', asset.sha256)
  reply.header('x-checksum-md5', asset.md5)
  reply.header('x-artifactory-filename', encodeURIComponent(asset.name))
  reply.type(asset.contentType)
  if (
    matchesEtag(request.headers['if-none-match'], etag) ||
    (!request.headers['if-none-match'] && notModifiedSince(request.headers['if-modified-since'], asset.modifiedAt))
  ) {
    return reply.status(304).send()
  }
  if (request.method === 'GET') {
    const location = await downloads.downloadUrl(asset)
    if (location !== undefined) {
      downloads.count(found, principalName(request.principal))
      return reply.status(307).header('location', location).header('cache-control', 'no-store').send()
    }
  }
  const ifRange = request.headers['if-range']
  const range = ifRange && ifRange !== etag ? ({ kind: 'full' } as const) : parseRange(request.headers.range, asset.size)
  if (range.kind === 'unsatisfiable') {
    reply.header('content-range', `bytes */${asset.size}`)
    throw new TroveError('RANGE_NOT_SATISFIABLE', `range ${request.headers.range} is outside the ${asset.size} bytes of the file`)
  }
  if (range.kind === 'partial') {
    reply.status(206).header('content-range', `bytes ${range.range.start}-${range.range.end}/${asset.size}`)
    reply.header('content-length', range.range.end - range.range.start + 1)
  } else {
    reply.header('content-length', asset.size)
  }
  if (request.method === 'HEAD') return reply.send()
  const send = await downloads.openSender(asset, range.kind === 'partial' ? range.range : undefined)
  downloads.count(found, principalName(request.principal))
  await sendBody(request, reply, send, { repo: asset.repoKey, path: asset.path })
}

/** A file a format generates (checksums, metadata, an index), with validators so clients can revalidate it. */
export function sendGenerated(request: FastifyRequest, reply: FastifyReply, file: GeneratedFile) {
  const body = typeof file.body === 'string' ? Buffer.from(file.body) : file.body
  const etag = `"${createHash('sha1').update(body).digest('hex')}"`
  const modifiedAt = file.modifiedAt ?? Date.now()
  reply.header('etag', etag)
  reply.header('last-modified', new Date(modifiedAt).toUTCString())
  reply.header('x-content-type-options', 'nosniff')
  reply.type(file.contentType)
  if (
    matchesEtag(request.headers['if-none-match'], etag) ||
    (!request.headers['if-none-match'] && notModifiedSince(request.headers['if-modified-since'], modifiedAt))
  ) {
    return reply.status(304).send()
  }
  reply.header('content-length', body.length)
  return request.method === 'HEAD' ? reply.send() : reply.send(body)
}
