import type { FastifyReply } from 'fastify'
import { OciError } from './errors.js'
import { digestOf, type ImageName, type RegistryBase } from './names.js'
import { byteOrder } from './registry.js'
import { stringOf } from './request-parts.js'
import { progressRange, type UploadSession } from './uploads.js'

/** The registry's answers that carry no body: a blob created, an upload accepted, and tag and catalog pages. */

export function blobCreated(reply: FastifyReply, target: RegistryBase, name: ImageName, hex: string) {
  return reply
    .status(201)
    .header('location', `${target.prefix}/${name.name}/blobs/${digestOf(hex)}`)
    .header('docker-content-digest', digestOf(hex))
    .header('content-length', 0)
    .send()
}

export function uploadAccepted(reply: FastifyReply, target: RegistryBase, name: ImageName, session: UploadSession) {
  if (reply.statusCode === 200) reply.status(202)
  return reply
    .header('location', uploadLocation(target, name, session))
    .header('range', progressRange(session.size))
    .header('docker-upload-uuid', session.id)
    .header('content-length', 0)
    .send()
}

export function uploadLocation(target: RegistryBase, name: ImageName, session: UploadSession): string {
  return `${target.prefix}/${name.name}/blobs/uploads/${session.id}`
}

/**
 * `n` and `last` pagination (distribution-spec, "Listing Tags"): up to `n` items after `last`, in
 * order, and a `Link` to the next page when more remain. `n=0` is an empty page without a link.
 */
export function paginate(items: readonly string[], query: unknown, path: string): { items: string[]; link?: string } {
  const params = (query ?? {}) as Record<string, string | string[] | undefined>
  const last = stringOf(params.last)
  const nText = stringOf(params.n)
  if (nText !== undefined && !/^\d+$/.test(nText)) throw new OciError('UNSUPPORTED', `n must be a non-negative integer, not '${nText}'`, { status: 400 })
  const after = last === undefined ? [...items] : items.filter((item) => byteOrder(item, last) > 0)
  if (nText === undefined) return { items: after }
  const n = Number(nText)
  const page = after.slice(0, n)
  if (n === 0 || after.length <= n) return { items: page }
  return { items: page, link: `<${path}?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}>; rel="next"` }
}
