import type { Format } from '../format.js'
import { helm } from './migrations/007-helm.js'
import { HelmLayout, REINDEX_JOB } from './helm-layout.js'
import { HELM_PREFIX, helmRoutes } from './routes.js'
import { helmSetMeUp } from './set-me-up.js'
import { helmVersions } from './versions.js'

/**
 * Helm chart repositories (HTTP, as `helm repo add` uses them) under
 * `/artifactory/api/helm/<repo>/`, and on the plain layout `/artifactory/<repo>/<name>-<version>.tgz`.
 * Charts are assets; `index.yaml` is generated (see helm-layout.ts). Charts as OCI artifacts are
 * served by docker repositories (formats/oci), not here.
 */
export const helmFormat: Format = {
  id: 'helm',
  kinds: ['local', 'remote', 'virtual'],
  title: 'Helm',
  setMeUp: helmSetMeUp,
  migrations: { '007-helm': helm },
  packageVersions: (services) => helmVersions(services),
  console: { packageNoun: 'chart', browseHints: ['Charts are <chart>-<version>.tgz files; index.yaml is generated from them.'] },
  register: async (app, services) => {
    const layout = new HelmLayout(services, app.log)
    services.jobs.register(REINDEX_JOB, (payload) => layout.runReindexJob(payload))
    // Federated repositories replicate chart files only: the receiver reads each one's Chart.yaml.
    services.federation.receiver.onApplied((repository, path, change) => {
      if (repository.packageType !== 'helm' || change !== 'deployed' || !path.endsWith('.tgz')) return
      layout.recordReplicated(repository, path).catch((err: unknown) => app.log.warn({ err, repo: repository.key, path }, 'could not record a replicated Helm chart'))
    })
    await app.register(async (scope) => helmRoutes(scope, services, layout), { prefix: HELM_PREFIX })
  },
  plainLayout: (services) => new HelmLayout(services),
}
