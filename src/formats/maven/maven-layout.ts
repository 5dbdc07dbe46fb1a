import { createHash } from 'node:crypto'
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { type Asset, conflict, type FormatContext, type GeneratedFile, isTroveError, type PlainDeploy, type PlainDeployOutcome, type PlainLayout, type PlainReadContext, readLimited, type Repository, type Resolution, TroveError } from '../../core/index.js'
import {
  CHECKSUM_HEX_LENGTH,
  METADATA_NAME,
  baseOfSnapshot,
  checksumOf,
  folderOfPath,
  isMetadataFile,
  isSnapshotVersion,
  nameOfPath,
  parseArtifactPath,
  parseFileName,
  type ChecksumAlgorithm,
  type MavenFile,
} from './maven-path.js'
import {
  MAX_METADATA_BYTES,
  mavenTimestamp,
  mergeMetadata,
  parseMetadata,
  renderMetadata,
  type MavenMetadata,
  type SnapshotVersion,
} from './maven-metadata.js'
import { highestVersion, sortMavenVersions } from './maven-version.js'
import { MAX_POM_BYTES, readPomCoordinates } from './pom.js'

/**
 * Where a file's sha512 is kept once known (computed while it was deployed, or on the first
 * request of its `.sha512`): the blob store hashes sha256, sha1 and md5 only, and re-reading a
 * large artifact for every `.sha512` would be wasteful.
 */
export const SHA512_PROPERTY = 'trove.sha512'

/** The largest checksum file accepted (a hex digest, optionally followed by a file name). */
const MAX_CHECKSUM_BYTES = 1024

/**
 * Maven's repository settings, by Artifactory's field names, with Artifactory's defaults. They
 * live in the repository's configuration (kept as given by the repositories API).
 */
export interface MavenSettings {
  /** Accept release versions (default true). */
  readonly handleReleases: boolean
  /** Accept SNAPSHOT versions (default true). */
  readonly handleSnapshots: boolean
  /** Timestamped builds kept per SNAPSHOT version, the oldest removed after a deploy; 0 keeps all (default 0). */
  readonly maxUniqueSnapshots: number
  /** Skip the check that a POM's coordinates match its path (default false). */
  readonly suppressPomConsistencyChecks: boolean
}

export function mavenSettings(repository: Repository): MavenSettings {
  const config = repository.config
  const count = Number(config.maxUniqueSnapshots ?? 0)
  return {
    handleReleases: config.handleReleases !== false,
    handleSnapshots: config.handleSnapshots !== false,
    maxUniqueSnapshots: Number.isSafeInteger(count) && count > 0 ? count : 0,
    suppressPomConsistencyChecks: config.suppressPomConsistencyChecks === true,
  }
}

/**
 * Maven on the core's plain layout: checksums and `maven-metadata.xml` generated from what is
 * stored (so they are always consistent with it, whatever the client uploaded), deploy checks
 * (layout, release/snapshot policy, immutable releases, POM coordinates), SNAPSHOT clean-up, and
 * merged metadata for virtual repositories.
 */
export class MavenLayout implements PlainLayout {
  constructor(private readonly services: FormatContext) {}

  /** `maven-metadata.xml` and its checksums change upstream: remote repositories re-check them after the metadata TTL. */
  isMetadata(path: string): boolean {
    return isMetadataFile(path) || isMetadataFile(checksumOf(path)?.target ?? '')
  }

  async generate(repository: Repository, path: string, context: PlainReadContext): Promise<GeneratedFile | undefined> {
    const checksum = checksumOf(path)
    if (checksum) return this.generateChecksum(repository, checksum.target, checksum.algorithm, context)
    if (!isMetadataFile(path)) return undefined
    // A remote repository serves its upstream's metadata, cached under the metadata TTL.
    if (repository.rclass === 'remote') return undefined
    const metadata = repository.rclass === 'virtual' ? await this.mergedMetadata(repository, path, context) : await this.localMetadata(repository, path)
    if (!metadata) return undefined
    return { body: renderMetadata(metadata.document), contentType: 'application/xml', modifiedAt: metadata.modifiedAt }
  }

