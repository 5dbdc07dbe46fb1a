import type { FastifyBaseLogger } from 'fastify'
import type { ArtifactService } from '../../core/artifacts/artifact-service.js'

/**
 * Counts manifest downloads in memory and writes them in one transaction every few seconds, so
 * that pulls (the registry's hottest requests) cost no database write each. A crash loses at most
 * the last interval's counts.
 */
export class DownloadRecorder {
  private pending = new Map<string, { repoKey: string; path: string; count: number; at: number; user: string }>()
  private readonly timer: NodeJS.Timeout
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly artifacts: ArtifactService,
    private readonly logger: FastifyBaseLogger,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs)
    this.timer.unref()
  }

  record(repoKey: string, path: string, user: string): void {
    const key = `${repoKey}\0${path}`
    const entry = this.pending.get(key)
    if (entry) {
      entry.count++
      entry.at = Date.now()
      entry.user = user
    } else {
      this.pending.set(key, { repoKey, path, count: 1, at: Date.now(), user })
    }
  }

  /** Writes what was counted so far. Failures are logged; the counts are dropped, not retried. */
  flush(): Promise<void> {
    const batch = [...this.pending.values()]
    this.pending = new Map()
    if (batch.length === 0) return this.flushing
    this.flushing = this.flushing
      .then(() => this.artifacts.recordDownloads(batch))
      .catch((err: unknown) => this.logger.warn({ err, entries: batch.length }, 'could not record image downloads'))
    return this.flushing
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.flush()
  }
}
