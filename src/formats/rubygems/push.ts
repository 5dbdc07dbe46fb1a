import { Readable } from 'node:stream'
import { deflateSync } from 'node:zlib'
import { type ArtifactService, type BlobStore, type ExpectedChecksums, type ExtractionLimits, type FormatContext, isTroveError, type Properties, type Repository, ScanFailure, TroveError } from '../../core/index.js'
import { gemsConfig } from './config.js'
import { readGem } from './gem-archive.js'
import { gemPath, GemStore, propertiesOf, quickPath } from './gem-store.js'
import { fullName, isGemName, quickSpecMarshal } from './gemspec.js'
import { isGemVersion } from './gem-version.js'

export interface PushOptions {
  readonly user: string
  readonly declaredSize?: number | undefined
  readonly expected?: ExpectedChecksums | undefined
  readonly signal?: AbortSignal | undefined
  readonly fileName?: string | undefined
}

export interface PushOutcome {
  readonly name: string
  readonly version: string
  readonly platform: string
  readonly path: string
}

/**
 * `gem push` (`POST api/v1/gems`, the .gem as the body) and `gem yank` for one local repository.
 * The body streams into the blob store, then the gem is read from there: its gemspec must be a
 * valid one, the archive must hold only the gem's parts with no path leaving it; a release is
 * never overwritten. The gem and its quick spec become visible together, once every check passed.
 */
export class GemPublisher {
  constructor(
    private readonly blobs: BlobStore,
    private readonly artifacts: ArtifactService,
    private readonly store: GemStore,
    private readonly limits: ExtractionLimits,
  ) {}

  /**
   * `fileName`: for a deploy of `gems/<file>.gem` through the REST API, the name it was deployed
   * as, which must be the one the gemspec gives (name, version and platform).
   */
  async push(repository: Repository, body: Readable, options: PushOptions): Promise<PushOutcome & { sha256: string }> {
    const { user } = options
    await this.artifacts.admitUpload(repository, options.declaredSize)
    const blob = await this.blobs.put(body, { maxBytes: this.limits.maxUnpackedBytes, expected: options.expected, signal: options.signal })
    let spec
    try {
      spec = (await readGem(await this.blobs.open(blob.sha256), this.limits)).spec
    } catch (err) {
      if (err instanceof ScanFailure) throw new TroveError('BAD_REQUEST', `Invalid gem: ${err.message}.`)
      throw err
    }
    const full = fullName(spec)
    if (options.fileName !== undefined && options.fileName !== `${full}.gem`) {
      throw new TroveError('BAD_REQUEST', `Invalid gem: '${options.fileName}' holds the gemspec of ${full} (name, version and platform must match the file name).`)
    }
    const path = gemPath(full)
    if (!repository.isPathAllowed(path)) throw new TroveError('DENIED', `'${path}' is not allowed in '${repository.key}' by its include/exclude patterns`)
    const quick = await this.blobs.put(Readable.from([deflateSync(quickSpecMarshal(spec))]))
    try {
      await this.artifacts.applyChanges(
        repository,
        {
          put: [
            { path, blob, contentType: 'application/octet-stream', properties: propertiesOf(spec) as Properties },
            { path: quickPath(full), blob: quick, contentType: 'application/octet-stream' },
          ],
          mustNotExist: [path],
        },
        user,
      )
    } catch (err) {
      if (isTroveError(err) && err.code === 'CONFLICT') throw new TroveError('CONFLICT', `Repushing of gem versions is not allowed. ${full} already exists in '${repository.key}'; yank it first.`)
      throw err
    }
    return { name: spec.name, version: spec.version, platform: spec.platform, path, sha256: blob.sha256 }
  }

  /** The asset a push recorded. */
  async stored(repository: Repository, path: string) {
    const asset = await this.artifacts.getAsset(repository.key, path)
    if (!asset) throw new TroveError('NOT_FOUND', `'${path}' is not in '${repository.key}'`)
    return asset
  }

  /** Removes a version (and its quick spec) from the repository: `gem yank NAME -v VERSION [--platform P]`. */
  async yank(repository: Repository, name: string, version: string, platform: string | undefined, user: string): Promise<string> {
    if (!isGemName(name)) throw new TroveError('BAD_REQUEST', `'${name}' is not a valid gem name.`)
    if (!isGemVersion(version)) throw new TroveError('BAD_REQUEST', `'${version}' is not a valid version.`)
    const gems = await this.store.gems(repository.key, name)
    const target = gems.find((g) => g.version === version && g.platform === (platform || 'ruby'))
    if (!target) throw new TroveError('NOT_FOUND', `The version ${version}${platform ? ` (${platform})` : ''} of '${name}' does not exist in '${repository.key}'.`)
    const full = fullName(target)
    const existing = [gemPath(full), quickPath(full)]
    const present = await Promise.all(existing.map((p) => this.artifacts.getAsset(repository.key, p)))
    await this.artifacts.applyChanges(repository, { removeFiles: existing.filter((_, i) => present[i] !== undefined) }, user)
    return full
  }
}

/** The publisher of a running Trove, with the limits of its configuration. */
export function gemPublisher(services: FormatContext): GemPublisher {
  const { maxGemBytes } = services.section(gemsConfig)
  const limits = { maxEntries: 100_000, maxUnpackedBytes: maxGemBytes, maxCompressionRatio: 200, maxMetadataBytes: 4 * 1024 * 1024, maxComponents: 100_000 }
  return new GemPublisher(services.blobs, services.artifacts, new GemStore(services.artifacts), limits)
}
