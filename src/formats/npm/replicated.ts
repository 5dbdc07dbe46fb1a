import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import semver from 'semver'
import { type ChangeTransaction, type FormatContext, type Repository, isTroveError } from '../../core/index.js'
import { normalizeManifest, type JsonObject } from './manifest.js'
import type { NpmStore } from './npm-store.js'
import type { NpmTables } from './tables.js'
import { TarballInspector, type TarballFacts } from './tarball.js'

const TARBALL = /^((?:@[^/]+\/)?[^/@][^/]*)\/-\/[^/]+\.tgz$/

/**
 * Federated npm repositories: another member replicates files only (the tarballs), so the
 * versions are recorded here from each replicated tarball's own package.json, as a publish
 * records them (the version Trove serves is the tarball's package.json in both cases), and a
 * replicated delete of a tarball removes its version. `latest` follows the newest release, as
 * for a default publish; other dist-tags and deprecations live in npm's own rows and are not
 * replicated (docs/federation.md).
 */
export function followReplication(services: FormatContext, store: NpmStore, maxUnpackedBytes: number, warn: (err: unknown, path: string) => void): void {
  const tables = services.tables<NpmTables>()
  services.federation.receiver.onApplied((repository, path, change) => {
    const match = TARBALL.exec(path)
    if (repository.packageType !== 'npm' || !match) return
    const name = match[1]!
    const work = change === 'deleted' ? removed(repository, name, path) : deployed(repository, name, path)
    work.catch((err: unknown) => warn(err, path))
  })

  async function deployed(repository: Repository, name: string, path: string): Promise<void> {
    if ((await store.versionOfTarball(repository.key, name, path)) !== undefined) return
    const asset = await services.artifacts.getAsset(repository.key, path)
    if (!asset) return
    let facts: TarballFacts | undefined
    const inspector = new TarballInspector({ maxUnpackedBytes, verify: async (found) => void (facts = found) })
    await pipeline(await services.blobs.open(asset.sha256), inspector, new Writable({ write: (_chunk, _encoding, done) => done() }))
    const manifest: JsonObject = { ...normalizeManifest(facts!.packageJson, facts!) }
    const version = manifest.version
    if (manifest.name !== name || typeof version !== 'string' || semver.valid(version) === null) return
    const readme = typeof manifest.readme === 'string' ? manifest.readme : null
    delete manifest.readme
    delete manifest.readmeFilename
    Object.assign(manifest, {
      _id: `${name}@${version}`,
      _npmUser: { name: asset.modifiedBy },
      _hasShrinkwrap: facts!.paths.has('npm-shrinkwrap.json'),
      dist: { shasum: facts!.sha1, integrity: `sha512-${facts!.sha512}`, fileCount: facts!.fileCount, unpackedSize: facts!.unpackedSize },
    })
    // As `npm publish` does by default: a release newer than `latest` becomes it.
    const row = await tables.db.selectFrom('npm_packages').select('dist_tags').where('repo_key', '=', repository.key).where('name', '=', name).executeTakeFirst()
    const latest = row ? (JSON.parse(row.dist_tags) as Record<string, string>).latest : undefined
    const tags = semver.prerelease(version) === null && (latest === undefined || semver.gt(version, latest)) ? ['latest'] : []
    try {
      await tables.db.transaction().execute((trx) =>
        store.publishIn(trx as unknown as ChangeTransaction, { repoKey: repository.key, name, version, manifest, tarballPath: path, readme, publishedBy: asset.modifiedBy }, tags),
      )
    } catch (err) {
      // Recorded meanwhile (a second delivery of the same tarball): nothing to do.
      if (!isTroveError(err) || err.code !== 'CONFLICT') throw err
    }
  }

  async function removed(repository: Repository, name: string, path: string): Promise<void> {
    const version = await store.versionOfTarball(repository.key, name, path)
    if (version === undefined) return
    await tables.db.transaction().execute((trx) => store.removeVersionsIn(trx as unknown as ChangeTransaction, repository.key, name, [version], [path]))
  }
}
