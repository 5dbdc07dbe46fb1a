import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import { type ArtifactService, type BytesCache, type Asset, type BlobInfo, type BlobStore, type FormatTables, parentOf, type Repository, type StoredAsset } from '../../core/index.js'
import type { OciTables } from './tables.js'
import { OciError, type OciErrorEntry } from './errors.js'
import {
  INDEX_FILE,
  MANIFEST_FILE,
  MANIFEST_FILES,
  blobFileName,
  childOfImage,
  digestFolder,
  isHeldBlobFile,
  isReservedTag,
  tagFolder,
  tagOfFolder,
  uploadedBlobPath,
} from './layout.js'
import { MAX_MANIFEST_BYTES, isIndexType, parseManifest, type Descriptor, type ParsedManifest } from './manifests.js'
import { digestOf, type Reference } from './names.js'

/** A manifest as stored in an image: where, which bytes, served as which media type. */
export interface StoredManifest {
  readonly hex: string
  readonly size: number
  readonly mediaType: string
  /** The manifest file's path in the repository. */
  readonly path: string
}

export interface StoredBlob {
  readonly hex: string
  readonly size: number
}

export interface PushedManifest {
  readonly hex: string
  readonly subject?: string | undefined
}

/** A descriptor of the referrers API's answer. */
export interface ReferrerDescriptor {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly artifactType?: string
  readonly annotations?: Record<string, string>
}

/**
 * The registry of one local repository class: images laid out as assets (see `layout.ts`), blobs in
 * the blob store. Every read resolves through the assets, so what the REST API deletes is gone here
 * too. Remote and virtual repositories will implement the same reads over an upstream.
 */
export class LocalRegistry {
  private readonly db: Kysely<OciTables>

  constructor(
    private readonly tables: FormatTables<OciTables>,
    private readonly blobs: BlobStore,
    private readonly artifacts: ArtifactService,
    private readonly cache: BytesCache,
  ) {
    this.db = tables.db
  }

  // ---- reads ----

  /** The manifest a tag or digest names in an image, or `undefined`. One indexed query. */
  async resolve(repoKey: string, image: string, reference: Reference): Promise<StoredManifest | undefined> {
    if (reference.kind === 'digest') return (await this.manifestsIn(repoKey, image, [reference.hex]))[0]
    if (isReservedTag(reference.tag)) return undefined
    const folder = tagFolder(image, reference.tag)
    const [asset] = await this.artifacts.findFiles({ repoKeys: [repoKey], paths: MANIFEST_FILES.map((f) => `${folder}/${f}`) })
    return asset ? toManifest(asset) : undefined
  }

  /** The manifests stored in the image (in any tag or digest folder), optionally only those with the given digests. */
  async manifestsIn(repoKey: string, image: string, hexes?: readonly string[]): Promise<StoredManifest[]> {
    const assets = await this.artifacts.findFiles({ repoKeys: [repoKey], below: image, names: MANIFEST_FILES, sha256: hexes })
    return assets.filter((a) => childOfImage(image, parentOf(a.path)) !== undefined).map(toManifest)
  }

  /** The blobs the image holds among `hexes` (layers, configs, uploaded blobs and manifests). */
  async blobsIn(repoKey: string, image: string, hexes: readonly string[]): Promise<Map<string, StoredBlob>> {
    const assets = await this.artifacts.findFiles({ repoKeys: [repoKey], below: image, sha256: [...new Set(hexes)] })
    const found = new Map<string, StoredBlob>()
    for (const asset of assets) {
      const folder = childOfImage(image, parentOf(asset.path))
      if (folder !== undefined && isHeldBlobFile(folder, asset.name)) found.set(asset.sha256, { hex: asset.sha256, size: asset.size })
    }
    return found
  }

  async blob(repoKey: string, image: string, hex: string): Promise<StoredBlob | undefined> {
    return (await this.blobsIn(repoKey, image, [hex])).get(hex)
  }

