import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { publishBody } from '../../../test/helpers/crates.js'
import { PublishBodyReader } from './publish-body.js'

/** The body in chunks of `size` bytes, as a socket may deliver it. */
const chunked = (body: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(body.length / size) }, (_, i) => body.subarray(i * size, (i + 1) * size)))

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of stream) parts.push(chunk as Buffer)
  return Buffer.concat(parts)
}

describe('the cargo publish body', () => {
  const crate = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251))
  const body = publishBody({ name: 'x', vers: '1.0.0' }, crate)

  for (const size of [1, 3, 7, 4096, body.length]) {
    it(`reads the JSON and streams exactly the crate, in chunks of ${size} bytes`, async () => {
      const reader = new PublishBodyReader(chunked(body, size))
      expect(await reader.metadata(1024)).toEqual({ name: 'x', vers: '1.0.0' })
      const length = await reader.crateLength()
      expect(length).toBe(crate.length)
      expect((await readAll(reader.crate(length))).equals(crate)).toBe(true)
    })
  }

  it('refuses metadata past the limit, bad JSON, a body cut short and bytes after the crate', async () => {
    await expect(new PublishBodyReader(chunked(body, 100)).metadata(10)).rejects.toThrow(/at most 10/)
    const badJson = Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('{x}')])
    await expect(new PublishBodyReader(chunked(badJson, 2)).metadata(100)).rejects.toThrow(/not valid JSON/)
    await expect(new PublishBodyReader(chunked(body.subarray(0, 10), 4)).metadata(100)).rejects.toThrow(/ended inside the JSON metadata/)
    const cut = new PublishBodyReader(chunked(body.subarray(0, body.length - 1), 4096))
    await cut.metadata(100)
    await expect(readAll(cut.crate(await cut.crateLength()))).rejects.toThrow(/ended inside the crate/)
    const long = new PublishBodyReader(chunked(Buffer.concat([body, Buffer.from('x')]), 4096))
    await long.metadata(100)
    await expect(readAll(long.crate(await long.crateLength()))).rejects.toThrow(/goes on after the crate/)
  })
})
