import type { FormatContext } from '../../core/index.js'
import type { Format } from '../format.js'
import { GoLayout } from './go-layout.js'
import { GoStore } from './go-store.js'
import { GoPublisher } from './publish.js'
import { GoResolver } from './resolver.js'
import { GO_PREFIX, goRoutes } from './routes.js'
import { goScanning } from './scanning.js'
import { goSetMeUp } from './set-me-up.js'
import { SUMDB_SETTINGS, SumdbProxy } from './sumdb.js'
import { goVersions } from './versions.js'

/** The format's parts over the core services. */
function parts(services: FormatContext) {
  const store = new GoStore(services.artifacts)
  const publisher = new GoPublisher(services.blobs, services.artifacts)
  const resolver = new GoResolver(services.repositories, services.artifacts, services.remote, store, services.resolution)
  return { store, publisher, resolver, sumdb: new SumdbProxy(services.upstream, services.resolution) }
}

/**
 * Go module repositories: the GOPROXY protocol under `/artifactory/api/go/<repo>` (Artifactory's
 * URL), for `go mod download`, `go get` and `go build` with `GOPROXY` set to it. Module versions
 * are plain assets (`<escaped module>/@v/<version>.{info,mod,zip}`) with `go.*` properties, so the
 * generic REST API browses, annotates and deletes them. Local repositories take uploads as
 * `jf go-publish` sends them; remote ones cache any GOPROXY upstream and proxy its checksum
 * database; virtual ones merge their members' version lists with the dependency-confusion guard.
 */
export const goFormat: Format = {
  id: 'go',
  kinds: ['local', 'remote', 'virtual'],
  title: 'Go',
  scanning: goScanning,
  settings: SUMDB_SETTINGS,
  setMeUp: goSetMeUp,
  packageVersions: (services) => goVersions(services),
  console: {
    packageNoun: 'module',
    browseHints: ['A module is a folder (its path, upper-case letters written !x), with an @v folder holding each version’s .info, .mod and .zip.'],
  },
  register: async (app, services) => {
    const { publisher, resolver, sumdb } = parts(services)
    await app.register(async (scope) => goRoutes(scope, services, resolver, publisher, sumdb), { prefix: GO_PREFIX })
  },
  plainLayout: (services) => {
    const { publisher, store } = parts(services)
    return new GoLayout(publisher, store)
  },
}
