import type { Format } from '../format.js'
import { gemsConfig } from './config.js'
import { GemsLayout } from './gems-layout.js'
import { GEMS_PREFIX, gemsRoutes } from './routes.js'
import { gemsScanning } from './scanning.js'
import { gemsSetMeUp } from './set-me-up.js'
import { gemVersions } from './versions.js'

/**
 * RubyGems repositories (`gems`, as Artifactory's packageType): the compact index and the legacy
 * indexes for bundler and gem, and the push and yank API, under `/artifactory/api/gems/<repo>/`.
 * Gems are plain assets (`gems/<name>-<version>[-<platform>].gem`, with
 * `quick/Marshal.4.8/<…>.gemspec.rz` beside) with `gem.*` properties; the indexes are generated
 * from them at each request. Remote repositories pull indexes and files through the core's
 * RemoteEngine; virtual ones merge their members' with the dependency-confusion guard.
 */
export const gemsFormat: Format = {
  id: 'gems',
  title: 'RubyGems',
  kinds: ['local', 'remote', 'virtual'],
  config: gemsConfig,
  scanning: gemsScanning,
  setMeUp: gemsSetMeUp,
  console: {
    packageNoun: 'gem',
    browseHints: ['Gems are in gems/ (<name>-<version>[-<platform>].gem); quick/Marshal.4.8/ holds the specs gem install reads. The indexes are generated.'],
  },
  plainLayout: (services) => new GemsLayout(services),
  packageVersions: (services) => gemVersions(services),
  register: async (app, services) => {
    await app.register(async (scope) => gemsRoutes(scope, services), { prefix: GEMS_PREFIX })
  },
}
