import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ContentCoding, RenderedDocument } from '../core/metadata-cache/document-cache.js'
import { matchesEtag } from './ranges.js'

const SUFFIX: Record<ContentCoding, string> = { br: '-br', gzip: '-gz' }

/** The validator of a document's form: the uncompressed one's, or with `-br`/`-gz` before the closing quote. */
export function formEtag(etag: string, coding: ContentCoding | undefined): string {
  return coding === undefined ? etag : `${etag.slice(0, -1)}${SUFFIX[coding]}"`
}

/** The codings `Accept-Encoding` allows, best first (br, then gzip); none for identity only. */
export function acceptedCodings(header: string | undefined): ContentCoding[] {
  if (!header) return []
  const allowed = new Map<string, number>()
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';')
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined)
    allowed.set(name!, q === undefined ? 1 : Number(q))
  }
  const star = allowed.get('*') ?? 0
  return (['br', 'gzip'] as const).filter((c) => (allowed.get(c) ?? (c === 'gzip' ? allowed.get('x-gzip') : undefined) ?? star) > 0)
}

/**
 * Sends a rendered document (see DocumentCache): compressed as the client accepts (`Vary:
 * Accept-Encoding`), with a strong ETag per form, and `304` when `If-None-Match` names any form
 * of the same bytes. Headers the route set before (cache control, `Vary: Accept`) stay.
 */
export function sendDocument(request: FastifyRequest, reply: FastifyReply, document: RenderedDocument) {
  let coding: ContentCoding | undefined
  let body = document.body
  for (const candidate of acceptedCodings(request.headers['accept-encoding'])) {
    const form = document.encoded(candidate)
    if (form) {
      coding = candidate
      body = form
      break
    }
  }
  if (document.isCompressible) {
    const vary = reply.getHeader('vary')
    reply.header('vary', vary ? `${String(vary)}, accept-encoding` : 'accept-encoding')
  }
  reply.header('etag', formEtag(document.etag, coding)).type(document.contentType)
  for (const [name, value] of Object.entries(document.headers)) reply.header(name, value)
  const ifNoneMatch = request.headers['if-none-match']
  if (ifNoneMatch && [undefined, 'gzip', 'br'].some((c) => matchesEtag(ifNoneMatch, formEtag(document.etag, c as ContentCoding | undefined)))) {
    return reply.status(304).send()
  }
  if (coding) reply.header('content-encoding', coding)
  reply.header('content-length', body.length)
  return reply.send(request.method === 'HEAD' ? undefined : body)
}
