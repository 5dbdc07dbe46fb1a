import { pino } from 'pino'
import type { TroveConfig } from '../../config/config.js'
import { openMetadataStore } from '../../metadata/database.js'
import { JobQueue } from '../jobs/job-queue.js'
import { REMATCH_JOB } from './scanner.js'
import type { ScanningRegistry } from './scanning-registry.js'
import { summaryJson, VulnerabilityDatabase } from './vulndb.js'

/**
 * `trove vulndb import <path>`: imports OSV records (a `.json` file, a `.zip` archive or a folder)
 * into the configured metadata store, then queues a re-match of the stored scan results, which a
 * running server performs at its next job poll. Names are normalised as the formats' ecosystems
 * say (`ecosystems`), as the server does. Returns the summary printed to the user.
 */
export async function importVulnerabilities(config: TroveConfig, path: string, ecosystems: ScanningRegistry): Promise<Record<string, unknown>> {
  const metadata = openMetadataStore(config.databaseUrl)
  try {
    await metadata.migrate()
    const summary = await new VulnerabilityDatabase(metadata.db, ecosystems).importPath(path)
    if (summary.changedPackages.size > 0) {
      const packages = summary.changedPackages.size > 2000 ? undefined : [...summary.changedPackages]
      await new JobQueue(metadata.db, pino({ level: 'silent' })).enqueue(REMATCH_JOB, { packages })
    }
    return summaryJson(summary)
  } finally {
    await metadata.close()
  }
}
