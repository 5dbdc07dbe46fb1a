import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { type ArtifactService, type Asset, type BlobInfo, type BlobStore, type ExpectedChecksums, isTroveError, type Properties, readLimited, type Repository, TroveError } from '../../core/index.js'
import { parseGoMod } from './go-mod.js'
import { isCanonicalVersion } from './go-semver.js'
import { PROPERTY } from './go-store.js'
import { badUpload, filePath, versionMatchesPath, type ModuleFileExt } from './module-path.js'
import { MAX_GO_MOD_BYTES, MAX_ZIP_BYTES, checkModuleZip } from './module-zip.js'

/** A `.info` file is a small JSON object. */
const MAX_INFO_BYTES = 64 * 1024

const CONTENT_TYPES: Readonly<Record<ModuleFileExt, string>> = {
  info: 'application/json',
  mod: 'text/plain; charset=utf-8',
  zip: 'application/zip',
}

export interface ModuleUpload {
  readonly module: string
  readonly escaped: string
  readonly version: string
  readonly ext: ModuleFileExt
  readonly body: Readable
  readonly user: string
  readonly expected?: ExpectedChecksums | undefined
  readonly declaredSize?: number | undefined
  /** JFrog CLI's `X-GO-MODULE-CONTENT` (the go.mod, base64) sent with each file: checked against the zip's go.mod. */
  readonly declaredGoMod?: Buffer | undefined
  /** Matrix parameters of the URL (`;build.name=…`), kept as properties as Artifactory does. */
  readonly properties?: Properties | undefined
}

/**
 * Uploads of a module version's files into a local repository, as Artifactory takes them from
 * `jf go-publish` (a `PUT` each of `<module>/@v/<version>.zip`, `.mod` and `.info`, in any
 * order). Each file streams into the blob store and is checked there before it is recorded:
 * - the zip by the go command's rules (see module-zip.ts), and its `go.mod`, if any, must name the
 *   module and equal the `.mod` when that is (or is then) uploaded;
 * - the `.mod` must name the module (`module <path>`);
 * - the `.info` must be `{"Version": "<version>", "Time": …}`.
 * Module versions are immutable (go.sum pins their hashes): a file that exists is never replaced;
 * sending the same bytes again is accepted and changes nothing, other bytes are a 409.
 */
export class GoPublisher {
  constructor(
    private readonly blobs: BlobStore,
    private readonly artifacts: ArtifactService,
  ) {}

  async publish(repository: Repository, upload: ModuleUpload): Promise<{ asset: Asset; isNew: boolean }> {
    const { module, version, ext } = upload
    if (!isCanonicalVersion(version)) throw badUpload(`'${version}' is not a canonical module version (vMAJOR.MINOR.PATCH[-pre][+incompatible])`)
    if (!versionMatchesPath(module, version)) throw badUpload(`version ${version} does not match the major version of module path '${module}'`)
    const path = filePath(upload.escaped, version, ext)
    if (!repository.isPathAllowed(path)) throw new TroveError('DENIED', `'${path}' is not allowed in '${repository.key}' by its include/exclude patterns`)
    const existing = await this.artifacts.getAsset(repository.key, path)
    if (!existing) await this.artifacts.admitUpload(repository, upload.declaredSize)
    const maxBytes = ext === 'zip' ? MAX_ZIP_BYTES : ext === 'mod' ? MAX_GO_MOD_BYTES : MAX_INFO_BYTES
    const blob = await this.blobs.put(upload.body, { expected: upload.expected, maxBytes })
    if (existing) return { asset: this.sameOrConflict(existing, blob, module, version, ext), isNew: false }

    const properties = new Map<string, string[]>()
    for (const [name, values] of upload.properties ?? []) properties.set(name, [...values])
    properties.set(PROPERTY.module, [module])
    properties.set(PROPERTY.version, [version])
    if (ext === 'zip') {
      const { goMod } = await checkModuleZip(this.blobs, blob, module, version)
      if (goMod) {
        assertNamesModule(goMod, module, 'the go.mod in the zip')
        const sha256 = createHash('sha256').update(goMod).digest('hex')
        const mod = await this.artifacts.getAsset(repository.key, filePath(upload.escaped, version, 'mod'))
        if (mod && mod.sha256 !== sha256) throw badUpload(`the go.mod in the zip differs from the ${version}.mod already uploaded`)
        if (upload.declaredGoMod && !upload.declaredGoMod.equals(goMod)) throw badUpload('the go.mod in the zip differs from the X-GO-MODULE-CONTENT header')
        properties.set(PROPERTY.zipGoModSha256, [sha256])
      }
    } else if (ext === 'mod') {
      const text = await this.readBlob(blob, MAX_GO_MOD_BYTES)
      assertNamesModule(text, module, `${version}.mod`)
      const zip = await this.artifacts.getAsset(repository.key, filePath(upload.escaped, version, 'zip'))
      if (zip) {
        const inZip = (await this.artifacts.getProperties(repository.key, zip.path)).get(PROPERTY.zipGoModSha256)?.[0]
        if (inZip !== undefined && inZip !== blob.sha256) throw badUpload(`${version}.mod differs from the go.mod in the ${version}.zip already uploaded`)
      }
    } else {
      assertInfo(await this.readBlob(blob, MAX_INFO_BYTES), version)
    }

    try {
      // Checked again as the change commits: a concurrent upload of this very file may have won since.
      await this.artifacts.applyChanges(repository, { put: [{ path, blob, contentType: CONTENT_TYPES[ext], properties }], mustNotExist: [path] }, upload.user)
    } catch (err) {
      if (!isTroveError(err) || err.code !== 'CONFLICT') throw err
      const winner = await this.artifacts.getAsset(repository.key, path)
      if (!winner) throw err
      return { asset: this.sameOrConflict(winner, blob, module, version, ext), isNew: false }
    }
    return { asset: (await this.artifacts.getAsset(repository.key, path))!, isNew: true }
  }

  private sameOrConflict(existing: Asset, blob: BlobInfo, module: string, version: string, ext: ModuleFileExt): Asset {
    if (existing.sha256 === blob.sha256) return existing
    throw new TroveError('CONFLICT', `${module}@${version}: ${version}.${ext} is already published with other content; module versions are immutable (publish a new version)`)
  }

  private async readBlob(blob: BlobInfo, max: number): Promise<Buffer> {
    return readLimited(await this.blobs.open(blob.sha256), max, () => badUpload(`the file is larger than ${max} bytes`))
  }
}

function assertNamesModule(goMod: Buffer, module: string, what: string): void {
  const named = parseGoMod(goMod.toString('utf8')).module
  if (named === undefined) throw badUpload(`${what} has no module directive`)
  if (named !== module) throw badUpload(`${what} declares module '${named}', not '${module}'`)
}

function assertInfo(bytes: Buffer, version: string): void {
  let info: unknown
  try {
    info = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw badUpload(`${version}.info is not JSON`)
  }
  if (typeof info !== 'object' || info === null || Array.isArray(info)) throw badUpload(`${version}.info is not a JSON object`)
  const fields = info as { Version?: unknown; Time?: unknown }
  if (fields.Version !== version) throw badUpload(`${version}.info says Version ${JSON.stringify(fields.Version)}, not "${version}"`)
  if (fields.Time !== undefined && (typeof fields.Time !== 'string' || Number.isNaN(Date.parse(fields.Time)))) {
    throw badUpload(`${version}.info has a Time that is not an RFC 3339 time`)
  }
}
