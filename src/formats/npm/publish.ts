import { once } from 'node:events'
import semver from 'semver'
import { type ArtifactService, type BlobInfo, type BlobStore, conflict, type Repository, TroveError } from '../../core/index.js'
import { isObject, manifestDifferences, normalizeManifest, type Json, type JsonObject } from './manifest.js'
import { tarballPath, type PackageName } from './names.js'
import { retrying, type NewVersion, type NpmStore } from './npm-store.js'
import { readPublishDocument, type AttachmentWriter } from './publish-document.js'
import { TarballInspector, type TarballFacts } from './tarball.js'

export interface PublishLimits {
  readonly maxTarballBytes: number
  readonly maxMetadataBytes: number
  readonly maxUnpackedBytes: number
}

export interface PublishRequest {
  readonly repository: Repository
  readonly name: PackageName
  /** Who publishes: recorded as `_npmUser` (with the email, if the account has one) and on the asset. */
  readonly user: string
  readonly email: string | undefined
  /** Whether the caller may deploy; a tarball from a caller who may not is refused before it streams. */
  readonly mayDeploy: boolean
  readonly deployRefusal: () => TroveError
  readonly body: AsyncIterable<Buffer>
}

/** A PUT of a package document: a publish (it had a tarball) or a metadata update (deprecate). */
export type PutOutcome =
  | { readonly kind: 'published'; readonly version: string; readonly revision: number }
  | { readonly kind: 'metadata'; readonly document: Json }

/** What the checks made of a publish: the version and the manifest Trove will serve. */
interface Prepared {
  readonly version: string
  readonly manifest: JsonObject
  readonly readme: string | null
  readonly tags: readonly string[]
  readonly tarballPath: string
  readonly facts: TarballFacts
}

interface Upload {
  readonly writer: AttachmentWriter
  readonly done: Promise<{ blob: BlobInfo; prepared: Prepared }>
  abort(err: unknown): void
}

/**
 * `npm publish`: reads the document (streaming, see {@link readPublishDocument}), streams the
 * tarball into the blob store through a {@link TarballInspector}, and lets the blob commit only
 * once every check passed (digests, name, semver, manifest confusion, version not taken). Then it
 * records the tarball's asset and the version together.
 */
export class NpmPublisher {
  constructor(
    private readonly blobs: BlobStore,
    private readonly artifacts: ArtifactService,
    private readonly store: NpmStore,
    private readonly limits: PublishLimits,
  ) {}

  async put(request: PublishRequest): Promise<PutOutcome> {
    let upload: Upload | undefined
    let settle!: { resolve: (document: Json) => void; reject: (err: unknown) => void }
    // The tarball's checks need the whole document, which may end after the tarball does.
    const document = new Promise<Json>((resolve, reject) => (settle = { resolve, reject }))
    document.catch(() => {})
    let parsed: Json
    try {
      const result = await readPublishDocument(request.body, {
        maxMetadataBytes: this.limits.maxMetadataBytes,
        onAttachment: (attachment) => {
          if (!request.mayDeploy) throw request.deployRefusal()
          if (upload) throw new TroveError('BAD_REQUEST', 'a publish carries exactly one attachment, the package tarball (provenance attachments are not supported)')
          upload = this.upload(request, attachment, document)
          return upload.writer
        },
      })
      parsed = result.document as Json
      settle.resolve(parsed)
    } catch (err) {
      settle.reject(err)
      if (upload) {
        upload.abort(err)
        await upload.done.catch(() => {})
      }
      throw err
    }
    if (!upload) return { kind: 'metadata', document: parsed }
    const { blob, prepared } = await upload.done
    return this.record(request, blob, prepared)
  }

