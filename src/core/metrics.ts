import { Counter, Registry, collectDefaultMetrics } from 'prom-client'

/** Prometheus metrics of one Trove process, exposed at `/artifactory/api/v1/metrics`. */
export class Metrics {
  readonly registry = new Registry()

  /** Upstream requests of remote repositories by outcome: ok, not_found, error, timeout, refused (by the host policy). */
  readonly upstreamRequests = new Counter({
    name: 'trove_remote_upstream_requests_total',
    help: 'Requests remote repositories sent upstream, by outcome',
    labelNames: ['repo', 'outcome'] as const,
    registers: [this.registry],
  })

  /** Cached metadata served past its cache period because the upstream failed. */
  readonly staleServed = new Counter({
    name: 'trove_remote_stale_served_total',
    help: 'Cached items served past their cache period because the upstream failed',
    labelNames: ['repo'] as const,
    registers: [this.registry],
  })

  /** Remote requests answered from the cache, and those that went upstream. */
  readonly remoteCache = new Counter({
    name: 'trove_remote_cache_total',
    help: 'Remote repository lookups by result: hit, miss, negative',
    labelNames: ['repo', 'result'] as const,
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'trove_' })
  }
}