  async deploy(deploy: PlainDeploy): Promise<PlainDeployOutcome> {
    const { repository, path, body, options } = deploy
    const checksum = checksumOf(path)
    if (checksum) return this.deployChecksum(repository, checksum.target, checksum.algorithm, body)
    if (isMetadataFile(path)) {
      // Maven uploads the metadata it computed; Trove serves its own view of what is stored instead
      // (as Artifactory does), so the upload is read (bounded) and dropped.
      await readLimited(body, MAX_METADATA_BYTES, () => tooLarge('maven-metadata.xml', MAX_METADATA_BYTES))
      return { kind: 'accepted' }
    }
    const file = parseArtifactPath(path)
    const settings = mavenSettings(repository)
    const isSnapshot = isSnapshotVersion(file.version)
    if (isSnapshot && !settings.handleSnapshots) {
      throw conflict(`'${repository.key}' does not accept SNAPSHOT versions (handleSnapshots is false): deploy '${file.version}' to a snapshot repository`)
    }
    if (!isSnapshot && !settings.handleReleases) {
      throw conflict(`'${repository.key}' does not accept release versions (handleReleases is false): '${file.version}' is not a SNAPSHOT`)
    }
    if (!isSnapshot && (await this.services.artifacts.getAsset(repository.key, path))) {
      throw conflict(
        `'${path}' is already deployed in '${repository.key}' and releases are immutable: deploy a new version, or delete this one first`,
      )
    }
    // sha512 is hashed on the way to the blob store (which hashes the others), never by re-reading.
    const sha512 = new DigestStream('sha512')
    pipeline(body, sha512).catch(() => {}) // a failed body destroys `sha512`, which fails the put below
    const blob = await this.services.blobs.put(sha512, { expected: options.expected, signal: options.signal }).catch((err: unknown) => {
      sha512.destroy() // a put refused before reading (a malformed X-Checksum header) must not leave the pipe waiting
      throw err
    })
    if (file.extension === 'pom' && file.classifier === '' && !settings.suppressPomConsistencyChecks) {
      await this.checkPom(blob.sha256, file)
    }
    const properties = new Map(options.properties ?? [])
    properties.set(SHA512_PROPERTY, [sha512.hex()])
    const asset = await this.services.artifacts.deployBlob(repository, path, blob, { ...options, properties })
    return { kind: 'stored', asset }
  }

  async changed(repository: Repository, path: string, change: 'deployed' | 'deleted'): Promise<void> {
    if (change !== 'deployed' || repository.rclass !== 'local') return
    const { maxUniqueSnapshots } = mavenSettings(repository)
    if (maxUniqueSnapshots === 0 || isMetadataFile(path) || checksumOf(path)) return
    let file: MavenFile
    try {
      file = parseArtifactPath(path)
    } catch {
      return
    }
    if (file.buildNumber === undefined) return
    await this.pruneSnapshots(repository, file, maxUniqueSnapshots)
  }

  // ------------------------------------------------------------ deploy checks

  private async checkPom(sha256: string, file: MavenFile): Promise<void> {
    const pom = readPomCoordinates(await readLimited(await this.services.blobs.open(sha256), MAX_POM_BYTES, () => tooLarge('the POM', MAX_POM_BYTES)))
    const expected = { groupId: file.groupId, artifactId: file.artifactId, version: file.version }
    const found = { groupId: pom.groupId, artifactId: pom.artifactId, version: pom.version }
    for (const field of ['groupId', 'artifactId', 'version'] as const) {
      const value = found[field]
      if (value === undefined || value === '') throw new TroveError('BAD_REQUEST', `the POM has no ${field} (nor one inherited from <parent>)`)
    }
    // A `${…}` left unresolved (a parent's property, a CI-friendly `${revision}`) cannot be judged here.
    const mismatched = (['groupId', 'artifactId', 'version'] as const).filter((f) => !found[f]!.includes('${') && found[f] !== expected[f])
    if (mismatched.length > 0) {
      throw conflict(
        `the POM's coordinates ${found.groupId}:${found.artifactId}:${found.version} do not match the path's ` +
          `${expected.groupId}:${expected.artifactId}:${expected.version} (${mismatched.join(', ')} differ)`,
      )
    }
  }

