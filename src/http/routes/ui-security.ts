import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { UiDownloadVerdict } from '../../api/scanning.js'
import { TroveError } from '../../core/errors.js'
import { parseRepositoryPath } from '../../core/paths.js'
import type { CoreServices } from '../../core/services.js'
import type { AccessGuard } from '../access.js'

/**
 * The console's download verdict: `GET /api/v1/ui/scan/verdict/<repo>/<path>` (read on the file)
 * asks the download policies what a client's download of the file would get now, without sending
 * it, so that the artifact page says whether it is blocked and why, in the words of the refusal.
 */
export async function uiSecurityRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const targetOf = (request: FastifyRequest) => parseRepositoryPath((request.params as { '*': string })['*'])
  const readAccess = async (request: FastifyRequest, guard: AccessGuard) => {
    const target = targetOf(request)
    await guard.require(request.principal, 'read', target.repoKey, target.path)
  }
  app.get('/api/v1/ui/scan/verdict/*', { config: { access: readAccess } }, async (request): Promise<UiDownloadVerdict> => {
    const target = targetOf(request)
    if (target.path === '') throw new TroveError('BAD_REQUEST', 'name a file: /api/v1/ui/scan/verdict/<repo>/<path>')
    const repository = await services.repositories.require(target.repoKey)
    const report = await services.scanner.report(repository, target.path)
    const policies = (await services.policies.policiesFor([repository])).map((p) => p.name)
    try {
      // A folder naming an artifact (an image's tag) is named as asked; a file by its name, as the policies name it.
      const label = report.path === target.path ? undefined : `${repository.key}/${target.path}`
      await services.policies.assertDownloadAllowed({ repository, path: report.path, sha256: report.sha256, label })
      return { allowed: true, policies }
    } catch (err) {
      if (!(err instanceof TroveError) || err.code !== 'DENIED') throw err
      return { allowed: false, policies, reason: err.message, details: err.details ?? {} }
    }
  })
}
