import { createHash } from 'node:crypto'
import { type ArtifactService, type ExpectedChecksums, type MemberRequest, notFound, readLimited, type RemoteEngine, type Repository, type RepositoryService, type ResolutionEngine, type ServedFile, servedFrom, TroveError } from '../../core/index.js'
import { isObject, type Json, type JsonObject } from './manifest.js'
import type { PackageName } from './names.js'
import type { NpmStore } from './npm-store.js'
import { mergePackuments, type Packument, type PackumentVersion } from './packument.js'
import type { NpmRegistry } from './registry.js'

export interface NpmReadOptions {
  /**
   * Whether the caller may read a member of a virtual repository (as for PlainResolver): members
   * the caller may not read are skipped, so a virtual never opens up what a member keeps private.
   */
  readonly canRead?: (repoKey: string) => Promise<boolean>
}

/** A remote's packument as parsed from the upstream document, with where each tarball comes from upstream. */
interface RemotePackument {
  readonly packument: Packument
  readonly tarballs: ReadonlyMap<string, { readonly url: string } & DistChecks>
}

const MAX_PARSED = 500

/**
 * npm reads whatever the repository's class: a local repository's rows, a remote's upstream
 * packument (through the core's RemoteEngine: cached under `retrievalCachePeriodSecs`, served
 * stale when the upstream fails) and tarballs verified against the upstream's checksums, or a
 * virtual repository's members merged in order with the dependency-confusion guard.
 */
export class NpmResolver {
  /** Parsed upstream documents by `repo\0name`, valid for the cached asset they were read from. */
  private readonly parsed = new Map<string, { readonly sha256: string; readonly value: RemotePackument }>()

  constructor(
    private readonly repositories: RepositoryService,
    private readonly artifacts: ArtifactService,
    private readonly engine: RemoteEngine,
    private readonly store: NpmStore,
    private readonly registry: NpmRegistry,
    private readonly resolution: ResolutionEngine,
  ) {}

  /** Where remote packuments are cached, as in Artifactory: `.npm/<name>/package.json`. */
  static metadataPath(name: PackageName): string {
    return `.npm/${name.full}/package.json`
  }

  /** The packument of `name` in any class of repository (a virtual's members' merged); NOT_FOUND when no (readable) member has it. */
  async packument(repository: Repository, name: PackageName, options: NpmReadOptions = {}): Promise<Packument> {
    const collected = await this.resolution.all(repository, this.request(name), options, ({ repository: member }) =>
      member.rclass === 'remote' ? this.remotePackument(member, name).then((r) => r.packument) : this.registry.packument(member, name),
    )
    const merged = mergePackuments(collected.found.map((f) => f.value))
    if (!merged) throw await collected.missing()
    return merged
  }

  /** A tarball, `<name>/-/<file>`, in any class of repository (a virtual's first member that has it), with the repository that holds it. */
  async tarball(repository: Repository, name: PackageName, file: string, options: NpmReadOptions = {}): Promise<ServedFile> {
    const path = `${name.full}/-/${file}`
    const found = await this.resolution.first(repository, { ...this.request(name), path, what: `'${path}'` }, options, async ({ repository: member }) => {
      if (member.rclass === 'remote') return this.remoteTarball(member, name, file)
      const asset = await this.artifacts.getAsset(member.key, path)
      if (!asset) throw notFound(`'${path}' is not in '${member.key}'`)
      return { kind: 'file', repository: member, asset } as const
    })
    return found.value
  }

  /** Where writes land: a local repository itself, a virtual's defaultDeploymentRepo (the core's rule). */
  deploymentTarget(repository: Repository): Promise<Repository> {
    return this.repositories.deploymentTarget(repository, { verb: 'publish', title: 'npm' })
  }

