import { Readable } from 'node:stream'
import type { Multipart } from '@fastify/multipart'
import { type ArtifactService, type BlobInfo, type BlobStore, isTroveError, type Properties, type Repository, type StoredAsset, TroveError } from '../../core/index.js'
import { parseCoreMetadata } from './core-metadata.js'
import { isValidProjectName, normalVersion, normalizeName, parseDistributionFilename, type DistributionFile } from './names.js'
import { PROPERTY } from './pypi-store.js'
import { readWheelMetadata, verifyWheelRecord } from './wheel-archive.js'

/** Form fields kept from an upload (the rest, descriptions and classifiers, are read and dropped). */
const KEPT_FIELDS = new Set([':action', 'name', 'version', 'sha256_digest', 'md5_digest', 'requires_python', 'summary', 'filetype'])

export interface UploadOutcome {
  readonly path: string
  readonly project: string
  readonly version: string
  readonly sha256: string
}

/** PyPI's words for a refused upload (twine prints the status line's reason). */
export const ALREADY_EXISTS = 'File already exists'

/**
 * The legacy upload API (`POST` multipart, `:action=file_upload`) that twine uses, for one local
 * repository. The `content` part streams into the blob store (hashed on the way, refused there if
 * the declared sha256 does not match); the distribution becomes visible only once every check
 * passed, together with its core metadata (`<file>.metadata`, read from a wheel's METADATA).
 */
export class PypiPublisher {
  constructor(
    private readonly blobs: BlobStore,
    private readonly artifacts: ArtifactService,
    private readonly maxUploadBytes: number,
  ) {}

  async upload(repository: Repository, parts: AsyncIterable<Multipart>, user: string): Promise<UploadOutcome> {
    const fields = new Map<string, string>()
    let stored: { blob: BlobInfo; file: DistributionFile; isDigestChecked: boolean } | undefined
    for await (const part of parts) {
      if (part.type === 'field') {
        if (KEPT_FIELDS.has(part.fieldname) && typeof part.value === 'string') fields.set(part.fieldname, part.value)
        continue
      }
      if (part.fieldname !== 'content') {
        // A signature or an attestation: not kept; read through so that the next part comes.
        for await (const _chunk of part.file) void _chunk
        continue
      }
      if (stored) throw new TroveError('BAD_REQUEST', 'Upload one file per request: this one has more than one "content" part.')
      // twine sends every field before the file: refuse what the fields already rule out before storing a byte.
      const file = checkFields(fields, part.filename)
      await this.assertAbsent(repository, file)
      const sha256 = declaredSha256(fields)
      let blob: BlobInfo
      try {
        blob = await this.blobs.put(part.file, { expected: sha256 ? { sha256 } : undefined, maxBytes: this.maxUploadBytes })
      } catch (err) {
        if (isTroveError(err) && err.code === 'DIGEST_INVALID') throw digestMismatch()
        throw err
      }
      if (part.file.truncated) throw new TroveError('PAYLOAD_TOO_LARGE', `File too large: the limit is ${this.maxUploadBytes} bytes.`)
      stored = { blob, file, isDigestChecked: sha256 !== undefined }
    }
    if (!stored) {
      if (fields.size === 0) throw new TroveError('BAD_REQUEST', 'Invalid upload: not a multipart form with a "content" file.')
      checkFields(fields, undefined)
      throw new TroveError('BAD_REQUEST', 'Upload payload does not have a file.')
    }
    // Fields that came after the file (not twine's order) are checked now; a refused blob is left to GC.
    const file = checkFields(fields, stored.file.filename)
    const { blob } = stored
    const sha256 = declaredSha256(fields)
    if (!stored.isDigestChecked && sha256 !== undefined && sha256 !== blob.sha256) throw digestMismatch()
    const md5 = fields.get('md5_digest')?.trim().toLowerCase()
    if (md5 && md5 !== blob.md5) throw digestMismatch()

    const name = fields.get('name')!.trim()
    const project = normalizeName(name)
    const version = normalVersion(fields.get('version')!)!
    const path = `${project}/${version}/${file.filename}`
    let requiresPython = fields.get('requires_python')?.trim() || undefined
    const puts: StoredAsset[] = []
    if (file.kind === 'wheel') {
      const metadata = await readWheelMetadata(this.blobs, blob.sha256, blob.size, name)
      const headers = parseCoreMetadata(metadata.toString('utf8'))
      const metadataName = headers.get('name')?.[0]
      const metadataVersion = headers.get('version')?.[0]
      if (!metadataName || normalizeName(metadataName) !== project) {
        throw new TroveError('BAD_REQUEST', `The wheel's METADATA names '${metadataName ?? ''}', not '${name}'.`)
      }
      if (!metadataVersion || normalVersion(metadataVersion) !== version) {
        throw new TroveError('BAD_REQUEST', `The wheel's METADATA has version '${metadataVersion ?? ''}', not '${fields.get('version')}'.`)
      }
      requiresPython ??= headers.get('requires-python')?.[0] || undefined
      // Last: it reads the whole wheel, the checks above only its directory and METADATA.
      await verifyWheelRecord(this.blobs, blob, name, file.filename)
      const metadataBlob = await this.blobs.put(Readable.from([metadata]))
      puts.push({ path: `${path}.metadata`, blob: metadataBlob, contentType: 'text/plain; charset=utf-8' })
    }
    const properties = new Map<string, string[]>([
      [PROPERTY.name, [name]],
      [PROPERTY.normalizedName, [project]],
      [PROPERTY.version, [version]],
    ])
    if (requiresPython) properties.set(PROPERTY.requiresPython, [requiresPython])
    const summary = fields.get('summary')?.trim()
    if (summary) properties.set(PROPERTY.summary, [summary.slice(0, 512)])
    puts.push({ path, blob, contentType: file.kind === 'wheel' ? 'application/zip' : contentTypeOf(file.filename), properties: properties as Properties })

    if (!repository.isPathAllowed(path)) throw new TroveError('DENIED', `'${path}' is not allowed in '${repository.key}' by its include/exclude patterns`)
    try {
      // Checked again as the change commits: another upload of this very file may have won a race since assertAbsent.
      await this.artifacts.applyChanges(repository, { put: puts, mustNotExist: [path] }, user)
    } catch (err) {
      if (isTroveError(err) && err.code === 'CONFLICT') throw alreadyExists(file.filename)
      throw err
    }
    return { path, project, version, sha256: blob.sha256 }
  }