  /** A manifest's bytes (at most 4 MiB, so held in memory), from the cache or the blob store. */
  async readManifest(hex: string): Promise<Buffer> {
    const cached = this.cache.get(hex)
    if (cached) return cached
    const chunks: Buffer[] = []
    let length = 0
    for await (const chunk of await this.blobs.open(hex)) {
      length += (chunk as Buffer).length
      if (length > MAX_MANIFEST_BYTES) throw new OciError('MANIFEST_INVALID', `manifest sha256:${hex} is larger than ${MAX_MANIFEST_BYTES} bytes`)
      chunks.push(chunk as Buffer)
    }
    const bytes = Buffer.concat(chunks)
    this.cache.set(hex, bytes)
    return bytes
  }

  /** The image's tags in lexical (byte) order, or `undefined` when the image holds no manifest at all. */
  async tags(repoKey: string, image: string): Promise<string[] | undefined> {
    const assets = await this.artifacts.findFiles({ repoKeys: [repoKey], below: image, names: MANIFEST_FILES })
    let isKnown = false
    const tags = new Set<string>()
    for (const asset of assets) {
      const folder = childOfImage(image, parentOf(asset.path))
      if (folder === undefined) continue
      isKnown = true
      const tag = tagOfFolder(folder)
      if (tag !== undefined) tags.add(tag)
    }
    return isKnown ? [...tags].sort(byteOrder) : undefined
  }

  /** Every image of the given repositories, as `{repoKey, image}`, in byte order. */
  async images(repoKeys: readonly string[]): Promise<{ repoKey: string; image: string }[]> {
    const assets = await this.artifacts.findFiles({ repoKeys, names: MANIFEST_FILES })
    const seen = new Map<string, { repoKey: string; image: string }>()
    for (const asset of assets) {
      const image = parentOf(parentOf(asset.path))
      if (image === '') continue
      seen.set(`${asset.repoKey}/${image}`, { repoKey: asset.repoKey, image })
    }
    return [...seen.entries()].sort(([a], [b]) => byteOrder(a, b)).map(([, v]) => v)
  }

  /** Manifests of the image whose `subject` is `hex` (distribution-spec v1.1, "Listing Referrers"). */
  async referrers(repoKey: string, image: string, hex: string, artifactType?: string): Promise<ReferrerDescriptor[]> {
    let query = this.db.selectFrom('oci_referrers').selectAll().where('subject', '=', digestOf(hex))
    if (artifactType !== undefined) query = query.where('artifact_type', '=', artifactType)
    const facts = await query.execute()
    if (facts.length === 0) return []
    const stored = await this.manifestsIn(
      repoKey,
      image,
      facts.map((f) => f.digest.slice('sha256:'.length)),
    )
    const byHex = new Map(stored.map((m) => [m.hex, m]))
    return facts.flatMap((fact) => {
      const manifest = byHex.get(fact.digest.slice('sha256:'.length))
      if (!manifest) return []
      return [
        {
          mediaType: manifest.mediaType,
          digest: fact.digest,
          size: manifest.size,
          ...(fact.artifact_type ? { artifactType: fact.artifact_type } : {}),
          ...(fact.annotations ? { annotations: JSON.parse(fact.annotations) as Record<string, string> } : {}),
        },
      ]
    })
  }

  // ---- writes ----

  /**
   * Records a blob the image now holds (pushed, or mounted from an image the caller may read) in
   * the image's uploads folder, until a manifest references it. `finishUpload`: the upload session
   * that brought it ends in the same transaction.
   */
  async addBlob(repository: Repository, image: string, blob: BlobInfo | { readonly sha256: string }, user: string, finishUpload?: string): Promise<void> {
    const path = uploadedBlobPath(image, blob.sha256)
    assertAllowed(repository, path)
    await this.artifacts.applyChanges(
      repository,
      { put: [{ path, blob, contentType: 'application/octet-stream' }], ...(finishUpload !== undefined ? { finishUploads: [finishUpload] } : {}) },
      user,
    )
  }