  /**
   * A client's checksum file is checked against the stored file and not stored: Trove serves
   * checksums generated from the content. Maven and Gradle upload a file before its checksums;
   * a checksum for a file that is not there is refused (409) rather than kept as an orphan.
   */
  private async deployChecksum(repository: Repository, target: string, algorithm: ChecksumAlgorithm, body: Readable): Promise<PlainDeployOutcome> {
    const text = (await readLimited(body, MAX_CHECKSUM_BYTES, () => tooLarge(`a .${algorithm} checksum file`, MAX_CHECKSUM_BYTES))).toString('utf8').trim()
    const given = text.split(/\s+/)[0]?.toLowerCase() ?? ''
    const length = CHECKSUM_HEX_LENGTH[algorithm]
    if (!new RegExp(`^[a-f0-9]{${length}}$`).test(given)) {
      throw new TroveError('BAD_REQUEST', `the uploaded .${algorithm} file does not hold a ${algorithm} checksum (${length} hex digits)`)
    }
    // Maven computed these for its own maven-metadata.xml, which Trove does not store.
    if (isMetadataFile(target)) return { kind: 'accepted' }
    const asset = await this.services.artifacts.getAsset(repository.key, target)
    if (!asset) {
      throw conflict(`'${target}' is not deployed in '${repository.key}': deploy the file before its .${algorithm} checksum`)
    }
    const actual = await this.checksumOf(repository, asset, algorithm)
    if (actual !== given) {
      throw conflict(`${algorithm} checksum mismatch for '${target}': the uploaded checksum is ${given} but the stored file's is ${actual}`)
    }
    return { kind: 'accepted' }
  }

  private async pruneSnapshots(repository: Repository, deployed: MavenFile, keep: number): Promise<void> {
    const folder = `${deployed.groupPath}/${deployed.artifactId}/${deployed.version}`
    const { files } = await this.services.artifacts.children(repository.key, folder)
    const builds = new Map<number, string[]>()
    for (const asset of files) {
      const parsed = parseFileName(asset.name, deployed.artifactId, deployed.version)
      if (parsed?.buildNumber === undefined) continue
      builds.set(parsed.buildNumber, [...(builds.get(parsed.buildNumber) ?? []), asset.path])
    }
    const old = [...builds.keys()].sort((a, b) => b - a).slice(keep)
    const removeFiles = old.flatMap((n) => builds.get(n)!)
    if (removeFiles.length > 0) await this.services.artifacts.applyChanges(repository, { removeFiles }, 'system')
  }

  // ------------------------------------------------------------ generated files

  private async generateChecksum(
    repository: Repository,
    target: string,
    algorithm: ChecksumAlgorithm,
    context: PlainReadContext,
  ): Promise<GeneratedFile | undefined> {
    const checksumFile = (hex: string, modifiedAt?: number): GeneratedFile => ({
      body: hex,
      contentType: 'text/plain; charset=utf-8',
      ...(modifiedAt !== undefined ? { modifiedAt } : {}),
    })
    if (repository.rclass !== 'virtual') {
      // What is stored (or cached, for a remote); a remote file not cached yet: the upstream's checksum file.
      const asset = await this.services.artifacts.getAsset(repository.key, target)
      if (asset) return checksumFile(await this.checksumOf(repository, asset, algorithm), asset.modifiedAt)
      if (repository.rclass === 'remote' || !isMetadataFile(target)) return undefined
      const metadata = await this.generate(repository, target, context)
      return metadata && checksumFile(hashOf(algorithm, metadata.body), metadata.modifiedAt)
    }
    let found: Resolution
    try {
      found = await context.resolve(repository, target)
    } catch (err) {
      if (isTroveError(err) && err.code === 'NOT_FOUND') return undefined
      throw err
    }
    switch (found.kind) {
      case 'generated':
        return checksumFile(hashOf(algorithm, found.file.body), found.file.modifiedAt)
      case 'file':
        return checksumFile(await this.checksumOf(found.repository, found.asset, algorithm), found.asset.modifiedAt)
      case 'stream': {
        // Pulled through a remote member just now (and cached as it streams): hash it on the way.
        const digest = new DigestStream(algorithm)
        await pipeline(found.stream, digest, discard())
        return checksumFile(digest.hex())
      }
      case 'folder':
        return undefined
    }
  }

