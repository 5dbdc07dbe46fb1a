import type { TroveConfig } from './config/config.js'
import { ImmutabilityRules } from './core/lifecycle/immutability.js'
import { CleanupPolicies } from './core/lifecycle/policies.js'
import { CleanupPolicyStore } from './core/lifecycle/policies-store.js'
import type { CoreServices } from './core/services.js'

const DAY_MS = 24 * 3600 * 1000

/**
 * The service's own housekeeping as jobs of the queue (run by whichever node or process runs
 * jobs): garbage collection, pruning the audit and webhook delivery logs, evicting remote caches'
 * unused files, and daily usage snapshots, each on its configured period (0: only on request).
 */
export function scheduleUpkeep(services: Pick<CoreServices, 'jobs' | 'gc' | 'audit' | 'webhooks' | 'cacheEviction' | 'usage'>, config: TroveConfig): void {
  const { jobs, gc, audit, webhooks, cacheEviction, usage } = services
  jobs.register('gc', async () => gc.collect(config.gc.graceSecs * 1000))
  if (config.gc.intervalSecs > 0) jobs.schedule('gc', config.gc.intervalSecs * 1000)
  // The audit log and the webhook delivery log are kept for the same period.
  jobs.register('audit-prune', async () => {
    const retentionMs = config.operations.auditRetentionDays * DAY_MS
    return { deleted: await audit.prune(retentionMs), deliveries: await webhooks.prune(retentionMs) }
  })
  jobs.schedule('audit-prune', DAY_MS)
  jobs.register('cache-eviction', async () => cacheEviction.run())
  if (config.upkeep.cacheEvictionIntervalSecs > 0) jobs.schedule('cache-eviction', config.upkeep.cacheEvictionIntervalSecs * 1000)
  jobs.register('usage-snapshot', async () => ({ repositories: await usage.snapshot() }))
  if (config.upkeep.usageSnapshotIntervalSecs > 0) jobs.schedule('usage-snapshot', config.upkeep.usageSnapshotIntervalSecs * 1000)
}

/**
 * Immutability rules, asked in every change that removes or overwrites files, and cleanup
 * policies, whose runs are jobs (docs/lifecycle.md).
 */
export function lifecycleRules(deps: Omit<ConstructorParameters<typeof CleanupPolicies>[1], 'immutability'>): Pick<CoreServices, 'immutability' | 'cleanupPolicies'> {
  const immutability = new ImmutabilityRules(deps.db)
  deps.artifacts.checkChanges((repository, trx, touched) => immutability.check(repository, trx, touched))
  const cleanupPolicies = new CleanupPolicies(new CleanupPolicyStore(deps.db), { ...deps, immutability })
  cleanupPolicies.registerJobs()
  return { immutability, cleanupPolicies }
}
