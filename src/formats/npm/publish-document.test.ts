import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { TroveError } from '../../core/errors.js'
import { readPublishDocument, type AttachmentWriter } from './publish-document.js'

/** Feeds `text` in chunks of `size` bytes and collects what the reader streamed out. */
async function read(text: string | Buffer, size = 7, maxMetadataBytes = 1 << 20) {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text)
  const chunks = (async function* () {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
  })()
  const streamed = new Map<string, Buffer[]>()
  const ended: string[] = []
  const result = await readPublishDocument(chunks, {
    maxMetadataBytes,
    onAttachment: (name): AttachmentWriter => {
      const parts: Buffer[] = []
      streamed.set(name, parts)
      return {
        write: async (chunk) => {
          parts.push(Buffer.from(chunk))
        },
        end: () => ended.push(name),
      }
    },
  })
  return { ...result, streamed: new Map([...streamed].map(([k, v]) => [k, Buffer.concat(v)])), ended }
}

describe('readPublishDocument', () => {
  const tarball = randomBytes(1000)
  const document = {
    _id: 'pkg',
    name: 'pkg',
    'dist-tags': { latest: '1.0.0' },
    versions: { '1.0.0': { name: 'pkg', version: '1.0.0', description: 'quotes " and \\ and \u00e9 and "data": "x"' } },
    _attachments: { 'pkg-1.0.0.tgz': { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length } },
  }

  it.each([1, 2, 3, 5, 64, 4096])('streams the attachment out and keeps the rest, in chunks of %i bytes', async (size) => {
    const result = await read(JSON.stringify(document), size)
    expect(result.attachments).toEqual(['pkg-1.0.0.tgz'])
    expect(result.streamed.get('pkg-1.0.0.tgz')!.equals(tarball)).toBe(true)
    expect(result.ended).toEqual(['pkg-1.0.0.tgz'])
    const expected = structuredClone(document)
    expected._attachments['pkg-1.0.0.tgz'].data = ''
    expect(result.document).toEqual(expected)
  })

  it('handles whitespace, escaped keys and attachments before the versions', async () => {
    const data = Buffer.from('hello world!').toString('base64') // padded: 'aGVsbG8gd29ybGQh'
    const text = `{ "_attach\\u006dents" : { "a.tgz" : { "length": 12, "data" : "${data}" } },\n "versions": {"1.0.0": {"data": "not an attachment"}} }`
    const result = await read(text, 3)
    expect(result.streamed.get('a.tgz')!.toString()).toBe('hello world!')
    expect(result.document).toEqual({ _attachments: { 'a.tgz': { length: 12, data: '' } }, versions: { '1.0.0': { data: 'not an attachment' } } })
  })

  it('decodes padding split across chunks', async () => {
    for (const payload of ['a', 'ab', 'abc', 'abcd']) {
      const data = Buffer.from(payload).toString('base64')
      const result = await read(`{"_attachments":{"x.tgz":{"data":"${data}"}}}`, 1)
      expect(result.streamed.get('x.tgz')!.toString()).toBe(payload)
    }
  })

  it('leaves a document without attachments as it is (npm deprecate sends one)', async () => {
    const result = await read(JSON.stringify({ name: 'pkg', versions: { '1.0.0': { deprecated: 'old' } } }))
    expect(result.attachments).toEqual([])
    expect(result.document).toEqual({ name: 'pkg', versions: { '1.0.0': { deprecated: 'old' } } })
  })

  it.each([
    ['invalid JSON', '{"name": "pkg",, }', /not valid JSON/],
    ['a truncated document', '{"name": "pkg", "versions": {', /ends early/],
    ['a string at the root', '"pkg"', /must be a JSON object/],
    ['base64 with other characters', '{"_attachments":{"x.tgz":{"data":"ab$d"}}}', /not valid base64/],
    ['base64 with escapes', '{"_attachments":{"x.tgz":{"data":"ab\\ncd"}}}', /plain base64/],
    ['data after padding', '{"_attachments":{"x.tgz":{"data":"YQ==YQ=="}}}', /not valid base64/],
  ])('refuses %s', async (_what, text, message) => {
    const error = await read(text, 4).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(TroveError)
    expect((error as TroveError).code).toBe('BAD_REQUEST')
    expect((error as Error).message).toMatch(message)
  })

  it('refuses metadata over the limit, but not an attachment over it', async () => {
    const big = JSON.stringify({ _attachments: { 'x.tgz': { data: randomBytes(10_000).toString('base64') } } })
    await expect(read(big, 512, 100)).resolves.toBeDefined()
    const error = await read(JSON.stringify({ readme: 'x'.repeat(200) }), 16, 100).catch((err: unknown) => err)
    expect((error as TroveError).code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('stops when the consumer refuses an attachment', async () => {
    const chunks = (async function* () {
      yield Buffer.from('{"_attachments":{"x.tgz":{"data":"YWJj"}}}')
    })()
    await expect(
      readPublishDocument(chunks, {
        maxMetadataBytes: 1000,
        onAttachment: () => {
          throw new TroveError('DENIED', 'no')
        },
      }),
    ).rejects.toThrow('no')
  })
})
