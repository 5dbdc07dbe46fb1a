import { parseJson, TroveError } from '../../core/index.js'

/** Receives the decoded bytes of one attachment, with backpressure: the reader waits for each write. */
export interface AttachmentWriter {
  write(chunk: Buffer): Promise<void>
  /** No more bytes. Must not wait for the consumer to finish (it may wait for the document). */
  end(): void
}

export interface ReadPublishDocumentOptions {
  /** Largest document without attachment data; past it, PAYLOAD_TOO_LARGE. */
  readonly maxMetadataBytes: number
  /**
   * Called when the `data` string of `_attachments[name]` begins. May throw to refuse it (the
   * reading stops with that error).
   */
  readonly onAttachment: (name: string) => AttachmentWriter
}

export interface PublishDocument {
  /** The parsed document; every attachment's `data` is replaced by `""`. */
  readonly document: unknown
  /** Names of the attachments whose data was streamed, in order. */
  readonly attachments: readonly string[]
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const MAX_KEY_BYTES = 4096
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

interface Frame {
  readonly kind: 'object' | 'array'
  /** Objects: the next string is a key (after `{` or `,`), else a value (after `:`). */
  nextIsKey: boolean
  key: string | undefined
}

/**
 * Reads an npm publish document (`PUT /<name>`: a packument with base64 tarballs under
 * `_attachments.<file>.data`) without holding the tarball in memory.
 *
 * Why not `JSON.parse` with a body limit: the base64 of a 256 MiB tarball is a 341 MiB string;
 * holding the body, the parsed string and the decoded bytes would need over a gigabyte per
 * publish, and concurrent publishes multiply it. Instead this scans the bytes once: it tracks
 * only string boundaries, nesting and object keys, copies everything except attachment data into
 * a buffer bounded by `maxMetadataBytes` (which `JSON.parse` then validates in full), and streams
 * each attachment's data through a base64 decoder to the writer `onAttachment` returns.
 */
export async function readPublishDocument(source: AsyncIterable<Buffer>, options: ReadPublishDocumentOptions): Promise<PublishDocument> {
  const scanner = new DocumentScanner(options)
  for await (const chunk of source) await scanner.feed(chunk)
  return scanner.finish()
}

class DocumentScanner {
  private readonly stack: Frame[] = []
  private readonly metadata: Buffer[] = []
  private metadataBytes = 0
  private readonly attachments: string[] = []
  /** Inside a string: collecting a key, skipping a value, or streaming attachment data. */
  private string: 'key' | 'value' | 'data' | undefined
  private escaped = false
  private keyBytes: Buffer[] = []
  private keyLength = 0
  private writer: AttachmentWriter | undefined
  /** Base64 characters not yet decoded (fewer than 4), and how many padding characters were seen. */
  private pending = ''
  private padding = 0
  private sawRoot = false

  constructor(private readonly options: ReadPublishDocumentOptions) {}

  async feed(chunk: Buffer): Promise<void> {
    let copyFrom = 0
    let i = 0
    while (i < chunk.length) {
      if (this.string === 'data') {
        const end = chunk.indexOf(QUOTE, i)
        const stop = end === -1 ? chunk.length : end
        const backslash = chunk.indexOf(BACKSLASH, i)
        if (backslash !== -1 && backslash < stop) {
          throw new TroveError('BAD_REQUEST', 'attachment data must be plain base64 (no escape sequences)')
        }
        await this.decode(chunk.toString('latin1', i, stop))
        if (end === -1) {
          i = chunk.length
          copyFrom = chunk.length
          break
        }
        await this.finishData()
        copyFrom = end // the closing quote is copied: the document keeps `"data":""`
        i = end + 1
        continue
      }
      const byte = chunk[i]!
      if (this.string !== undefined) {
        const end = this.stringEnd(chunk, i)
        if (this.string === 'key') this.collectKey(chunk, i, end === -1 ? chunk.length : end)
        if (end === -1) {
          i = chunk.length
          break
        }
        if (this.string === 'key') this.endKey()
        this.string = undefined
        i = end + 1
        continue
      }
      i++
      switch (byte) {
        case 0x7b: // {
          this.push('object')
          break
        case 0x5b: // [
          this.push('array')
          break
        case 0x7d: // }
        case 0x5d: // ]
          if (this.stack.pop() === undefined) throw notJson()
          break
        case 0x3a: // :
          this.top().nextIsKey = false
          break
        case 0x2c: {
          // ,
          const top = this.top()
          if (top.kind === 'object') top.nextIsKey = true
          break
        }
        case QUOTE: {
          const top = this.stack[this.stack.length - 1]
          if (top?.kind === 'object' && top.nextIsKey) {
            this.string = 'key'
            this.keyBytes = []
            this.keyLength = 0
          } else if (this.isAttachmentData()) {
            this.copy(chunk, copyFrom, i) // up to and including the opening quote
            copyFrom = i
            this.startData()
            this.string = 'data'
          } else {
            this.string = 'value'
          }
          this.escaped = false
          break
        }
        default:
          break
      }
    }
    this.copy(chunk, copyFrom, chunk.length)
  }

