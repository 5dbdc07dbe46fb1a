import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database } from '../../metadata/schema.js'
import type { ArtifactService } from '../artifacts/artifact-service.js'
import { isTroveError } from '../errors.js'
import type { RepositoryService } from '../repositories/repository-service.js'
import type { FreedRecorder } from './usage.js'

/** Files looked at (and evicted) per query: memory stays flat whatever the cache's size. */
const PAGE_SIZE = 500
const HOUR_MS = 3600 * 1000

export interface EvictionResult {
  readonly repositories: number
  readonly files: number
  readonly bytes: number
}

/**
 * Remote cache eviction (Artifactory's `unusedArtifactsCleanupPeriodHours`): a remote
 * repository's cached files, metadata included, that nobody downloaded for that many hours (nor
 * were cached or re-checked upstream in that time) are removed through the normal delete, which
 * releases the project's quota; the next pull fetches them again. The blobs are left to garbage
 * collection. Remote caches do not go to the trash.
 */
export class CacheEviction {
  constructor(
    private readonly deps: {
      readonly db: Kysely<Database>
      readonly repositories: Pick<RepositoryService, 'list'>
      readonly artifacts: Pick<ArtifactService, 'delete'>
      readonly freed?: FreedRecorder | undefined
      readonly logger?: Pick<Logger, 'info' | 'warn'> | undefined
    },
  ) {}

  async run(now = Date.now()): Promise<EvictionResult> {
    let repositories = 0
    let files = 0
    let bytes = 0
    for (const repository of await this.deps.repositories.list({ rclass: 'remote' })) {
      const hours = repository.config.unusedArtifactsCleanupPeriodHours
      if (typeof hours !== 'number' || !(hours > 0)) continue
      repositories++
      const cutoff = now - hours * HOUR_MS
      let evicted = 0
      let freed = 0
      let after: string | undefined
      for (;;) {
        let query = this.deps.db
          .selectFrom('assets')
          .select(['path', 'size'])
          .where('repo_key', '=', repository.key)
          .where('created_at', '<', cutoff)
          .where((eb) => eb.or([eb('downloaded_at', 'is', null), eb('downloaded_at', '<', cutoff)]))
          .where((eb) => eb.or([eb('fetched_at', 'is', null), eb('fetched_at', '<', cutoff)]))
        if (after !== undefined) query = query.where('path', '>', after)
        const page = await query.orderBy('path').limit(PAGE_SIZE).execute()
        for (const file of page) {
          try {
            await this.deps.artifacts.delete(repository, file.path)
            evicted++
            freed += Number(file.size)
          } catch (err) {
            // Gone meanwhile (another node evicted it): nothing to do.
            if (!(isTroveError(err) && err.code === 'NOT_FOUND')) throw err
          }
        }
        if (page.length < PAGE_SIZE) break
        after = page[page.length - 1]!.path
      }
      if (evicted > 0) {
        this.deps.logger?.info({ repo: repository.key, files: evicted, bytes: freed, hours }, 'evicted unused cached files')
        await this.deps.freed?.recordFreed({ repoKey: repository.key, bytes: freed, files: evicted, source: 'eviction' })
      }
      files += evicted
      bytes += freed
    }
    return { repositories, files, bytes }
  }
}
