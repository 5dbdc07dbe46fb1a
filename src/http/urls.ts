import type { FastifyRequest } from 'fastify'

/** The external base URL: the configured one, else the scheme and host the client used. */
export function baseUrlOf(request: FastifyRequest, configured: string | undefined): string {
  if (configured) return configured.replace(/\/+$/, '')
  return `${request.protocol}://${request.host}`
}

/** Percent-encodes each segment of a repository path, keeping the slashes. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}

/** `/a/b` for `a/b`, `/` for the root: Artifactory's way of showing item paths. */
export function displayPath(path: string): string {
  return `/${path}`
}

export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString()
}