  private upload(request: PublishRequest, attachment: string, document: Promise<Json>): Upload {
    let prepared: Prepared | undefined
    const inspector = new TarballInspector({
      maxUnpackedBytes: this.limits.maxUnpackedBytes,
      verify: async (facts) => {
        prepared = await this.prepare(request, attachment, await document, facts)
      },
    })
    // put() attaches its pipeline only once its storage writer is open; a refusal before that must
    // not be an unhandled 'error' event (the pipeline still sees the stream's error when it attaches).
    inspector.on('error', () => {})
    const stored = this.blobs.put(inspector, { maxBytes: this.limits.maxTarballBytes }).catch((err: unknown) => {
      if (err instanceof TroveError && err.code === 'PAYLOAD_TOO_LARGE') {
        throw new TroveError('PAYLOAD_TOO_LARGE', `the tarball is larger than the limit of ${this.limits.maxTarballBytes} bytes (npm.maxTarballBytes)`)
      }
      throw err
    })
    // Rejects when the upload fails, so that a writer waiting for 'drain' stops waiting.
    const failed = stored.then(
      () => new Promise<never>(() => {}),
      (err: unknown) => Promise.reject(err),
    )
    failed.catch(() => {})
    return {
      writer: {
        async write(chunk) {
          // After a failure 'drain' never comes, and once() rejects with the inspector's raw error:
          // the upload's outcome (as the blob store words it, a full store included) is what to report.
          if (!inspector.write(chunk)) await Promise.race([once(inspector, 'drain').catch(() => failed), failed])
        },
        end() {
          inspector.end()
        },
      },
      done: stored.then((blob) => ({ blob, prepared: prepared! })),
      abort: (err) => inspector.destroy(err instanceof Error ? err : new Error(String(err))),
    }
  }

  /** Every check of a publish; runs before the tarball's blob commits, so a refusal stores nothing. */
  private async prepare(request: PublishRequest, attachment: string, document: Json, facts: TarballFacts): Promise<Prepared> {
    const { name, repository } = request
    if (!isObject(document)) throw new TroveError('BAD_REQUEST', 'the publish document must be a JSON object')
    if (document.name !== undefined && document.name !== name.full) {
      throw new TroveError('BAD_REQUEST', `the document is for package '${String(document.name)}' but was sent to '${name.full}'`)
    }
    const versions = isObject(document.versions) ? Object.entries(document.versions) : []
    if (versions.length !== 1) throw new TroveError('BAD_REQUEST', 'a publish carries exactly one version in "versions"')
    const [declaredVersion, declaredManifest] = versions[0]!
    if (!isObject(declaredManifest)) throw new TroveError('BAD_REQUEST', `versions["${declaredVersion}"] must be an object`)

    const attachments = isObject(document._attachments) ? document._attachments : {}
    const described = attachments[attachment]
    if (isObject(described) && typeof described.length === 'number' && described.length !== facts.size) {
      throw new TroveError('SIZE_INVALID', `the tarball is ${facts.size} bytes but its attachment declares ${described.length}`)
    }
    verifyDigests(declaredManifest, facts)

    // The version Trove serves is the tarball's own package.json; the declared one must agree.
    const fromTarball = normalizeManifest(facts.packageJson, facts)
    if (fromTarball.name !== name.full) {
      throw new TroveError('BAD_REQUEST', `the package.json inside the tarball names '${String(fromTarball.name)}', not '${name.full}'`)
    }
    const version = fromTarball.version
    if (typeof version !== 'string' || semver.valid(version) === null) {
      throw new TroveError('BAD_REQUEST', `version '${String(facts.packageJson.version)}' in the tarball's package.json is not a valid semver version`)
    }
    if ((semver.clean(declaredVersion, { loose: true }) ?? declaredVersion) !== version) {
      throw new TroveError('BAD_REQUEST', `the document publishes version '${declaredVersion}' but the tarball's package.json has '${version}'`)
    }
    const differences = manifestDifferences(normalizeManifest(declaredManifest, facts), fromTarball)
    if (differences.length > 0) {
      throw new TroveError(
        'BAD_REQUEST',
        `the metadata sent differs from the package.json inside the tarball in: ${differences.join(', ')} (manifest confusion); publish the tarball's own package.json`,
        { differences },
      )
    }
    const path = tarballPath(name, version)
    if (!repository.isPathAllowed(path)) {
      throw new TroveError('DENIED', `'${path}' is not allowed in '${repository.key}' by its includes/excludes patterns`)
    }
    const distTags = isObject(document['dist-tags']) ? document['dist-tags'] : {}
    const tags = Object.entries(distTags)
      .filter(([, v]) => v === declaredVersion || v === version)
      .map(([tag]) => tag)
    for (const tag of tags) assertTagName(tag)
    // Checked here so that a refusal stores nothing; the transaction that records the version decides races.
    if (await this.store.versionExists(repository.key, name.full, version)) throw versionExists(name, version)

    const manifest: JsonObject = { ...fromTarball }
    delete manifest.readme
    delete manifest.readmeFilename
    for (const field of ['_nodeVersion', '_npmVersion', 'gitHead'] as const) {
      const value = declaredManifest[field]
      if (typeof value === 'string') manifest[field] = value
    }
    Object.assign(manifest, {
      _id: `${name.full}@${version}`,
      _npmUser: request.email ? { name: request.user, email: request.email } : { name: request.user },
      _hasShrinkwrap: facts.paths.has('npm-shrinkwrap.json'),
      dist: { shasum: facts.sha1, integrity: `sha512-${facts.sha512}`, fileCount: facts.fileCount, unpackedSize: facts.unpackedSize },
    })
    const readmes = [declaredManifest.readme, document.readme].filter((r): r is string => typeof r === 'string' && r !== '' && r !== 'ERROR: No README data found!')
    return { version, manifest, readme: readmes[0] ?? null, tags, tarballPath: path, facts }
  }

