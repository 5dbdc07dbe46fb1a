import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database } from '../../metadata/schema.js'
import type { RepositoryService } from '../repositories/repository-service.js'
import { assessReport } from '../scanning/reports.js'
import type { Scanner } from '../scanning/scanner.js'
import type { Notifications } from './notifications.js'

/**
 * After each finished scan with findings: `scan.findings` to the repository's project's webhooks
 * (and system ones), with the worst level found; webhooks compare it with their `minSeverity`.
 */
export function announceScanFindings(deps: { db: Kysely<Database>; scanner: Scanner; repositories: RepositoryService; notifications: Notifications; logger: Logger }): void {
  deps.scanner.onScanned(({ repoKey, sha256 }) => {
    void (async () => {
      const repository = await deps.repositories.get(repoKey)
      const asset = await deps.db.selectFrom('assets').select('path').where('repo_key', '=', repoKey).where('sha256', '=', sha256).orderBy('path').limit(1).executeTakeFirst()
      if (!repository || !asset) return
      const report = assessReport(await deps.scanner.report(repository, asset.path))
      const worst = report.vulnerabilities[0]
      if (!worst) return
      const project = typeof repository.config.projectKey === 'string' && repository.config.projectKey !== '' ? repository.config.projectKey : undefined
      await deps.notifications.emit({
        type: 'scan.findings',
        project,
        severity: worst.level,
        text: `Scan of ${repoKey}/${asset.path}: ${report.vulnerabilities.length} vulnerabilities, the worst ${worst.level} (${worst.ids[0] ?? ''})`,
        data: { repository: repoKey, path: asset.path, count: report.vulnerabilities.length, worst: worst.level, ids: report.vulnerabilities.map((v) => v.ids[0]) },
      })
    })().catch((err: unknown) => deps.logger.warn({ err, repo: repoKey }, 'could not announce scan findings'))
  })
}
