import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Principal } from '../../core/auth/principal.js'
import { principalName } from '../../core/auth/principal.js'
import { TroveError, denied, notFound } from '../../core/errors.js'
import type { CleanupPolicy } from '../../core/lifecycle/policies-store.js'
import type { CoreServices } from '../../core/services.js'

type KeyParams = { Params: { key: string } }
const POLICIES = '/artifactory/api/cleanup/packages/policies'
const RULES = '/artifactory/api/immutability/rules'

/**
 * Cleanup policies and immutability rules over REST (docs/lifecycle.md):
 * - `GET|POST /artifactory/api/cleanup/packages/policies`, `GET|PUT|DELETE …/{key}`,
 *   `POST|PUT …/{key}/run?dryRun=true|false`, `GET …/{key}/runs`, `GET /artifactory/api/cleanup/runs/{id}`:
 *   system admins, and Project Admins for policies covering only their projects' repositories;
 * - `GET|POST /artifactory/api/immutability/rules`, `GET|PUT|DELETE …/{key}`: admins; Project
 *   Admins may add rules on their projects' repositories, but only an admin changes or lifts one.
 */
export async function lifecyclePolicyRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const { cleanupPolicies, immutability, repositories, authorizer } = services
  const store = cleanupPolicies.store

  const isAdmin = (principal: Principal) => principal.kind === 'user' && principal.isAdmin && !principal.scope
  /** An admin, or a Project Admin of every project that `repos` and `projects` reach (no `**` / `*`). */
  const administers = async (principal: Principal, repos: readonly string[], projects: readonly string[]): Promise<boolean> => {
    if (isAdmin(principal)) return true
    if (principal.kind !== 'user' || repos.includes('**') || repos.includes('*')) return false
    const keys = new Set(projects)
    for (const key of repos) {
      const project = (await repositories.get(key))?.config.projectKey
      if (typeof project !== 'string' || project === '') return false
      keys.add(project)
    }
    if (keys.size === 0) return false
    for (const key of keys) if (!(await authorizer.administersProject(principal, key, 'manageResources'))) return false
    return true
  }
  const managesPolicy = (principal: Principal, policy: CleanupPolicy) => administers(principal, policy.searchCriteria.repos, policy.searchCriteria.projects)
  /** The policy, when the caller may manage it; those who may not are not told it exists. */
  const managedPolicy = async (request: FastifyRequest, key: string) => {
    const policy = await store.get(key)
    if (!policy || !(await managesPolicy(request.principal, policy))) throw notFound(`cleanup policy '${key}' does not exist`)
    return policy
  }

  app.get(POLICIES, { config: { access: 'authenticated' } }, async (request) => {
    const visible: CleanupPolicy[] = []
    for (const policy of await store.list()) if (await managesPolicy(request.principal, policy)) visible.push(policy)
    return visible
  })

  app.get<KeyParams>(`${POLICIES}/:key`, { config: { access: 'authenticated' } }, async (request) => managedPolicy(request, request.params.key))

  const save = async (request: FastifyRequest, key: string, body: unknown, mustBeNew: boolean) => {
    const existing = await store.get(key)
    if (existing && mustBeNew) throw new TroveError('CONFLICT', `cleanup policy '${key}' exists; PUT ${POLICIES}/${key} replaces it`)
    if (existing && !(await managesPolicy(request.principal, existing))) throw notFound(`cleanup policy '${key}' does not exist`)
    const policy = store.validate(key, body, principalName(request.principal), existing)
    if (!(await managesPolicy(request.principal, policy))) {
      throw denied(`user '${principalName(request.principal)}' may not set a cleanup policy on what '${key}' covers: only administrators, and Project Admins for their projects' repositories`)
    }
    for (const repo of policy.searchCriteria.repos) {
      if (repo !== '**' && !(await repositories.get(repo))) throw new TroveError('BAD_REQUEST', `repository '${repo}' does not exist`)
    }
    return { policy, isNew: await store.put(policy) }
  }

  app.post<{ Body: unknown }>(POLICIES, { config: { audit: { action: 'cleanup.policy.create', target: (r) => String((r.body as { key?: unknown } | null)?.key ?? '') }, access: 'authenticated' } }, async (request, reply) => {
    const key = (request.body as { key?: unknown } | null)?.key
    if (typeof key !== 'string') throw new TroveError('BAD_REQUEST', 'the body must be a cleanup policy with a "key"')
    const { policy } = await save(request, key, request.body, true)
    return reply.status(201).send(policy)
  })

  app.put<KeyParams & { Body: unknown }>(`${POLICIES}/:key`, { config: { audit: { action: 'cleanup.policy.put' }, access: 'authenticated' } }, async (request, reply) => {
    const { policy, isNew } = await save(request, request.params.key, request.body, false)
    return reply.status(isNew ? 201 : 200).send(policy)
  })

  app.delete<KeyParams>(`${POLICIES}/:key`, { config: { audit: { action: 'cleanup.policy.delete' }, access: 'authenticated' } }, async (request, reply) => {
    const policy = await managedPolicy(request, request.params.key)
    await store.delete(policy.key)
    return reply.status(204).send()
  })

  const run = async (request: FastifyRequest<KeyParams & { Querystring: { dryRun?: string } }>, reply: import('fastify').FastifyReply) => {
    const policy = await managedPolicy(request, request.params.key)
    const dryRun = request.query.dryRun
    if (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false') throw new TroveError('BAD_REQUEST', `dryRun must be true or false, not '${dryRun}'`)
    if (dryRun === 'true') {
      const { run, items } = await cleanupPolicies.dryRun(policy, principalName(request.principal))
      return reply.status(200).send({ runId: run.id, ...run, items })
    }
    if (!policy.enabled) throw new TroveError('BAD_REQUEST', `cleanup policy '${policy.key}' is disabled`)
    const started = await cleanupPolicies.start(policy, principalName(request.principal))
    return reply.status(201).send({ runId: started.id, ...started })
  }
  const runConfig = { config: { audit: { action: 'cleanup.policy.run' }, access: 'authenticated' as const } }
  app.post<KeyParams & { Querystring: { dryRun?: string } }>(`${POLICIES}/:key/run`, runConfig, run)
  app.put<KeyParams & { Querystring: { dryRun?: string } }>(`${POLICIES}/:key/run`, runConfig, run)

  app.get<KeyParams>(`${POLICIES}/:key/runs`, { config: { access: 'authenticated' } }, async (request) => {
    const policy = await managedPolicy(request, request.params.key)
    return store.runs(policy.key)
  })

  app.get<{ Params: { id: string }; Querystring: { offset?: string; limit?: string } }>('/artifactory/api/cleanup/runs/:id', { config: { access: 'authenticated' } }, async (request) => {
    const found = await store.run(request.params.id)
    if (!found) throw notFound(`cleanup run '${request.params.id}' does not exist`)
    await managedPolicy(request, found.policyKey).catch(() => {
      // The run of a policy deleted since: admins only.
      if (!isAdmin(request.principal)) throw notFound(`cleanup run '${request.params.id}' does not exist`)
    })
    const offset = Math.max(0, Number.parseInt(request.query.offset ?? '0', 10) || 0)
    const limit = Math.min(10_000, Math.max(1, Number.parseInt(request.query.limit ?? '10000', 10) || 10_000))
    return { ...found, items: await store.items(found.id, offset, limit) }
  })

  // --- Immutability rules.

  app.get(RULES, { config: { access: 'authenticated' } }, async (request) => {
    const visible = []
    for (const rule of await immutability.list()) if (await administers(request.principal, rule.repositories, [])) visible.push(rule)
    return visible
  })

  app.get<KeyParams>(`${RULES}/:key`, { config: { access: 'authenticated' } }, async (request) => {
    const rule = await immutability.get(request.params.key)
    if (!rule || !(await administers(request.principal, rule.repositories, []))) throw notFound(`immutability rule '${request.params.key}' does not exist`)
    return rule
  })

  const saveRule = async (request: FastifyRequest, key: string, body: unknown, mustBeNew: boolean) => {
    const existing = await immutability.get(key)
    if (existing && mustBeNew) throw new TroveError('CONFLICT', `immutability rule '${key}' exists; PUT ${RULES}/${key} replaces it`)
    // Changing a rule may lift it: that is an administrator's decision.
    if (existing && !isAdmin(request.principal)) throw denied(`only an administrator changes or lifts immutability rule '${key}'`)
    const rule = immutability.validate(key, body, principalName(request.principal), existing)
    if (!(await administers(request.principal, rule.repositories, []))) {
      throw denied(`user '${principalName(request.principal)}' may not add an immutability rule on these repositories: only administrators, and Project Admins for their projects' repositories`)
    }
    return { rule, isNew: await immutability.put(rule) }
  }

  app.post<{ Body: unknown }>(RULES, { config: { audit: { action: 'immutability.rule.create', target: (r) => String((r.body as { key?: unknown } | null)?.key ?? '') }, access: 'authenticated' } }, async (request, reply) => {
    const key = (request.body as { key?: unknown } | null)?.key
    if (typeof key !== 'string') throw new TroveError('BAD_REQUEST', 'the body must be an immutability rule with a "key"')
    const { rule } = await saveRule(request, key, request.body, true)
    return reply.status(201).send(rule)
  })

  app.put<KeyParams & { Body: unknown }>(`${RULES}/:key`, { config: { audit: { action: 'immutability.rule.put' }, access: 'authenticated' } }, async (request, reply) => {
    const { rule, isNew } = await saveRule(request, request.params.key, request.body, false)
    return reply.status(isNew ? 201 : 200).send(rule)
  })

  app.delete<KeyParams>(`${RULES}/:key`, { config: { audit: { action: 'immutability.rule.delete' }, access: 'admin' } }, async (request, reply) => {
    if (!(await immutability.delete(request.params.key))) throw notFound(`immutability rule '${request.params.key}' does not exist`)
    return reply.status(204).send()
  })
}
