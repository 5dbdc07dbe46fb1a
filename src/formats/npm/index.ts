import type { Format } from '../format.js'
import { NPM_PREFIX, npmRoutes } from './routes.js'

/**
 * npm repositories: the npm registry API (publish, install, dist-tags, deprecate, unpublish,
 * search, login) under `/artifactory/api/npm/<repo>/`, for the npm, pnpm and yarn clients.
 * Tarballs are assets at Artifactory's paths (`name/-/name-1.0.0.tgz`); packages and versions
 * live in the npm tables (migration 004-npm). Local repositories only for now.
 * TODO(#4): remote and virtual repositories, merging packuments with `mergePackuments`.
 */
export const npmFormat: Format = {
  id: 'npm',
  kinds: ['local'],
  register: async (app, services) => {
    await app.register(async (scope) => npmRoutes(scope, services), { prefix: NPM_PREFIX })
  },
}