  /**
   * Records the tarball's asset and the version in one transaction (the core's applyChanges with
   * the npm rows alongside): a version is never visible without its tarball, and of two racing
   * publishes of one version the loser changes nothing (its blob is left to garbage collection).
   */
  private async record(request: PublishRequest, blob: BlobInfo, prepared: Prepared): Promise<PutOutcome> {
    const { repository, name, user } = request
    const version: NewVersion = {
      repoKey: repository.key,
      name: name.full,
      version: prepared.version,
      manifest: prepared.manifest,
      tarballPath: prepared.tarballPath,
      readme: prepared.readme,
      publishedBy: user,
    }
    const revision = await retrying(name.full, async () => {
      let revision = 0
      await this.artifacts.applyChanges(repository, { put: [{ path: prepared.tarballPath, blob, contentType: 'application/octet-stream' }] }, user, async (trx) => {
        revision = await this.store.publishIn(trx, version, prepared.tags)
      })
      return revision
    })
    return { kind: 'published', version: prepared.version, revision }
  }
}

/**
 * npm's `shasum` (hex sha1) and `integrity` (SRI: `sha512-<base64>`, possibly several). Each
 * digest given must match; digests of algorithms Trove does not compute are ignored, but at least
 * one must be checkable when `integrity` is given.
 */
function verifyDigests(manifest: JsonObject, facts: TarballFacts): void {
  const dist = isObject(manifest.dist) ? manifest.dist : {}
  if (typeof dist.shasum === 'string' && dist.shasum.toLowerCase() !== facts.sha1) {
    throw new TroveError('DIGEST_INVALID', `shasum mismatch: the metadata declares ${dist.shasum} but the tarball's sha1 is ${facts.sha1}`)
  }
  if (typeof dist.integrity !== 'string') return
  const actual: Record<string, string> = { sha512: facts.sha512, sha1: Buffer.from(facts.sha1, 'hex').toString('base64') }
  let checked = 0
  for (const entry of dist.integrity.trim().split(/\s+/)) {
    const match = /^([a-z0-9]+)-([A-Za-z0-9+/=]+)(\?.*)?$/.exec(entry)
    const expected = match ? actual[match[1]!] : undefined
    if (!match || expected === undefined) continue
    checked++
    if (match[2] !== expected) {
      throw new TroveError('DIGEST_INVALID', `integrity mismatch: the metadata declares ${entry} but the tarball is ${match[1]}-${expected}`)
    }
  }
  if (checked === 0) throw new TroveError('DIGEST_INVALID', `integrity '${dist.integrity}' has no sha512 or sha1 digest that Trove can check`)
}

/** npm's rule for tag names: not something that reads as a version range, and URL-safe. */
export function assertTagName(tag: string): void {
  if (tag === '' || encodeURIComponent(tag) !== tag || semver.validRange(tag) !== null) {
    throw new TroveError('BAD_REQUEST', `invalid dist-tag '${tag}': a tag is URL-safe and must not be a semver version or range`)
  }
}

export function versionExists(name: PackageName, version: string): TroveError {
  return conflict(`cannot publish over the previously published version ${name.full}@${version}`)
}