  /** The upstream's full packument, through the engine: cached as metadata, stale if the upstream fails. */
  private async remotePackument(repository: Repository, name: PackageName): Promise<RemotePackument> {
    const base = (repository.config.url ?? '').replace(/\/+$/, '')
    // Scoped names go upstream as `@scope%2fname`, as the npm CLI sends them.
    const upstreamUrl = `${base}/${name.scope === undefined ? encodeURIComponent(name.bare) : `@${encodeURIComponent(name.scope)}%2f${encodeURIComponent(name.bare)}`}`
    const result = await this.engine.fetch(repository, NpmResolver.metadataPath(name), {
      isMetadata: true,
      upstreamUrl,
      // The full document: it has what both renderings need (the abbreviated one is made here).
      headers: { accept: 'application/json' },
      contentType: 'application/json',
    })
    const key = `${repository.key}\0${name.full}`
    if (result.kind === 'cached') {
      const known = this.parsed.get(key)
      if (known && known.sha256 === result.asset.sha256) return known.value
      const body = await readLimited(await this.artifacts.open(result.asset), MAX_UPSTREAM_PACKUMENT_BYTES, packumentTooLarge)
      const value = parseUpstream(repository, name, body, result.asset.sha256, result.asset.fetchedAt ?? result.asset.modifiedAt)
      this.parsed.delete(key)
      this.parsed.set(key, { sha256: result.asset.sha256, value })
      if (this.parsed.size > MAX_PARSED) this.parsed.delete(this.parsed.keys().next().value!)
      return value
    }
    // storeArtifactsLocally: false: read through, nothing kept.
    const body = await readLimited(result.stream, MAX_UPSTREAM_PACKUMENT_BYTES, packumentTooLarge)
    return parseUpstream(repository, name, body, createHash('sha256').update(body).digest('hex'), Date.now())
  }

  private async remoteTarball(repository: Repository, name: PackageName, file: string): Promise<ServedFile> {
    const path = `${name.full}/-/${file}`
    // Tarballs never change once cached: no need to look at the packument again.
    const cached = await this.artifacts.getAsset(repository.key, path)
    if (cached) return { kind: 'file', repository, asset: cached }
    const { tarballs } = await this.remotePackument(repository, name)
    const source = tarballs.get(file)
    if (!source) throw notFound(`'${path}' is not a tarball of any version of ${name.full} upstream of '${repository.key}'`)
    const result = await this.engine.fetch(repository, path, {
      upstreamUrl: source.url,
      expected: source.expected,
      extraDigests: source.extraDigests,
      contentType: 'application/octet-stream',
    })
    return servedFrom(repository, path, result)
  }

  /** A request for `name` through the engine: the dependency-confusion guard asks whether a local repository has it. */
  private request(name: PackageName): MemberRequest {
    return { what: `package ${name.full}`, isLocalName: async (local) => (await this.store.state(local.key, name.full)) !== undefined }
  }
}


/** What a version's `dist` lets the engine verify while the tarball streams through. */
export interface DistChecks {
  /** Checked by the blob store: `dist.shasum` (sha1), and sha1/sha256 entries of `dist.integrity`. */
  readonly expected: ExpectedChecksums
  /** Checked beside it (RemoteFetchOptions.extraDigests): the sha384/sha512 entries of `dist.integrity`, hex. */
  readonly extraDigests: Readonly<Record<string, string>>
}

/**
 * The checksums of a version's `dist`: `dist.shasum` (sha1, which every npm registry still
 * publishes) and each entry of `dist.integrity` (Subresource Integrity, W3C SRI §3.1: space-
 * separated `<algorithm>-<base64>`, options after a `?` ignored), usually a sha512. Every one
 * Trove understands is verified (stricter than SRI's "strongest only"); an entry of an unknown
 * algorithm is ignored, as SRI says.
 */
