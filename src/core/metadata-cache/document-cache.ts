import { createHash } from 'node:crypto'
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib'
import type { Logger } from 'pino'
import type { ChangeFeed } from '../cluster/change-feed.js'
import type { Repository } from '../repositories/repository-service.js'

/** What a format renders: the document's bytes and type, and, when its protocol fixes one, its ETag. */
export interface DocumentSource {
  readonly body: Buffer | string
  readonly contentType: string
  /** The protocol's own validator (RubyGems' compact index: the md5 of the body); else a sha1 of the body. */
  readonly etag?: string
  /** Whether compressed forms may be sent (false where a client compares the validator with the bytes it stores). */
  readonly compressible?: boolean
  /** Response headers that go with the bytes (a digest of them). */
  readonly headers?: Readonly<Record<string, string>>
}

export type ContentCoding = 'br' | 'gzip'

/** A rendered document, ready to send: its bytes, validator and, made once when first asked for, compressed forms. */
export interface RenderedDocument {
  readonly body: Buffer
  readonly contentType: string
  /** The strong validator of the uncompressed bytes; a compressed form's is this with `-br`/`-gz` before the closing quote. */
  readonly etag: string
  /** Whether compressed forms may exist (a response then varies by `Accept-Encoding`). */
  readonly isCompressible: boolean
  readonly headers: Readonly<Record<string, string>>
  /** The body in `coding`, or undefined when that form is not offered (too small, not smaller, not compressible). */
  encoded(coding: ContentCoding): Buffer | undefined
}

/** Below this, compressing costs more than it saves. */
const MIN_COMPRESSED_BYTES = 1024
/** The topic of one repository's documents in the cluster change feed. */
export const documentsTopic = (repoKey: string) => `documents:${repoKey}`

class Document implements RenderedDocument {
  readonly body: Buffer
  readonly contentType: string
  readonly etag: string
  readonly isCompressible: boolean
  readonly headers: Readonly<Record<string, string>>
  private readonly forms = new Map<ContentCoding, Buffer | null>()

  constructor(source: DocumentSource, private readonly onGrow: (bytes: number) => void = () => {}) {
    this.body = typeof source.body === 'string' ? Buffer.from(source.body) : source.body
    this.contentType = source.contentType
    this.etag = source.etag ?? `"${createHash('sha1').update(this.body).digest('base64url')}"`
    this.headers = source.headers ?? {}
    this.isCompressible = source.compressible !== false && this.body.length >= MIN_COMPRESSED_BYTES
  }

  get bytes(): number {
    let total = this.body.length
    for (const form of this.forms.values()) total += form?.length ?? 0
    return total
  }

  encoded(coding: ContentCoding): Buffer | undefined {
    if (!this.isCompressible) return undefined
    let form = this.forms.get(coding)
    if (form === undefined) {
      const compressed =
        coding === 'br'
          ? brotliCompressSync(this.body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_SIZE_HINT]: this.body.length } })
          : gzipSync(this.body, { level: 6 })
      form = compressed.length < this.body.length ? compressed : null
      this.forms.set(coding, form)
      this.onGrow(form?.length ?? 0)
    }
    return form ?? undefined
  }
}

/**
 * Rendered metadata documents (packuments, index pages, version lists, manifests) by repository
 * and key, with their compressed forms, least recently used first out, bounded in bytes.
 *
 * Only a local repository's documents are kept: they depend on what is stored in it and nothing
 * else, so {@link changed} (called by the artifact service after every committed change of the
 * repository, and by a format after changing its own rows) makes them exact; a remote's depend on
 * its upstream and a virtual's on which members the caller may read, so they are rendered at each
 * request. A change on another node arrives through the cluster change feed. A document rendered
 * while the repository changed is not kept (the render may have read the state before it).
 *
 * A document must not depend on who asks: the caller checks access before asking for it.
 */
export class DocumentCache {
  private readonly entries = new Map<string, Document>()
  /** The keys held per repository, for dropping them at a change. */
  private readonly byRepository = new Map<string, Set<string>>()
  /** Counts changes per repository: a render that saw another count is not kept. */
  private readonly generations = new Map<string, number>()
  private readonly subscribed = new Set<string>()
  private bytes = 0

  constructor(
    private readonly maxBytes: number,
    private readonly changes?: ChangeFeed,
    private readonly logger?: Logger,
  ) {}

  /** The document `key` of `repository`: from memory, or rendered by `render` (and kept, for a local repository). */
  async get(repository: Repository, key: string, render: () => Promise<DocumentSource>): Promise<RenderedDocument> {
    if (repository.rclass !== 'local' || this.maxBytes <= 0) return new Document(await render())
    const repoKey = repository.key
    const entryKey = `${repoKey}\0${key}`
    const hit = this.entries.get(entryKey)
    if (hit) {
      this.entries.delete(entryKey)
      this.entries.set(entryKey, hit) // most recently used now
      return hit
    }
    this.subscribe(repoKey)
    const generation = this.generations.get(repoKey) ?? 0
    const source = await render()
    const document = new Document(source, (grown) => this.grow(entryKey, document, grown))
    if ((this.generations.get(repoKey) ?? 0) === generation && document.body.length <= this.maxBytes / 8) {
      this.entries.set(entryKey, document)
      let keys = this.byRepository.get(repoKey)
      if (!keys) this.byRepository.set(repoKey, (keys = new Set()))
      keys.add(entryKey)
      this.grow(entryKey, document, document.body.length)
    }
    return document
  }

  /**
   * The documents of `repoKey` are stale (its content changed, committed): dropped here at once,
   * and on the other nodes when the change feed tells them.
   */
  async changed(repoKey: string): Promise<void> {
    this.drop(repoKey)
    if (this.changes) await this.changes.publish(documentsTopic(repoKey))
  }

  /** Drops every document (repositories were reconfigured, deleted or created). */
  clear(): void {
    for (const repoKey of [...this.generations.keys(), ...this.byRepository.keys()]) this.drop(repoKey)
  }

  /** Bytes held, compressed forms included. */
  get size(): number {
    return this.bytes
  }

  private drop(repoKey: string): void {
    this.generations.set(repoKey, (this.generations.get(repoKey) ?? 0) + 1)
    for (const entryKey of this.byRepository.get(repoKey) ?? []) {
      const entry = this.entries.get(entryKey)
      if (entry) this.bytes -= entry.bytes
      this.entries.delete(entryKey)
    }
    this.byRepository.delete(repoKey)
  }

  /** Hears of changes to a repository's documents on other nodes, from the first document kept of it. */
  private subscribe(repoKey: string): void {
    if (!this.changes || this.subscribed.has(repoKey)) return
    this.subscribed.add(repoKey)
    this.changes.subscribe(documentsTopic(repoKey), () => this.drop(repoKey))
  }

  /** Counts `grown` more bytes of a kept entry and evicts the least recently used past the bound. */
  private grow(entryKey: string, document: Document, grown: number): void {
    if (this.entries.get(entryKey) !== document) return // not kept, or dropped since
    this.bytes += grown
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(oldest)
      this.bytes -= entry.bytes
      this.byRepository.get(oldest.slice(0, oldest.indexOf('\0')))?.delete(oldest)
    }
    this.logger?.trace({ bytes: this.bytes }, 'document cache size')
  }
}