  /**
   * Validates and stores a manifest, then lays it out under its tag folder (or its digest folder
   * when pushed by digest). Refuses (`MANIFEST_BLOB_UNKNOWN`, one entry per miss) a manifest whose
   * blobs or child manifests the image does not hold, whatever their `urls` say: only a foreign
   * layer may be absent, and only where the repository allows foreign layers. A `subject` may be
   * missing. A manifest that a moved tag leaves without any tag stays pullable by digest, in its
   * digest folder.
   */
  async putManifest(
    repository: Repository,
    image: string,
    reference: Reference,
    bytes: Buffer,
    contentType: string | undefined,
    user: string,
  ): Promise<PushedManifest> {
    const parsed = parseManifest(bytes, contentType)
    const hex = createHash('sha256').update(bytes).digest('hex')
    if (reference.kind === 'digest' && reference.hex !== hex) {
      throw new OciError('DIGEST_INVALID', `the manifest's digest is sha256:${hex}, not the sha256:${reference.hex} it was pushed as`, {
        detail: { expected: digestOf(reference.hex), actual: digestOf(hex) },
      })
    }
    if (reference.kind === 'tag' && isReservedTag(reference.tag)) {
      throw new OciError('MANIFEST_INVALID', `tag '${reference.tag}' is reserved: Trove lays images out with '_uploads' and 'sha256__' folders`)
    }
    const laidOut = await this.assertReferencesHeld(repository, image, parsed)

    const folder = reference.kind === 'tag' ? tagFolder(image, reference.tag) : digestFolder(image, hex)
    const fileName = isIndexType(parsed.mediaType) ? INDEX_FILE : MANIFEST_FILE
    assertAllowed(repository, `${folder}/${fileName}`)

    // The bytes first: no asset may point at a blob that is not stored and verified.
    const blob = await this.blobs.put(Readable.from([bytes]), { expected: { sha256: hex } })
    this.cache.set(hex, bytes)
    if (parsed.subject) {
      await this.db
        .insertInto('oci_referrers')
        .values({
          digest: digestOf(hex),
          subject: parsed.subject.digest,
          artifact_type: parsed.artifactType ?? null,
          annotations: parsed.annotations ? JSON.stringify(parsed.annotations) : null,
          created_at: Date.now(),
        })
        .onConflict((oc) => oc.column('digest').doNothing())
        .execute()
    }

    const stored = await this.manifestsIn(repository.key, image, [hex])
    const put: StoredAsset[] = []
    const clearFolders: string[] = []
    if (reference.kind === 'digest') {
      // Already in the image (tagged, or pushed by digest before): nothing to lay out.
      if (stored.length === 0) put.push(...this.files(folder, image, hex, blob, parsed, reference, laidOut))
    } else {
      const previous = await this.resolve(repository.key, image, reference)
      clearFolders.push(folder)
      put.push(...this.files(folder, image, hex, blob, parsed, reference, laidOut))
      // Tagged now: its digest folder, if it had one, is redundant.
      const untagged = stored.find((m) => parentOf(m.path) === digestFolder(image, hex))
      if (untagged) clearFolders.push(digestFolder(image, hex))
      if (previous && previous.hex !== hex) put.push(...(await this.keepUntagged(repository.key, image, previous, folder)))
    }
    // Blobs that a manifest now references leave the uploads folder.
    const removeFiles = laidOut.map((d) => uploadedBlobPath(image, d.hex))
    await this.artifacts.applyChanges(repository, { clearFolders, removeFiles, put }, user)
    return { hex, subject: parsed.subject?.digest }
  }