  /** A stored file's checksum: the blob store's for sha1/md5/sha256; sha512 from its property, or computed once and kept. */
  private async checksumOf(repository: Repository, asset: Asset, algorithm: ChecksumAlgorithm): Promise<string> {
    if (algorithm !== 'sha512') return asset[algorithm]
    const known = (await this.services.artifacts.getProperties(asset.repoKey, asset.path)).get(SHA512_PROPERTY)?.[0]
    if (known && /^[a-f0-9]{128}$/.test(known)) return known
    const digest = new DigestStream('sha512')
    await pipeline(await this.services.artifacts.open(asset), digest, discard())
    const hex = digest.hex()
    const owner = asset.repoKey === repository.key ? repository : await this.services.repositories.get(asset.repoKey)
    // Only a cache: if it cannot be written (the file was just deleted), the next request computes it again.
    if (owner) await this.services.artifacts.setProperties(owner, asset.path, new Map([[SHA512_PROPERTY, [hex]]]), false).catch(() => {})
    return hex
  }

  /** `maven-metadata.xml` of a local repository, from its stored files; `undefined` when the level has none. */
  private async localMetadata(repository: Repository, path: string): Promise<{ document: MavenMetadata; modifiedAt: number } | undefined> {
    const folder = folderOfPath(path)
    const segments = folder.split('/')
    if (segments.length < 2) return undefined
    const last = segments[segments.length - 1]!
    if (isSnapshotVersion(last) && segments.length >= 3) return this.snapshotMetadata(repository, folder)
    return this.artifactMetadata(repository, folder)
  }

  /** The artifact level (`<group>/<artifactId>/maven-metadata.xml`): every version folder holding a file of that version. */
  private async artifactMetadata(repository: Repository, folder: string): Promise<{ document: MavenMetadata; modifiedAt: number } | undefined> {
    const artifactId = nameOfPath(folder)
    const groupPath = folderOfPath(folder)
    const { files } = await this.services.artifacts.listDeep(repository.key, folder)
    const versions = new Set<string>()
    let modifiedAt = 0
    for (const asset of files) {
      const relative = asset.path.slice(folder.length + 1).split('/')
      if (relative.length !== 2) continue
      const [version, name] = relative as [string, string]
      if (!parseFileName(name, artifactId, version)) continue
      versions.add(version)
      modifiedAt = Math.max(modifiedAt, asset.modifiedAt)
    }
    if (versions.size === 0) return undefined
    const sorted = sortMavenVersions(versions)
    const release = highestVersion(sorted.filter((v) => !isSnapshotVersion(v)))
    return {
      modifiedAt,
      document: {
        groupId: groupPath.split('/').join('.'),
        artifactId,
        versioning: {
          latest: sorted.at(-1),
          release,
          versions: sorted,
          lastUpdated: mavenTimestamp(modifiedAt),
          snapshotVersions: [],
        },
      },
    }
  }

