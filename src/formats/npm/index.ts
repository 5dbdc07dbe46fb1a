import type { Format } from '../format.js'
import { npmConfig } from './config.js'
import { packageDocumentsUncachedDuringMaintenance } from './maintenance-notice.js'
import { npm } from './migrations/004-npm.js'
import { npmScanning } from './scanning.js'
import { NPM_PREFIX, npmRoutes } from './routes.js'
import { npmPackageViews } from './package-views.js'
import { npmSetMeUp } from './set-me-up.js'
import { npmVersions } from './versions.js'
import type { NpmTables } from './tables.js'

/**
 * npm repositories: the npm registry API (publish, install, dist-tags, deprecate, unpublish,
 * search, login) under `/artifactory/api/npm/<repo>/`, for the npm, pnpm and yarn clients.
 * Tarballs are assets at Artifactory's paths (`name/-/name-1.0.0.tgz`); packages and versions
 * live in the npm tables (migration 004-npm). Remote repositories pull packuments and tarballs
 * through the core's RemoteEngine; virtual ones merge their members' packuments with
 * `mergePackuments`, with a dependency-confusion guard (see resolver.ts).
 */
export const npmFormat: Format = {
  id: 'npm',
  kinds: ['local', 'remote', 'virtual'],
  scanning: npmScanning,
  migrations: { '004-npm': npm },
  config: npmConfig,
  title: 'npm',
  setMeUp: npmSetMeUp,
  packageVersions: npmVersions,
  console: { packageNoun: 'package', browseHints: ['In the file tree, a package is a folder; its tarballs are in its - folder.'] },
  packages: (services) => npmPackageViews(services.tables<NpmTables>()),
  register: async (app, services) => {
    await app.register(
      async (scope) => {
        scope.addHook('onSend', packageDocumentsUncachedDuringMaintenance)
        await npmRoutes(scope, services)
      },
      { prefix: NPM_PREFIX },
    )
  },
}
