import type { Format } from '../format.js'
import { CargoLayout } from './cargo-layout.js'
import { CARGO_PREFIX, cargoRoutes } from './routes.js'
import { cargoScanning } from './scanning.js'
import { cargoSetMeUp } from './set-me-up.js'
import { crateVersions } from './lifecycle-versions.js'

/**
 * Cargo registries under `/artifactory/api/cargo/<repo>`: the sparse index (`index/config.json`,
 * index files), downloads, and the web API of `cargo publish`, `cargo yank` and `cargo owner`.
 * Crates are assets (`<name>/<name>-<version>.crate`) whose properties hold their index line; the
 * index is generated from them (see cargo-layout.ts). Remote repositories proxy a sparse-index
 * upstream; virtual ones merge their members' index lines through the core's resolution engine.
 */
export const cargoFormat: Format = {
  id: 'cargo',
  kinds: ['local', 'remote', 'virtual'],
  title: 'Cargo',
  scanning: cargoScanning,
  setMeUp: cargoSetMeUp,
  console: {
    packageNoun: 'crate',
    browseHints: ['A crate is a folder (its lower-cased name) of <name>-<version>.crate files; the sparse index under index/ is generated from them.'],
  },
  register: async (app, services) => {
    const layout = new CargoLayout(services)
    await app.register(async (scope) => cargoRoutes(scope, services, layout), { prefix: CARGO_PREFIX })
  },
  plainLayout: (services) => new CargoLayout(services),
  packageVersions: (services) => crateVersions(services),
}