  /** A SNAPSHOT version's level: its newest timestamped build, and the newest file per classifier and extension. */
  private async snapshotMetadata(repository: Repository, folder: string): Promise<{ document: MavenMetadata; modifiedAt: number } | undefined> {
    const version = nameOfPath(folder)
    const artifactFolder = folderOfPath(folder)
    const artifactId = nameOfPath(artifactFolder)
    const groupPath = folderOfPath(artifactFolder)
    const { files } = await this.services.artifacts.children(repository.key, folder)
    type Candidate = SnapshotVersion & { readonly buildNumber: number }
    const newest = new Map<string, Candidate>()
    let latest: { timestamp: string; buildNumber: number } | undefined
    let modifiedAt = 0
    for (const asset of files) {
      const parsed = parseFileName(asset.name, artifactId, version)
      if (!parsed) continue
      modifiedAt = Math.max(modifiedAt, asset.modifiedAt)
      const isTimestamped = parsed.timestamp !== undefined && parsed.buildNumber !== undefined
      const candidate: Candidate = {
        classifier: parsed.classifier,
        extension: parsed.extension,
        value: isTimestamped ? `${baseOfSnapshot(version)}-${parsed.timestamp}-${parsed.buildNumber}` : version,
        updated: isTimestamped ? parsed.timestamp!.replace('.', '') : mavenTimestamp(asset.modifiedAt),
        buildNumber: parsed.buildNumber ?? 0,
      }
      if (isTimestamped && (!latest || parsed.buildNumber! > latest.buildNumber)) {
        latest = { timestamp: parsed.timestamp!, buildNumber: parsed.buildNumber! }
      }
      const key = `${candidate.classifier}\0${candidate.extension}`
      const known = newest.get(key)
      if (!known || candidate.buildNumber > known.buildNumber || (candidate.buildNumber === known.buildNumber && candidate.updated > known.updated)) {
        newest.set(key, candidate)
      }
    }
    if (newest.size === 0) return undefined
    const snapshotVersions = [...newest.values()]
      .sort((a, b) => (a.extension + a.classifier < b.extension + b.classifier ? -1 : 1))
      .map(({ classifier, extension, value, updated }) => ({ classifier, extension, value, updated }))
    return {
      modifiedAt,
      document: {
        groupId: groupPath.split('/').join('.'),
        artifactId,
        version,
        versioning: {
          snapshot: latest ? { timestamp: latest.timestamp, buildNumber: latest.buildNumber } : { localCopy: true },
          versions: [],
          lastUpdated: mavenTimestamp(modifiedAt),
          snapshotVersions,
        },
      },
    }
  }

  /**
   * A virtual repository's `maven-metadata.xml`: the documents of its members (resolved by the
   * core's engine: in order, each once, those the caller may read), merged.
   */
  private async mergedMetadata(virtual: Repository, path: string, context: PlainReadContext): Promise<{ document: MavenMetadata; modifiedAt: number } | undefined> {
    const collected = await context.members(virtual, { path }, async ({ repository }) => {
      try {
        const read = await this.readResolved(await context.resolve(repository, path))
        return read && { document: parseMetadata(read.body), modifiedAt: read.modifiedAt }
      } catch (err) {
        // A member's unreadable or malformed metadata must not hide the others'.
        if (isTroveError(err) && (err.code === 'BAD_REQUEST' || err.code === 'PAYLOAD_TOO_LARGE')) return undefined
        throw err
      }
    })
    const document = mergeMetadata(collected.found.map((f) => f.value.document))
    if (!document) throw await collected.missing(`'${path}'`)
    return { document, modifiedAt: Math.max(0, ...collected.found.map((f) => f.value.modifiedAt)) || Date.now() }
  }

  private async readResolved(found: Resolution): Promise<{ body: Buffer; modifiedAt: number } | undefined> {
    switch (found.kind) {
      case 'generated':
        return { body: Buffer.from(found.file.body), modifiedAt: found.file.modifiedAt ?? Date.now() }
      case 'file':
        return { body: await readLimited(await this.services.artifacts.open(found.asset), MAX_METADATA_BYTES, () => tooLarge(METADATA_NAME, MAX_METADATA_BYTES)), modifiedAt: found.asset.modifiedAt }
      case 'stream':
        return { body: await readLimited(found.stream, MAX_METADATA_BYTES, () => tooLarge(METADATA_NAME, MAX_METADATA_BYTES)), modifiedAt: Date.now() }
      case 'folder':
        return undefined
    }
  }
}

/** A pass-through that hashes what flows through it with one algorithm. */
class DigestStream extends Transform {
  private readonly hash
  private result: string | undefined

  constructor(algorithm: string) {
    super()
    this.hash = createHash(algorithm)
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk)
    callback(null, chunk)
  }

  /** Only valid once the stream has ended. */
  hex(): string {
    this.result ??= this.hash.digest('hex')
    return this.result
  }
}

/** A sink for bytes that were only needed for their digest. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() })
}

function hashOf(algorithm: ChecksumAlgorithm, body: string | Buffer): string {
  return createHash(algorithm).update(body).digest('hex')
}

/** Small documents are read whole (never artifacts): past their limit, PAYLOAD_TOO_LARGE. */
function tooLarge(what: string, limit: number): TroveError {
  return new TroveError('PAYLOAD_TOO_LARGE', `${what} is larger than the limit of ${limit} bytes`)
}
