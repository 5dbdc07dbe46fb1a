import { type ArtifactService, type FormatContext, notFound, readLimited, RemoteEngine, type RemoteSource, type Repository, TroveError } from '../../core/index.js'
import type { ComposerStore } from './composer-store.js'
import { entriesOf, renderP2, upstreamVersions, versionEntry, type VersionEntry } from './metadata.js'
import { remoteDistPath, UPSTREAM_FOLDER } from './names.js'
import { isDevVersion, normalizeVersion } from './versions.js'

export const COMPOSER_PREFIX = '/artifactory/api/composer'
/** Largest upstream document read (packages.json, a p2 file); the largest on public repositories are a few MiB. */
const MAX_UPSTREAM_BYTES = 64 * 1024 * 1024
const PARSED_KEPT = 200
const SAFE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/

export interface ReadOptions {
  /** Whether the caller may read a member of a virtual; members it may not read are skipped. */
  readonly canRead?: (repoKey: string) => Promise<boolean>
}

/** A repository's Composer URL, as clients are given it. */
export function repositoryUrl(baseUrl: string, key: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${COMPOSER_PREFIX}/${encodeURIComponent(key)}`
}

/**
 * The documents Composer 2 reads, for every class of repository:
 * - `packages.json`: the `metadata-url` template (`p2/%package%.json`), and for a local repository
 *   its `available-packages` (so Composer asks for nothing else);
 * - `p2/<vendor>/<package>.json` (releases) and `…~dev.json` (development versions), minified:
 *   local ones built from the stored archives' composer.json with dist URLs into Trove and sha1
 *   `shasum`s; remote ones the upstream's (through the core's RemoteEngine: cached as metadata,
 *   stale when the upstream fails) with dist URLs rewritten into the remote, which caches the
 *   archives as they are downloaded and checks them against the upstream's shasum; virtual ones
 *   their members' merged in order (the first member with a version wins), with the
 *   dependency-confusion guard: a package a local member has is never taken from a remote member.
 */
export class ComposerDocuments {
  private readonly artifacts: ArtifactService
  private readonly parsed = new Map<string, { sha256: string; value: unknown }>()

  constructor(
    private readonly services: FormatContext,
    private readonly store: ComposerStore,
  ) {
    this.artifacts = services.artifacts
  }

  /** `canReadPackage`: whether the caller may read a package of the repository (a local lists only those). */
  async packagesJson(repository: Repository, baseUrl: string, canReadPackage: (name: string) => Promise<boolean> = async () => true): Promise<string> {
    const url = repositoryUrl(baseUrl, repository.key)
    const document: Record<string, unknown> = { packages: [], 'metadata-url': `${url}/p2/%package%.json` }
    if (repository.rclass === 'local') {
      const names = await this.store.packageNames(repository.key)
      const readable = await Promise.all(names.map(canReadPackage))
      document['available-packages'] = names.filter((_, i) => readable[i])
    }
    return JSON.stringify(document)
  }

  /** A `p2` document of `name` (`dev`: the `~dev` one), with dist URLs through `repository`. */
  async p2(repository: Repository, name: string, dev: boolean, baseUrl: string, options: ReadOptions = {}): Promise<string> {
    const url = repositoryUrl(baseUrl, repository.key)
    const collected = await this.services.resolution.all(
      repository,
      { what: `Package '${name}'`, isLocalName: (local) => this.store.hasPackage(local.key, name) },
      options,
      ({ repository: member }) => (member.rclass === 'remote' ? this.remoteEntries(member, name, dev, url) : this.localEntries(member, name, dev, url)),
    )
    if (collected.found.length === 0) throw await collected.missing()
    const merged = new Map<string, VersionEntry>()
    for (const { value } of collected.found) for (const entry of value) if (!merged.has(entry.version_normalized)) merged.set(entry.version_normalized, entry)
    return renderP2(name, [...merged.values()])
  }

  /** For a remote's dist download: the upstream URL of `name` `version`, and the sha1 it must have. */
  async upstreamDist(remote: Repository, name: string, version: string): Promise<RemoteSource | undefined> {
    const normalized = normalizeVersion(version)
    if (normalized === undefined) return undefined
    const { versions, documentUrl } = await this.upstreamP2(remote, name, isDevVersion(normalized))
    const entry = versions.find((v) => v.version === version)
    const dist = entry?.dist as { url?: unknown; shasum?: unknown } | undefined
    if (!dist || typeof dist.url !== 'string') throw notFound(`${name} ${version} has no dist upstream of '${remote.key}'`)
    const shasum = typeof dist.shasum === 'string' ? dist.shasum.toLowerCase() : ''
    return { upstreamUrl: new URL(dist.url, documentUrl).toString(), expected: /^[a-f0-9]{40}$/.test(shasum) ? { sha1: shasum } : undefined }
  }

  private async localEntries(repository: Repository, name: string, dev: boolean, url: string): Promise<VersionEntry[]> {
    const archives = await this.store.archives(repository.key, name)
    if (archives.length === 0) throw notFound(`Package '${name}' is not in '${repository.key}'`)
    const entries = archives.flatMap((archive) => {
      const normalized = normalizeVersion(archive.version)
      if (normalized === undefined) return []
      const dist = { url: `${url}/${encodePath(archive.asset.path)}`, shasum: archive.asset.sha1 }
      return [versionEntry(archive.manifest, name, archive.version, normalized, dist, archive.asset.createdAt)]
    })
    return entriesOf(entries, dev)
  }

  private async remoteEntries(remote: Repository, name: string, dev: boolean, url: string): Promise<VersionEntry[]> {
    const { versions } = await this.upstreamP2(remote, name, dev)
    const entries: VersionEntry[] = []
    for (const upstream of versions) {
      const version = upstream.version
      const dist = upstream.dist as { type?: unknown; url?: unknown; shasum?: unknown; reference?: unknown } | undefined
      if (typeof version !== 'string' || !SAFE_VERSION.test(version) || !dist || typeof dist.url !== 'string' || dist.type !== 'zip') continue
      const normalized = typeof upstream.version_normalized === 'string' ? upstream.version_normalized : normalizeVersion(version)
      if (normalized === undefined) continue
      const { source: _source, ...fields } = upstream
      entries.push({
        ...fields,
        name,
        version,
        version_normalized: normalized,
        // Downloads go through the remote, which caches them; the source (a VCS URL) is left out so that they do.
        dist: {
          type: 'zip',
          url: `${url}/${encodePath(remoteDistPath(name, version))}`,
          ...(typeof dist.reference === 'string' ? { reference: dist.reference } : {}),
          shasum: typeof dist.shasum === 'string' ? dist.shasum : '',
        },
      })
    }
    return entries
  }

  /** The upstream's `p2` of `name`, expanded, through the engine. */
  private async upstreamP2(remote: Repository, name: string, dev: boolean): Promise<{ versions: Record<string, unknown>[]; documentUrl: string }> {
    const file = `${name}${dev ? '~dev' : ''}`
    const template = await this.metadataUrl(remote)
    const documentUrl = template.replace('%package%', file)
    const document = await this.upstreamJson(remote, `${UPSTREAM_FOLDER}/p2/${file}.json`, documentUrl)
    return { versions: upstreamVersions(document, name), documentUrl }
  }

  /** The upstream's `metadata-url` template, resolved against its packages.json. */
  private async metadataUrl(remote: Repository): Promise<string> {
    const packagesUrl = RemoteEngine.urlOf(remote, 'packages.json')
    const document = (await this.upstreamJson(remote, `${UPSTREAM_FOLDER}/packages.json`, packagesUrl)) as { 'metadata-url'?: unknown } | null
    const template = document?.['metadata-url']
    if (typeof template !== 'string' || !template.includes('%package%')) {
      throw new TroveError('UPSTREAM_UNAVAILABLE', `the upstream of '${remote.key}' is no Composer 2 repository: its packages.json has no metadata-url`)
    }
    return new URL(template, packagesUrl).toString().replace(/%25package%25/g, '%package%')
  }

  private async upstreamJson(remote: Repository, path: string, upstreamUrl: string): Promise<unknown> {
    const result = await this.services.remote.fetch(remote, path, { isMetadata: true, upstreamUrl, contentType: 'application/json' })
    if (result.kind !== 'cached') return parseUpstream(remote, await readLimited(result.stream, MAX_UPSTREAM_BYTES, tooLarge))
    const key = `${remote.key}\0${path}`
    const known = this.parsed.get(key)
    if (known && known.sha256 === result.asset.sha256) return known.value
    const value = parseUpstream(remote, await readLimited(await this.artifacts.open(result.asset), MAX_UPSTREAM_BYTES, tooLarge))
    this.parsed.delete(key)
    this.parsed.set(key, { sha256: result.asset.sha256, value })
    if (this.parsed.size > PARSED_KEPT) this.parsed.delete(this.parsed.keys().next().value!)
    return value
  }
}

function parseUpstream(remote: Repository, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch (err) {
    throw new TroveError('UPSTREAM_UNAVAILABLE', `the upstream of '${remote.key}' sent a document that is not JSON: ${(err as Error).message}`)
  }
}

export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}

const tooLarge = () => new TroveError('UPSTREAM_UNAVAILABLE', `an upstream Composer document is larger than ${MAX_UPSTREAM_BYTES} bytes`)