  /**
   * Deletes a tag (the manifest stays, by digest, if no other tag names it) or a manifest (with
   * every tag that names it). Throws `MANIFEST_UNKNOWN`.
   */
  async deleteManifest(repository: Repository, image: string, reference: Reference, user: string): Promise<void> {
    if (reference.kind === 'tag') {
      const current = await this.resolve(repository.key, image, reference)
      if (!current) throw new OciError('MANIFEST_UNKNOWN', `tag '${reference.tag}' is not in '${image}'`)
      const folder = tagFolder(image, reference.tag)
      const put = await this.keepUntagged(repository.key, image, current, folder)
      await this.artifacts.applyChanges(repository, { clearFolders: [folder], put }, user)
      return
    }
    const stored = await this.manifestsIn(repository.key, image, [reference.hex])
    if (stored.length === 0) throw new OciError('MANIFEST_UNKNOWN', `manifest sha256:${reference.hex} is not in '${image}'`)
    await this.artifacts.applyChanges(repository, { clearFolders: [...new Set(stored.map((m) => parentOf(m.path)))] }, user)
  }

  /**
   * Removes a blob from the image: its uploaded copy and the layer files naming it (manifests that
   * reference it then fail to pull, as in the reference registry). Throws `BLOB_UNKNOWN`.
   */
  async deleteBlob(repository: Repository, image: string, hex: string, user: string): Promise<void> {
    const assets = await this.artifacts.findFiles({ repoKeys: [repository.key], below: image, sha256: [hex] })
    const files = assets.filter((a) => {
      const folder = childOfImage(image, parentOf(a.path))
      return folder !== undefined && isHeldBlobFile(folder, a.name) && !MANIFEST_FILES.includes(a.name)
    })
    if (files.length === 0) throw new OciError('BLOB_UNKNOWN', `blob sha256:${hex} is not in '${image}'`)
    await this.artifacts.applyChanges(repository, { removeFiles: files.map((f) => f.path) }, user)
  }

  /**
   * Refuses a manifest whose blobs or children the image does not hold, listing each one missing
   * (distribution-spec, "Pushing Manifests": `MANIFEST_BLOB_UNKNOWN`). A blob stored for another
   * repository does not count: the digest alone is no proof that the pusher has its bytes. Returns
   * the blobs to lay out beside the manifest: all of them but the absent foreign layers.
   */
  private async assertReferencesHeld(repository: Repository, image: string, parsed: ParsedManifest): Promise<Descriptor[]> {
    const repoKey = repository.key
    const missing: OciErrorEntry[] = []
    const mismatched: string[] = []
    const mayBeAbsent = new Set(allowsForeignLayers(repository) ? parsed.foreignLayers : [])
    const blobs = [...parsed.blobs, ...parsed.foreignLayers]
    const laidOut: Descriptor[] = []
    if (blobs.length > 0) {
      const held = await this.blobsIn(repoKey, image, blobs.map((d) => d.hex))
      for (const descriptor of blobs) {
        const blob = held.get(descriptor.hex)
        if (blob) laidOut.push(descriptor)
        if (!blob && !mayBeAbsent.has(descriptor)) missing.push(unknownReference('blob', descriptor))
        else if (blob && blob.size !== descriptor.size) mismatched.push(`${descriptor.digest} is ${blob.size} bytes, not ${descriptor.size}`)
      }
    }
    if (parsed.manifests.length > 0) {
      const held = new Map((await this.manifestsIn(repoKey, image, parsed.manifests.map((d) => d.hex))).map((m) => [m.hex, m]))
      for (const descriptor of parsed.manifests) {
        const manifest = held.get(descriptor.hex)
        if (!manifest) missing.push(unknownReference('manifest', descriptor))
        else if (manifest.size !== descriptor.size) mismatched.push(`${descriptor.digest} is ${manifest.size} bytes, not ${descriptor.size}`)
      }
    }
    if (missing.length > 0) {
      const [first, ...more] = missing
      throw new OciError('MANIFEST_BLOB_UNKNOWN', first!.message, { detail: first!.detail, more })
    }
    if (mismatched.length > 0) {
      throw new OciError('MANIFEST_INVALID', `descriptor sizes do not match the stored content: ${mismatched.join('; ')}`, { detail: { mismatched } })
    }
    return laidOut
  }

