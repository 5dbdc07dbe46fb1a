import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { TooManyLoginsError } from '../core/auth/login-limiter.js'
import { assertJsonDepth } from '../core/json.js'
import { formatContext } from '../core/format-context.js'
import type { CoreServices } from '../core/services.js'
import type { Format } from '../formats/format.js'
import { AccessGuard, installAccessHooks } from './access.js'
import { installAuditHooks } from './audit.js'
import { installMaintenanceHooks } from './maintenance.js'
import { maintenanceRoutes } from './routes/maintenance.js'
import { webhookRoutes } from './routes/webhooks.js'
import { requestRoutes } from './routes/requests.js'
import { reviewerRoutes } from './routes/reviewers.js'
import { auditRoutes } from './routes/audit.js'
import { normalizeError, sendRestError } from './errors.js'
import { artifactRoutes } from './routes/artifacts.js'
import { formatRoutes } from './routes/formats.js'
import { packageRoutes } from './routes/packages.js'
import { repositoryRoutes } from './routes/repositories.js'
import { projectRoutes } from './routes/projects.js'
import { securityRoutes } from './routes/security.js'
import { ssoRoutes } from './routes/sso.js'
import { storageRoutes } from './routes/storage.js'
import { systemRoutes } from './routes/system.js'
import { uiRoutes } from './routes/ui.js'
import { uiSecurityRoutes } from './routes/ui-security.js'
import { uiProjectRoutes } from './routes/ui-projects.js'
import { vulndbRoutes } from './routes/vulndb.js'
import { scanPolicyRoutes } from './routes/scan-policies.js'
import { xrayRoutes } from './routes/xray.js'
import { federationRoutes } from './routes/federation.js'
import { lifecycleTrashRoutes } from './routes/lifecycle-trash.js'
import { lifecycleUsageRoutes } from './routes/lifecycle-usage.js'
import { lifecyclePolicyRoutes } from './routes/lifecycle-policies.js'

/** How often Node checks open connections against the headers and request timeouts. */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1000

/**
 * The HTTP layer: parse, authenticate, authorise, call one service method, stream the result.
 * Timeouts are set on purpose (Fastify's defaults have none); see `http` in the configuration.
 */
