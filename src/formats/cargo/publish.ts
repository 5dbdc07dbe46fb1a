import type { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { type FormatContext, DEFAULT_EXTRACTION_LIMITS, principalName, type Repository, ScanFailure, TroveError } from '../../core/index.js'
import { refusal, uploadBody } from '../../http/index.js'
import { CRATE_CONTENT_TYPE, PROPERTY, type CargoLayout } from './cargo-layout.js'
import { readCrate } from './crate-archive.js'
import { indexLineOf, linePieces, readPublishMetadata, type IndexLine } from './index-line.js'
import { cratePath, withoutBuild } from './names.js'
import { PublishBodyReader } from './publish-body.js'

/** The publish JSON at most (the public registry's own limit is far below). */
export const MAX_METADATA_BYTES = 8 * 1024 * 1024
/** A `.crate` at most. */
export const MAX_CRATE_BYTES = 256 * 1024 * 1024

/**
 * `cargo publish` (`PUT /api/v1/crates/new`): the JSON is read and checked first; the crate
 * streams into the blob store (its sha256 is the index line's `cksum`, computed as it streams),
 * is read back and checked (one `<name>-<version>/` folder, no links or path tricks, its
 * `Cargo.toml` naming the same package and version as the JSON), and only then recorded, in one
 * transaction that refuses an existing version. A refused crate's blob is referenced by nothing
 * and left to garbage collection: nothing is visible.
 */
export class CargoPublisher {
  constructor(
    private readonly services: FormatContext,
    private readonly layout: CargoLayout,
  ) {}

  async publish(repository: Repository, request: FastifyRequest): Promise<IndexLine> {
    const body = uploadBody(request)
    try {
      return await this.publishBody(repository, request, body)
    } catch (err) {
      // Lets go of the request, so that the error handler can drain what is left of it.
      body.destroy()
      throw err
    }
  }

  private async publishBody(repository: Repository, request: FastifyRequest, body: Readable): Promise<IndexLine> {
    const { artifacts, blobs, authorizer } = this.services
    const reader = new PublishBodyReader(body)
    const metadata = readPublishMetadata(await reader.metadata(MAX_METADATA_BYTES))
    const path = cratePath(metadata.name, metadata.vers)
    if (!(await authorizer.can(request.principal, 'deploy', repository.key, path))) {
      throw refusal(request.principal, `publish ${metadata.name} to '${repository.key}'`)
    }
    await this.assertNew(repository, metadata.name, metadata.vers)
    const length = await reader.crateLength()
    if (length > MAX_CRATE_BYTES) throw new TroveError('PAYLOAD_TOO_LARGE', `the crate is ${length} bytes; at most ${MAX_CRATE_BYTES} are accepted`)
    await artifacts.admitUpload(repository, length)
    const blob = await blobs.put(reader.crate(length), { expected: { size: length } })
    let contents
    try {
      contents = await readCrate(await blobs.open(blob.sha256), DEFAULT_EXTRACTION_LIMITS)
    } catch (err) {
      if (err instanceof ScanFailure) throw new TroveError('BAD_REQUEST', `the crate is not a valid .crate archive: ${err.message}`)
      throw err
    }
    const expectedRoot = `${metadata.name}-${metadata.vers}`
    if (contents.root !== expectedRoot) throw new TroveError('BAD_REQUEST', `the crate's files are under '${contents.root}/', not '${expectedRoot}/'`)
    if (contents.name !== metadata.name || contents.version !== metadata.vers) {
      throw new TroveError(
        'BAD_REQUEST',
        `the crate's Cargo.toml is for ${contents.name} ${contents.version}, but the publish request is for ${metadata.name} ${metadata.vers}`,
      )
    }
    const line = indexLineOf(metadata, blob.sha256)
    const properties = new Map<string, string[]>([
      [PROPERTY.name, [metadata.name]],
      [PROPERTY.version, [metadata.vers]],
      [PROPERTY.cksum, [blob.sha256]],
      [PROPERTY.yanked, ['false']],
      [PROPERTY.line, linePieces(line)],
      ...(metadata.description ? [[PROPERTY.description, [metadata.description.slice(0, 500)]] as [string, string[]]] : []),
    ])
    // The folder's revision changes before the commit (no node keeps an index file built before
    // it under the old revision) and after it (none keeps one built in between).
    await this.layout.touch(repository, metadata.name)
    await artifacts.applyChanges(
      repository,
      { put: [{ path, blob, contentType: CRATE_CONTENT_TYPE, properties }], mustNotExist: [path] },
      principalName(request.principal),
    )
    await this.layout.touch(repository, metadata.name)
    return line
  }

  /** A version is published once (also when only its build metadata differs); one crate, one spelling of its name. */
  private async assertNew(repository: Repository, name: string, version: string): Promise<void> {
    for (const line of await this.layout.localLines(repository, name)) {
      if (withoutBuild(line.vers) === withoutBuild(version)) {
        throw new TroveError('CONFLICT', `crate ${name} ${line.vers} is already in '${repository.key}'; a published version is never replaced (yank it instead)`)
      }
      if (line.name !== name) throw new TroveError('CONFLICT', `'${repository.key}' holds this crate as '${line.name}'; publish it under that name`)
    }
  }
}