  /**
   * The files that keep `manifest` pullable by digest once `leaving` no longer holds it: its digest
   * folder, unless another tag folder of the image still holds it.
   */
  private async keepUntagged(repoKey: string, image: string, manifest: StoredManifest, leaving: string): Promise<StoredAsset[]> {
    const elsewhere = (await this.manifestsIn(repoKey, image, [manifest.hex])).filter((m) => parentOf(m.path) !== leaving)
    if (elsewhere.length > 0) return []
    const bytes = await this.readManifest(manifest.hex)
    let parsed: ParsedManifest | undefined
    try {
      parsed = parseManifest(bytes, manifest.mediaType)
    } catch {
      parsed = undefined // laid out by another tool: keep the manifest file alone
    }
    const folder = digestFolder(image, manifest.hex)
    const reference: Reference = { kind: 'digest', hex: manifest.hex }
    if (!parsed) return [{ path: `${folder}/${MANIFEST_FILE}`, blob: { sha256: manifest.hex }, contentType: manifest.mediaType }]
    // Its blobs are in the folder it leaves; a foreign layer only if the image holds it.
    const foreign = parsed.foreignLayers.length === 0 ? new Map() : await this.blobsIn(repoKey, image, parsed.foreignLayers.map((d) => d.hex))
    const laidOut = [...parsed.blobs, ...parsed.foreignLayers.filter((d) => foreign.has(d.hex))]
    return this.files(folder, image, manifest.hex, { sha256: manifest.hex }, { ...parsed, mediaType: manifest.mediaType }, reference, laidOut)
  }

  /** A manifest's files in a folder: the manifest, with Artifactory's docker properties, and `blobs` (held by the image). */
  private files(
    folder: string,
    image: string,
    hex: string,
    blob: BlobInfo | { readonly sha256: string },
    parsed: ParsedManifest,
    reference: Reference,
    blobs: readonly Descriptor[],
  ): StoredAsset[] {
    const fileName = isIndexType(parsed.mediaType) ? INDEX_FILE : MANIFEST_FILE
    const properties = new Map<string, string[]>([
      ['docker.repoName', [image]],
      ['docker.manifest', [reference.kind === 'tag' ? reference.tag : digestOf(hex)]],
      ['docker.manifest.digest', [digestOf(hex)]],
      ['docker.manifest.type', [parsed.mediaType]],
    ])
    const files: StoredAsset[] = [{ path: `${folder}/${fileName}`, blob, contentType: parsed.mediaType, properties }]
    const seen = new Set<string>()
    for (const descriptor of blobs) {
      if (descriptor.hex === hex || seen.has(descriptor.hex)) continue
      seen.add(descriptor.hex)
      files.push({ path: `${folder}/${blobFileName(descriptor.hex)}`, blob: { sha256: descriptor.hex }, contentType: descriptor.mediaType })
    }
    return files
  }
}

function toManifest(asset: Asset): StoredManifest {
  return { hex: asset.sha256, size: asset.size, mediaType: asset.contentType, path: asset.path }
}

function unknownReference(what: 'blob' | 'manifest', descriptor: Descriptor): OciErrorEntry {
  return {
    code: 'MANIFEST_BLOB_UNKNOWN',
    message: `the manifest references ${what} ${descriptor.digest}, which this image does not hold`,
    detail: { digest: descriptor.digest, mediaType: descriptor.mediaType },
  }
}

/**
 * Whether a manifest pushed to the repository may name foreign layers it does not hold (a docker
 * repository setting, off unless `true`): Windows base images and other non-distributable layers
 * that clients fetch from the layer's `urls`, never through Trove.
 */
export function allowsForeignLayers(repository: Repository): boolean {
  return repository.config.allowForeignLayers === true
}

function assertAllowed(repository: Repository, path: string): void {
  if (!repository.isPathAllowed(path)) {
    throw new OciError('DENIED', `'${path}' is not allowed in '${repository.key}' by its includes/excludes patterns`)
  }
}

export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
