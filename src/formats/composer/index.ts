import type { Format } from '../format.js'
import { ComposerLayout } from './composer-layout.js'
import { composerConfig } from './config.js'
import { COMPOSER_PREFIX } from './documents.js'
import { archives } from './migrations/20261207-composer-archives.js'
import { composerRoutes } from './routes.js'
import { composerScanning } from './scanning.js'
import { composerSetMeUp } from './set-me-up.js'
import { composerVersions } from './lifecycle-versions.js'

/**
 * Composer (PHP) repositories under `/artifactory/api/composer/<repo>/`: Composer 2's
 * `packages.json` and minified `p2/` documents, dist archives with sha1 shasums, deploys of
 * package zips (the version from composer.json or the `composer.version` property), remote
 * repositories of any Composer 2 repository (dists cached through Trove) and virtual ones. On the
 * plain layout, archives are `<vendor>/<package>/<version>/<package>-<version>.zip`.
 */
export const composerFormat: Format = {
  id: 'composer',
  kinds: ['local', 'remote', 'virtual'],
  title: 'Composer',
  config: composerConfig,
  migrations: { '20261207-composer-archives': archives },
  scanning: composerScanning,
  setMeUp: composerSetMeUp,
  console: {
    packageNoun: 'package',
    browseHints: ['Archives are <vendor>/<package>/<version>/<package>-<version>.zip; packages.json and p2/ are generated from them.'],
  },
  register: async (app, services) => {
    const layout = new ComposerLayout(services)
    await app.register(async (scope) => composerRoutes(scope, services, layout), { prefix: COMPOSER_PREFIX })
  },
  plainLayout: (services) => new ComposerLayout(services),
  packageVersions: (services) => composerVersions(services),
}
