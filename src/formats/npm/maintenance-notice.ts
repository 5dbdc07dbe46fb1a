import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * While a maintenance window is announced, the HTTP layer names it in `npm-notice` on every
 * answer, and the npm client prints that header, but only from answers it does not keep in its
 * cache (a cached one comes back marked `x-local-cache`, and npm stays silent). npm revalidates
 * package documents at every install anyway, so during an announcement they are sent as not to
 * be stored; tarballs (`…/-/…`) keep their caching.
 */
export async function packageDocumentsUncachedDuringMaintenance(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const path = request.url.split('?')[0] ?? ''
  if (request.maintenance && request.method === 'GET' && !path.includes('/-/')) reply.header('cache-control', 'no-store')
  return payload
}
