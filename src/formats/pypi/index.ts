import { twoLevelVersions } from '../../core/index.js'
import type { Format } from '../format.js'
import { pypiScanning } from './scanning.js'
import { PYPI_PREFIX, pypiRoutes } from './routes.js'
import { pypiPackageViews } from './package-views.js'
import { pypiSetMeUp } from './set-me-up.js'

/**
 * PyPI repositories: the simple repository API (PEP 503/691, with PEP 592 yanks and PEP 658/714
 * core metadata) and the legacy upload API under `/artifactory/api/pypi/<repo>/`, for pip and
 * twine. Distributions are plain assets (`<project>/<version>/<file>`, with `<file>.metadata`
 * beside each wheel) with `pypi.*` properties, so the generic REST API deletes and annotates
 * (yanks) them and the pages follow. Remote repositories pull pages and files through the core's
 * RemoteEngine; virtual ones merge their members' pages with a dependency-confusion guard.
 */
export const pypiFormat: Format = {
  id: 'pypi',
  kinds: ['local', 'remote', 'virtual'],
  scanning: pypiScanning,
  title: 'PyPI',
  setMeUp: pypiSetMeUp,
  // A release is its version folder; deleting it deletes its files in one change (the pages follow).
  packageVersions: (services) =>
    twoLevelVersions((repository, units, user) => services.artifacts.applyChanges(repository, { removeFiles: units.flatMap((u) => u.paths) }, user)),
  console: { packageNoun: 'package', browseHints: ['In the file tree, a project is a folder (its normalized name), with a folder per version holding its wheels and sdists.'] },
  packages: (services) => pypiPackageViews(services.artifacts),
  register: async (app, services) => {
    await app.register(async (scope) => pypiRoutes(scope, services), { prefix: PYPI_PREFIX })
  },
}
