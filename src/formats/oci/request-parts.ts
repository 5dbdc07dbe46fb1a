import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'
import { OciError } from './errors.js'
import { MAX_MANIFEST_BYTES } from './manifests.js'

/** What the registry's handlers read of a request besides its URL: a manifest body, declared lengths, query values. */

/** Reads a manifest body, refusing more than 4 MiB with 413 (distribution-spec, "Pushing Manifests"). */
export async function readManifestBody(raw: IncomingMessage): Promise<Buffer> {
  const tooLarge = () =>
    new OciError('MANIFEST_INVALID', `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`, { status: 413, detail: { limit: MAX_MANIFEST_BYTES } })
  const declared = Number(raw.headers['content-length'])
  if (Number.isFinite(declared) && declared > MAX_MANIFEST_BYTES) throw tooLarge()
  const chunks: Buffer[] = []
  let length = 0
  // Not destroyed when refused: the error handler drains the rest (see uploadBody).
  for await (const chunk of raw.iterator({ destroyOnReturn: false })) {
    length += (chunk as Buffer).length
    if (length > MAX_MANIFEST_BYTES) throw tooLarge()
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  if (length !== undefined) return Number(length) > 0
  return request.headers['transfer-encoding'] !== undefined
}

export function stringOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

export function listOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}