  private async assertAbsent(repository: Repository, file: DistributionFile): Promise<void> {
    const version = normalVersion(file.version)!
    const path = `${normalizeName(file.name)}/${version}/${file.filename}`
    if (await this.artifacts.getAsset(repository.key, path)) throw alreadyExists(file.filename)
  }
}

/**
 * Checks the form fields and, when known, the file name against them; returns what the name says.
 * PyPI's order and wording: action, name, version, then the file name.
 */
function checkFields(fields: ReadonlyMap<string, string>, filename: string | undefined): DistributionFile {
  const action = fields.get(':action')
  if (action !== 'file_upload') {
    throw new TroveError('BAD_REQUEST', action === undefined ? "Invalid upload: the ':action' field is missing (twine sends file_upload)." : `Unsupported action '${action}': only file_upload is.`)
  }
  const name = fields.get('name')?.trim()
  if (!name) throw new TroveError('BAD_REQUEST', "'' is an invalid value for Name. Error: This field is required.")
  if (!isValidProjectName(name)) {
    throw new TroveError('BAD_REQUEST', `'${name}' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'.`)
  }
  const version = fields.get('version')?.trim() ?? ''
  if (version === '') throw new TroveError('BAD_REQUEST', "'' is an invalid value for Version. Error: This field is required.")
  const normal = normalVersion(version)
  if (!normal) throw new TroveError('BAD_REQUEST', `'${version}' is an invalid value for Version. Error: Must start and end with a letter or numeral and contain only ASCII numeric and '.', '_' and '-' (PEP 440).`)
  if (filename === undefined) return { filename: '', kind: 'sdist', name, version }
  const file = parseDistributionFilename(filename, name)
  const filetype = fields.get('filetype')
  if (filetype !== undefined && filetype !== (file.kind === 'wheel' ? 'bdist_wheel' : 'sdist')) {
    throw new TroveError('BAD_REQUEST', `Invalid value for filetype: '${filetype}' does not match '${filename}'.`)
  }
  if (normalVersion(file.version) !== normal) {
    throw new TroveError('BAD_REQUEST', `Version in filename should be '${version}' not '${file.version}'.`)
  }
  return file
}

function declaredSha256(fields: ReadonlyMap<string, string>): string | undefined {
  const value = fields.get('sha256_digest')?.trim().toLowerCase()
  if (value === undefined || value === '') return undefined
  if (!/^[a-f0-9]{64}$/.test(value)) throw new TroveError('BAD_REQUEST', `Invalid value for sha256_digest: '${value}' is not a sha256 hex digest.`)
  return value
}

function digestMismatch(): TroveError {
  return new TroveError('BAD_REQUEST', 'The digest supplied does not match a digest calculated from the uploaded file.')
}

function alreadyExists(filename: string): TroveError {
  return new TroveError('BAD_REQUEST', `${ALREADY_EXISTS}: '${filename}'. Upload a new version, or delete this file first.`)
}

function contentTypeOf(filename: string): string {
  return filename.endsWith('.zip') ? 'application/zip' : 'application/gzip'
}
