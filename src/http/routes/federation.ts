import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { TroveError } from '../../core/errors.js'
import { FEDERATION_TOKEN_HEADER } from '../../core/federation/member-client.js'
import { digestTree, bucketEntries } from '../../core/federation/versions.js'
import type { FederationDb } from '../../core/federation/tables.js'
import type { CoreServices } from '../../core/services.js'
import type { AccessGuard } from '../access.js'

type RepoParams = { Params: { repo: string }; Querystring: { member?: string } }

/**
 * Federated repositories (docs/federation.md). Between instances: join, blobs, changes and the
 * digest tree, authenticated by the federation token the admins configured (never a user's);
 * writes among them are refused in read-only mode like every write, so a read-only instance
 * receives nothing until it leaves it. For admins: status, pause/resume, full sync, remove member.
 */
export async function federationRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const federation = services.federation
  const receiver = federation.receiver
  const peerTokens = services.config.federation.peerTokens.map((t) => Buffer.from(t))
  const peer = async (request: FastifyRequest) => {
    const given = request.headers[FEDERATION_TOKEN_HEADER]
    if (peerTokens.length === 0) throw new TroveError('DENIED', 'this instance accepts no federation members (federation.peerTokens is empty)')
    const bytes = Buffer.from(typeof given === 'string' ? given : '')
    if (!peerTokens.some((t) => t.length === bytes.length && timingSafeEqual(t, bytes))) throw new TroveError('UNAUTHORIZED', 'a federation member\'s token is required')
  }
  const db = services.metadata.db as unknown as FederationDb

  // Blob bodies stream through untouched; JSON keeps the app's parser.
  app.addContentTypeParser('application/octet-stream', (_request, _payload, done) => done(null))

  app.post('/artifactory/api/federation/join', { config: { access: peer } }, async (request) => receiver.join(request.body))
  app.post('/artifactory/api/federation/blobs/missing', { config: { access: peer } }, async (request) => ({ missing: await receiver.missing(request.body) }))
  app.put<{ Params: { sha256: string }; Querystring: { repo?: string } }>('/artifactory/api/federation/blobs/:sha256', { config: { access: peer } }, async (request, reply) => {
    await receiver.putBlob(request.query.repo ?? '', request.params.sha256, request.raw)
    return reply.status(201).send({})
  })
  app.post<{ Params: { sha256: string }; Querystring: { repo?: string } }>('/artifactory/api/federation/blobs/:sha256/session', { config: { access: peer } }, async (request) =>
    receiver.blobSession(request.query.repo ?? '', request.params.sha256),
  )
  app.patch<{ Params: { id: string }; Querystring: { repo?: string; offset?: string } }>('/artifactory/api/federation/blobs/sessions/:id', { config: { access: peer } }, async (request) =>
    receiver.appendBlob(request.query.repo ?? '', request.params.id, Number(request.query.offset ?? 'NaN'), request.raw),
  )
  app.post<{ Params: { id: string }; Querystring: { repo?: string; digest?: string } }>('/artifactory/api/federation/blobs/sessions/:id/complete', { config: { access: peer } }, async (request) => {
    await receiver.completeBlob(request.query.repo ?? '', request.params.id, request.query.digest ?? '')
    return {}
  })
  app.post<RepoParams>('/artifactory/api/federation/changes/:repo', { config: { access: peer } }, async (request) => receiver.apply(request.params.repo, request.body))
  app.get<RepoParams>('/artifactory/api/federation/tree/:repo', { config: { access: peer } }, async (request) => {
    await receiver.federated(request.params.repo)
    return digestTree(db, request.params.repo)
  })
  app.post<RepoParams & { Body: { buckets?: unknown } }>('/artifactory/api/federation/entries/:repo', { config: { access: peer, allowWhenReadOnly: false } }, async (request) => {
    await receiver.federated(request.params.repo)
    const buckets = request.body?.buckets
    if (!Array.isArray(buckets) || buckets.length > 256 || !buckets.every((b) => Number.isInteger(b) && b >= 0 && b < 256)) {
      throw new TroveError('BAD_REQUEST', 'expected {"buckets": [0–255, …]}')
    }
    return { entries: await bucketEntries(db, request.params.repo, buckets as number[]) }
  })

  // Admins (and whoever may manage the repository).
  const manage = async (request: FastifyRequest, guard: AccessGuard) => guard.require(request.principal, 'manage', (request.params as { repo: string }).repo)
  const memberOf = (request: FastifyRequest<RepoParams>) => {
    const member = request.query.member
    if (!member) throw new TroveError('BAD_REQUEST', 'the query parameter member (a member URL) is required')
    return member
  }
  app.get<RepoParams>('/artifactory/api/federation/status/:repo', { config: { access: manage } }, async (request) => federation.status(request.params.repo))
  app.post<RepoParams>('/artifactory/api/federation/fullSync/:repo', { config: { access: manage, audit: { action: 'federation.full-sync' } } }, async (request, reply) => {
    await federation.requestFullSync(request.params.repo, request.query.member)
    return reply.status(202).send({ status: 'full sync requested' })
  })
  app.post<RepoParams>('/artifactory/api/federation/pause/:repo', { config: { access: manage, audit: { action: 'federation.pause' } } }, async (request) => {
    await federation.setPaused(request.params.repo, memberOf(request), true)
    return federation.status(request.params.repo)
  })
  app.post<RepoParams>('/artifactory/api/federation/resume/:repo', { config: { access: manage, audit: { action: 'federation.resume' } } }, async (request) => {
    await federation.setPaused(request.params.repo, memberOf(request), false)
    return federation.status(request.params.repo)
  })
  app.delete<RepoParams>('/artifactory/api/federation/members/:repo', { config: { access: manage, audit: { action: 'federation.remove-member' } } }, async (request) => {
    await federation.removeMember(request.params.repo, memberOf(request))
    return federation.status(request.params.repo)
  })
}