export async function buildHttpApp(services: CoreServices, formats: readonly Format[], logger: Logger): Promise<FastifyInstance> {
  const http = services.config.http
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request, written by the onResponse hook below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: http.jsonBodyLimitBytes,
    connectionTimeout: http.idleTimeoutSecs * 1000,
    keepAliveTimeout: http.keepAliveTimeoutSecs * 1000,
    requestTimeout: http.requestTimeoutSecs * 1000,
    // Node enforces headersTimeout only when it sweeps its connections, every 30 s by default: a client
    // trickling header bytes (never idle) would outlive a short headers timeout by that much.
    http: { headersTimeout: http.headersTimeoutSecs * 1000, connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS },
    forceCloseConnections: 'idle',
    // Only the configured proxies' X-Forwarded-* are believed (request.ip, the login limits).
    trustProxy: http.trustedProxies.length > 0 ? [...http.trustedProxies] : false,
    return503OnClosing: true,
    // Image names and deep paths are long; find-my-way answers 404 past this length otherwise.
    routerOptions: { maxParamLength: 2048, ignoreDuplicateSlashes: false, ignoreTrailingSlash: false },
    // What the router refuses before any route runs (a URL that is not valid percent-encoding, a
    // path past maxParamLength) gets the REST error body too, not Fastify's own.
    frameworkErrors: (err, request, reply) => sendRestError(reply, normalizeError(err, request)),
  })

  // Fastify's own JSON parser (with its __proto__ and constructor checks), behind the depth limit
  // every JSON body from a client gets (core/json.ts).
  const parseJsonBody = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      assertJsonDepth(body as string, 'the request body')
    } catch (err) {
      done(err as Error, undefined)
      return
    }
    parseJsonBody(request, body as string, done)
  })

  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), user: principalLabel(request.principal) },
      'request',
    )
  })

  app.setErrorHandler(async (err, request, reply) => sendRestError(reply, normalizeError(err, request)))
  app.setNotFoundHandler({}, async (request, reply) =>
    sendRestError(reply, { status: 404, code: 'NOT_FOUND', message: `no such resource: ${request.method} ${request.url.split('?')[0]}` }),
  )

  // Refused password logins (login-limiter.ts) say when to come back, whatever the protocol's error body.
  app.addHook('onError', async (_request, reply, err) => {
    if (err instanceof TooManyLoginsError) reply.header('retry-after', String(err.retryAfterSecs))
  })

  // Before the access hooks: refusals (401, 403, read-only) are audited and name the maintenance window too.
  installAuditHooks(app, services)
  const maintenance = installMaintenanceHooks(app, services.maintenance)
  installAccessHooks(app, { authenticator: services.authenticator, guard: new AccessGuard(services.authorizer), settings: services.settings })
  maintenance.enforce()

  await app.register(async (scope) => systemRoutes(scope, services))
  await app.register(async (scope) => repositoryRoutes(scope, services))
  await app.register(async (scope) => securityRoutes(scope, services))
  await app.register(async (scope) => projectRoutes(scope, services))
  await app.register(async (scope) => storageRoutes(scope, services))
  // Each format gets the core's services without the raw database and storage, and its own tables and settings.
  const contexts = new Map(formats.map((f) => [f.id, formatContext(services)]))
  const layouts = new Map(formats.flatMap((f) => (f.plainLayout ? [[f.id, f.plainLayout(contexts.get(f.id)!)] as const] : [])))
  await app.register(async (scope) => artifactRoutes(scope, services, layouts))
  await app.register(async (scope) => federationRoutes(scope, services))
  // Files replicated from another member: plain-layout formats regenerate what they derive from them (indexes).
  services.federation.receiver.onApplied((repository, path, change) => {
    layouts.get(repository.packageType)?.changed?.(repository, path, change).catch((err: unknown) => logger.warn({ err, repo: repository.key, path }, 'a format could not take in a replicated file'))
  })
  await app.register(async (scope) => lifecycleTrashRoutes(scope, services, layouts))
  await app.register(async (scope) => lifecycleUsageRoutes(scope, services))
  for (const format of formats) if (format.packageVersions) services.cleanupPolicies.useVersions(format.id, format.packageVersions(contexts.get(format.id)!))
  await app.register(async (scope) => lifecyclePolicyRoutes(scope, services))
  await app.register(async (scope) => uiRoutes(scope, services))
  await app.register(async (scope) => uiSecurityRoutes(scope, services))
  await app.register(async (scope) => uiProjectRoutes(scope, services))
  await app.register(async (scope) => formatRoutes(scope, services, formats))
  const packageViews = new Map(formats.flatMap((f) => (f.packages ? [[f.id, f.packages(contexts.get(f.id)!)] as const] : [])))
  await app.register(async (scope) => packageRoutes(scope, services, formats, packageViews))
  await app.register(async (scope) => ssoRoutes(scope, services))
  await app.register(async (scope) => vulndbRoutes(scope, services))
  await app.register(async (scope) => scanPolicyRoutes(scope, services))
  await app.register(async (scope) => xrayRoutes(scope, services))
  await app.register(async (scope) => auditRoutes(scope, services))
  await app.register(async (scope) => maintenanceRoutes(scope, services))
  await app.register(async (scope) => webhookRoutes(scope, services))
  await app.register(async (scope) => requestRoutes(scope, services))
  await app.register(async (scope) => reviewerRoutes(scope, services))
  for (const format of formats) await app.register(async (scope) => format.register(scope, contexts.get(format.id)!))
  return app
}

function principalLabel(principal: { kind: string; name?: string } | undefined): string {
  return principal?.kind === 'user' && principal.name ? principal.name : 'anonymous'
}
