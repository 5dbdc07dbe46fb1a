import { type Asset, type FormatContext, isTroveError, type PlainDeploy, type PlainLayout, type RemoteSource, type Repository, ScanFailure, TroveError } from '../../core/index.js'
import { jsonObject, readArchive } from './archive.js'
import { composerConfig } from './config.js'
import { ComposerStore } from './composer-store.js'
import { ComposerDocuments } from './documents.js'
import { archivePath, isPackageName, packageOfPath, UPSTREAM_FOLDER } from './names.js'
import type { ComposerTables } from './tables.js'
import { normalizeVersion } from './versions.js'

/** The property that gives an archive's version when its composer.json has none (Artifactory's). */
export const VERSION_PROPERTY = 'composer.version'
export const NAME_PROPERTY = 'composer.name'

/**
 * Composer repositories on the core's plain layout: archives are assets at
 * `<vendor>/<package>/<version>/<package>-<version>.zip` (wherever they were deployed, as the
 * archive's composer.json and version say), remotes cache dists under `.composer/dist/` and
 * upstream documents under `.composer/upstream/`. `packages.json` and `p2/` documents are built
 * by {@link ComposerDocuments} (they need the request's base URL).
 */
export class ComposerLayout implements PlainLayout {
  readonly store: ComposerStore
  /** The documents Composer reads; remote dists are found through the upstream's. */
  readonly documents: ComposerDocuments

  constructor(private readonly services: FormatContext) {
    this.store = new ComposerStore(services.tables<ComposerTables>().db, services.artifacts)
    this.documents = new ComposerDocuments(services, this.store)
  }

  isMetadata(path: string): boolean {
    return path.startsWith(`${UPSTREAM_FOLDER}/`)
  }

  /**
   * A deploy of a package zip: stored first (hashed, size-limited), then read back from the blob
   * store to check it (a zip, composer.json with a valid name, a version from composer.json or the
   * `composer.version` property, agreeing when both are given, no entry leaving the archive), and
   * recorded at its package's path only if that version is not stored yet, with its composer.json.
   * A refused blob is referenced by no asset and left to garbage collection.
   */
  async deploy({ repository, path, body, options, principal }: PlainDeploy): Promise<{ readonly kind: 'stored'; readonly asset: Asset }> {
    const config = this.services.section(composerConfig)
    if (!path.toLowerCase().endsWith('.zip')) {
      body.resume()
      throw new TroveError('BAD_REQUEST', `a Composer repository holds package archives (.zip); '${path}' is not one`)
    }
    if (options.declaredSize !== undefined && options.declaredSize > config.maxArchiveBytes) {
      body.resume()
      throw tooLarge(config.maxArchiveBytes)
    }
    const propertyVersion = options.properties?.get(VERSION_PROPERTY)?.[0]
    await this.services.artifacts.admitUpload(repository, options.declaredSize)
    let blob
    try {
      blob = await this.services.blobs.put(body, { expected: options.expected, signal: options.signal, maxBytes: config.maxArchiveBytes })
    } catch (err) {
      if (isTroveError(err) && err.code === 'PAYLOAD_TOO_LARGE') throw tooLarge(config.maxArchiveBytes)
      throw err
    }
    let manifest: Record<string, unknown>
    try {
      const limits = { maxEntries: config.maxArchiveEntries, maxUnpackedBytes: config.maxUnpackedBytes, maxCompressionRatio: 100, maxMetadataBytes: 4 * 1024 * 1024, maxComponents: 1 }
      const archive = await readArchive(await this.services.blobs.open(blob.sha256), limits, config.maxArchiveBytes)
      manifest = jsonObject(archive.manifest, archive.manifestPath)
    } catch (err) {
      if (err instanceof ScanFailure) throw new TroveError('BAD_REQUEST', `not a Composer package archive: ${err.message}`)
      throw err
    }
    const name = manifest.name
    if (typeof name !== 'string' || !isPackageName(name)) {
      throw new TroveError('BAD_REQUEST', `composer.json must have a "name" of the form vendor/package in lower case (${JSON.stringify(name ?? null)} is not)`)
    }
    const version = versionOf(manifest.version, propertyVersion)
    const target = archivePath(name, version)
    if (!(await this.services.authorizer.can(principal, 'deploy', repository.key, target))) {
      throw new TroveError('DENIED', `no permission to deploy '${target}' (where ${name} ${version} goes) in '${repository.key}'`)
    }
    if (!repository.isPathAllowed(target)) throw new TroveError('DENIED', `'${target}' is not allowed in '${repository.key}' by its includes/excludes patterns`)
    if (await this.store.hasVersion(repository.key, name, normalizeVersion(version)!)) throw versionExists(repository, name, version)
    const properties = new Map<string, string[]>([...(options.properties ?? new Map<string, string[]>())].map(([k, v]) => [k, [...v]]))
    properties.set(NAME_PROPERTY, [name])
    properties.set(VERSION_PROPERTY, [version])
    const tables = this.services.tables<ComposerTables>()
    try {
      await this.services.artifacts.applyChanges(
        repository,
        { put: [{ path: target, blob, contentType: 'application/zip', properties }], mustNotExist: [target] },
        options.user,
        (trx) => this.store.record(tables.within(trx), blob.sha256, name, manifest),
      )
    } catch (err) {
      if (isTroveError(err) && err.code === 'CONFLICT') throw versionExists(repository, name, version)
      throw err
    }
    const asset = await this.services.artifacts.getAsset(repository.key, target)
    if (!asset) throw new TroveError('CONFLICT', `'${target}' was removed while it was being deployed`)
    return { kind: 'stored', asset }
  }

