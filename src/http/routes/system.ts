import type { FastifyInstance } from 'fastify'
import type { StorageInfo } from '../../api/storage.js'
import type { ClusterNodes, Readiness, ReadOnlyState, SystemVersion } from '../../api/system.js'
import type { CoreServices } from '../../core/services.js'
import { TroveError } from '../../core/errors.js'
import { VERSION } from '../../version.js'

export async function systemRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  app.get('/artifactory/api/system/ping', { config: { access: 'public' } }, async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send('OK'),
  )

  app.get('/artifactory/api/system/version', { config: { access: 'public' } }, async () => ({
    version: VERSION,
    revision: VERSION,
    addons: [],
    license: 'Apache-2.0 (Trove, open source)',
  }) satisfies SystemVersion)

  // Liveness: the process answers. Readiness: it can also reach both of its stores.
  for (const prefix of ['', '/artifactory']) {
    app.get(`${prefix}/api/v1/system/liveness`, { config: { access: 'public' } }, async () => ({ status: 'UP' }))
    app.get(`${prefix}/api/v1/system/readiness`, { config: { access: 'public' } }, async (request, reply) => {
      const checks = await Promise.all([
        probe('metadata', () => services.metadata.checkHealth()),
        probe('blobstore', () => services.storage.checkHealth()),
        // A draining node (SIGTERM) still finishes its requests, but takes no new ones.
        ...(services.instances.currentState === 'draining' ? [{ name: 'node', status: 'DOWN' as const, error: 'draining: shutting down' }] : []),
      ])
      const isReady = checks.every((c) => c.status === 'UP')
      if (!isReady) request.log.warn({ checks }, 'not ready')
      return reply.status(isReady ? 200 : 503).send({ status: isReady ? 'UP' : 'DOWN', checks } satisfies Readiness)
    })
  }

  // The nodes of the cluster (one, on SQLite), from their heartbeats.
  app.get('/api/v1/system/nodes', { config: { access: 'admin' } }, async () => {
    const nodes = await services.instances.nodes()
    return {
      nodes: nodes.map((n) => ({
        id: n.id,
        hostname: n.hostname,
        pid: n.pid,
        address: n.address,
        version: n.version,
        startedAt: new Date(n.startedAt).toISOString(),
        lastHeartbeat: new Date(n.heartbeatAt).toISOString(),
        state: n.state,
        isSelf: n.isSelf,
      })),
    } satisfies ClusterNodes
  })

  // Artifactory's storage summary: binaries, the file store, per-repository file counts and used space.
  app.get('/artifactory/api/storageinfo', { config: { access: 'admin' } }, async () => services.storageSummaries.summarize())

  // Runs garbage collection now (Artifactory's route) and answers with what it removed.
  app.post('/artifactory/api/system/storage/gc', { config: { audit: { action: 'system.gc', target: () => 'storage' }, access: 'admin' } }, async () =>
    services.gc.collect(services.config.gc.graceSecs * 1000),
  )

  // The global offline switch: every remote repository serves only what it has cached.
  app.get('/api/v1/system/offline', { config: { access: 'public' } }, async () => {
    const state = await services.settings.offline()
    return { enabled: state.isOffline, updatedAt: state.updatedAt ? new Date(state.updatedAt).toISOString() : null }
  })
  app.put<{ Body: unknown }>('/api/v1/system/offline', { config: { audit: { action: 'system.offline', target: () => 'offline mode' }, access: 'admin' } }, async (request) => {
    const enabled = (request.body as { enabled?: unknown } | null)?.enabled
    if (typeof enabled !== 'boolean') throw new TroveError('BAD_REQUEST', 'the body must be {"enabled": true|false}')
    await services.settings.setOffline(enabled)
    request.log.warn({ offline: enabled }, 'global offline mode changed')
    const state = await services.settings.offline()
    return { enabled: state.isOffline, updatedAt: state.updatedAt ? new Date(state.updatedAt).toISOString() : null }
  })

  // Prometheus metrics of this node.
  app.get('/artifactory/api/v1/metrics', { config: { access: 'authenticated' } }, async (_request, reply) =>
    reply.type(services.metrics.registry.contentType).send(await services.metrics.registry.metrics()),
  )

  app.get('/api/v1/system/read-only', { config: { access: 'public' } }, async () => readOnlyBody(await services.settings.readOnly()))

  app.put<{ Body: unknown }>(
    '/api/v1/system/read-only',
    { config: { audit: { action: 'system.read-only', target: () => 'read-only mode' }, access: 'admin', allowWhenReadOnly: true } },
    async (request) => {
      const body = request.body
      if (typeof body !== 'object' || body === null || typeof (body as { enabled?: unknown }).enabled !== 'boolean') {
        throw new TroveError('BAD_REQUEST', 'the body must be {"enabled": true|false, "message": "…"}')
      }
      const { enabled, message } = body as { enabled: boolean; message?: unknown }
      if (message !== undefined && typeof message !== 'string') throw new TroveError('BAD_REQUEST', 'message must be a string')
      const state = await services.settings.setReadOnly(enabled, message)
      request.log.warn({ readOnly: state.isReadOnly, by: request.principal }, 'read-only mode changed')
      return readOnlyBody(state)
    },
  )
}

function readOnlyBody(state: { isReadOnly: boolean; message: string; updatedAt: number | null }): ReadOnlyState {
  return { enabled: state.isReadOnly, message: state.message, updatedAt: state.updatedAt ? new Date(state.updatedAt).toISOString() : null }
}

async function probe(name: string, check: () => Promise<void>): Promise<{ name: string; status: 'UP' | 'DOWN'; error?: string }> {
  try {
    await check()
    return { name, status: 'UP' }
  } catch (err) {
    return { name, status: 'DOWN', error: (err as Error).message }
  }
}