  finish(): PublishDocument {
    if (!this.sawRoot) throw new TroveError('BAD_REQUEST', 'the request body must be a JSON object')
    if (this.string !== undefined || this.stack.length > 0) throw notJson('the document ends early')
    const document = parseJson(Buffer.concat(this.metadata, this.metadataBytes).toString('utf8'), 'the request body')
    return { document, attachments: this.attachments }
  }

  private push(kind: Frame['kind']): void {
    if (this.stack.length === 0) {
      if (this.sawRoot) throw notJson('more than one value')
      this.sawRoot = true
    }
    this.stack.push({ kind, nextIsKey: kind === 'object', key: undefined })
  }

  private top(): Frame {
    const top = this.stack[this.stack.length - 1]
    if (!top) throw notJson()
    return top
  }

  /** Index of the unescaped closing quote of the string being read, or -1 if not in this chunk. */
  private stringEnd(chunk: Buffer, from: number): number {
    for (let i = from; i < chunk.length; i++) {
      const byte = chunk[i]
      if (this.escaped) this.escaped = false
      else if (byte === BACKSLASH) this.escaped = true
      else if (byte === QUOTE) return i
    }
    return -1
  }

  private collectKey(chunk: Buffer, from: number, to: number): void {
    this.keyLength += to - from
    if (this.keyLength > MAX_KEY_BYTES) throw new TroveError('BAD_REQUEST', `an object key is longer than ${MAX_KEY_BYTES} bytes`)
    this.keyBytes.push(Buffer.from(chunk.subarray(from, to)))
  }

  private endKey(): void {
    const raw = Buffer.concat(this.keyBytes).toString('utf8')
    let key: string
    try {
      key = JSON.parse(`"${raw}"`) as string
    } catch {
      throw notJson(`invalid object key ${JSON.stringify(raw)}`)
    }
    this.top().key = key
  }

  /** A string value at `_attachments.<name>.data` of the root object. */
  private isAttachmentData(): boolean {
    const [root, attachments, attachment] = this.stack
    return (
      this.stack.length === 3 &&
      root!.key === '_attachments' &&
      attachments!.kind === 'object' &&
      attachment!.kind === 'object' &&
      attachment!.key === 'data' &&
      !attachment!.nextIsKey
    )
  }

  private startData(): void {
    const name = this.stack[1]!.key!
    this.attachments.push(name)
    this.pending = ''
    this.padding = 0
    this.writer = this.options.onAttachment(name)
  }

  private async decode(text: string): Promise<void> {
    if (text === '') return
    // Padding ends the data: after a '=', only one more '=' may follow (possibly in the next chunk).
    const valid = this.padding > 0 ? /^=?$/.test(text) && this.padding + text.length <= 2 : BASE64.test(text)
    if (!valid) throw new TroveError('BAD_REQUEST', 'attachment data is not valid base64')
    const padding = text.length - text.replace(/=+$/, '').length
    this.padding += padding
    const all = this.pending + text
    const usable = all.length - (all.length % 4)
    this.pending = all.slice(usable)
    if (usable > 0) await this.writer!.write(Buffer.from(all.slice(0, usable), 'base64'))
  }

  private async finishData(): Promise<void> {
    if (this.pending.length === 1) throw new TroveError('BAD_REQUEST', 'attachment data is not valid base64 (truncated)')
    if (this.pending !== '') await this.writer!.write(Buffer.from(this.pending, 'base64'))
    this.pending = ''
    this.writer!.end()
    this.writer = undefined
    this.string = undefined
  }

  private copy(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return
    this.metadataBytes += to - from
    if (this.metadataBytes > this.options.maxMetadataBytes) {
      throw new TroveError(
        'PAYLOAD_TOO_LARGE',
        `the package metadata is larger than the limit of ${this.options.maxMetadataBytes} bytes (npm.maxMetadataBytes)`,
      )
    }
    // A copy: the chunk belongs to the request stream, which may reuse its memory.
    this.metadata.push(Buffer.from(chunk.subarray(from, to)))
  }
}

function notJson(detail?: string): TroveError {
  return new TroveError('BAD_REQUEST', `the request body is not valid JSON${detail ? `: ${detail}` : ''}`)
}