export function checksOfDist(dist: JsonObject): DistChecks {
  let sha1: string | undefined
  let sha256: string | undefined
  const extraDigests: Record<string, string> = {}
  if (typeof dist.shasum === 'string' && /^[a-f0-9]{40}$/i.test(dist.shasum)) sha1 = dist.shasum.toLowerCase()
  if (typeof dist.integrity === 'string') {
    for (const entry of dist.integrity.trim().split(/\s+/)) {
      const match = /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(?:\?.*)?$/.exec(entry)
      if (!match) continue
      const algorithm = match[1]!
      const hex = Buffer.from(match[2]!, 'base64').toString('hex')
      const bytes = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 }[algorithm]!
      if (hex.length !== bytes * 2) continue
      if (algorithm === 'sha1') sha1 ??= hex
      else if (algorithm === 'sha256') sha256 ??= hex
      else extraDigests[algorithm] ??= hex
    }
  }
  const expected: ExpectedChecksums = { ...(sha1 ? { sha1 } : {}), ...(sha256 ? { sha256 } : {}) }
  return { expected, extraDigests }
}

/** The blob-store checksums of a version's `dist` (see {@link checksOfDist}). */
export function expectedOfDist(dist: JsonObject): ExpectedChecksums {
  return checksOfDist(dist).expected
}

/** Reads an upstream's full packument into Trove's Packument, keeping each version's upstream tarball URL. */
function parseUpstream(repository: Repository, name: PackageName, body: Buffer, revision: string, fetchedAt: number): RemotePackument {
  let document: Json
  try {
    document = JSON.parse(body.toString('utf8')) as Json
  } catch {
    throw new TroveError('UPSTREAM_UNAVAILABLE', `the upstream of '${repository.key}' sent a package document for ${name.full} that is not JSON`)
  }
  if (!isObject(document) || !isObject(document.versions)) {
    throw new TroveError('UPSTREAM_UNAVAILABLE', `the upstream of '${repository.key}' sent a package document for ${name.full} without versions`)
  }
  const time = isObject(document.time) ? document.time : {}
  const dateOf = (value: unknown, fallback: number) => {
    const parsed = typeof value === 'string' ? Date.parse(value) : NaN
    return Number.isFinite(parsed) ? parsed : fallback
  }
  const versions: PackumentVersion[] = []
  const tarballs = new Map<string, { url: string } & DistChecks>()
  for (const [version, raw] of Object.entries(document.versions)) {
    if (!isObject(raw) || !isObject(raw.dist) || typeof raw.dist.tarball !== 'string') continue
    let url: URL
    try {
      url = new URL(raw.dist.tarball, repository.config.url)
    } catch {
      continue
    }
    const file = decodeURIComponent(url.pathname.split('/').pop() ?? '')
    if (!file.endsWith('.tgz') || file.includes('/')) continue
    const { tarball: _tarball, ...dist } = raw.dist
    const manifest: JsonObject = { ...raw, dist }
    const deprecated = typeof manifest.deprecated === 'string' && manifest.deprecated !== '' ? manifest.deprecated : null
    delete manifest.deprecated
    versions.push({
      version,
      manifest,
      deprecated,
      publishedAt: dateOf(time[version], fetchedAt),
      tarball: { repoKey: repository.key, path: `${name.full}/-/${file}` },
    })
    tarballs.set(file, { url: url.toString(), ...checksOfDist(dist) })
  }
  versions.sort((a, b) => a.publishedAt - b.publishedAt)
  const known = new Set(versions.map((v) => v.version))
  const distTags: Record<string, string> = {}
  if (isObject(document['dist-tags'])) {
    for (const [tag, version] of Object.entries(document['dist-tags'])) if (typeof version === 'string' && known.has(version)) distTags[tag] = version
  }
  const packument: Packument = {
    name: name.full,
    revision: revision.slice(0, 32),
    distTags,
    versions,
    createdAt: dateOf(time.created, fetchedAt),
    modifiedAt: dateOf(time.modified, fetchedAt),
    readme: typeof document.readme === 'string' ? document.readme : null,
  }
  return { packument, tarballs }
}

/** The largest upstream packument read (the largest public ones are tens of MiB): a bound against a broken or hostile upstream. */
const MAX_UPSTREAM_PACKUMENT_BYTES = 256 * 1024 * 1024
const packumentTooLarge = () => new TroveError('UPSTREAM_UNAVAILABLE', `an upstream packument is larger than ${MAX_UPSTREAM_PACKUMENT_BYTES} bytes`)