  async remoteSource(repository: Repository, path: string): Promise<RemoteSource | undefined> {
    if (repository.rclass !== 'remote') return undefined
    const at = packageOfPath(path)
    if (!at || !path.startsWith('.composer/dist/')) return undefined
    // Cached dists are served by the engine without asking anyone (nor reading the metadata).
    if (await this.services.artifacts.getAsset(repository.key, path)) return undefined
    return this.documents.upstreamDist(repository, at.name, at.version)
  }

  /** The dependency-confusion guard for downloads through a virtual: a path belongs to the package it is stored under. */
  async isLocalName(local: Repository, path: string): Promise<boolean> {
    const at = packageOfPath(path)
    return at ? this.store.hasPackage(local.key, at.name) : false
  }
}

/** The version of an archive: composer.json's, else the property; both given must agree. */
function versionOf(declared: unknown, property: string | undefined): string {
  if (declared !== undefined && typeof declared !== 'string') throw new TroveError('BAD_REQUEST', 'composer.json "version" must be a string')
  const given = declared ?? property
  if (given === undefined || given.trim() === '') {
    throw new TroveError('BAD_REQUEST', `the archive's composer.json has no "version": give one there or as the ${VERSION_PROPERTY} property (…/<file>.zip;${VERSION_PROPERTY}=1.0.0)`)
  }
  const normalized = normalizeVersion(given)
  if (normalized === undefined) throw new TroveError('BAD_REQUEST', `'${given}' is not a Composer version`)
  // It names the version's folder: letters, digits and . _ + - only (no `dev-feature/x`, no `@dev`, no spaces).
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(given.trim()) || given.trim().length > 128) {
    throw new TroveError('BAD_REQUEST', `the version '${given}' cannot be stored: use letters, digits and . _ + - only`)
  }
  if (declared !== undefined && property !== undefined && normalizeVersion(property) !== normalized) {
    throw new TroveError('BAD_REQUEST', `composer.json says version '${declared}' but the ${VERSION_PROPERTY} property says '${property}'`)
  }
  return given.trim()
}

function versionExists(repository: Repository, name: string, version: string): TroveError {
  return new TroveError('CONFLICT', `${name} ${version} is already in '${repository.key}': a released version is never overwritten; deploy a new version`)
}

function tooLarge(max: number): TroveError {
  return new TroveError('PAYLOAD_TOO_LARGE', `a Composer archive may be at most ${max} bytes`)
}
