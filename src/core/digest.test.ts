import { createHash } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { CHECKSUM_PATTERNS, HashingStream, SizeLimitError, type Checksums } from './digest.js'

describe('HashingStream', () => {
  it('digests empty input to the well-known empty digests', async () => {
    const hashing = new HashingStream()

    const passed = await run(hashing, [])

    expect(passed).toEqual(Buffer.alloc(0))
    expect(hashing.size).toBe(0)
    expect(hashing.digest()).toEqual({
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      md5: 'd41d8cd98f00b204e9800998ecf8427e',
    })
  })

  it('digests chunked input exactly like the same bytes in one piece, and passes them through', async () => {
    const content = Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 31 + 7) % 256))
    // Uneven chunk sizes, including an empty chunk and single bytes.
    const cuts = [0, 1, 2, 2, 1000, 4096, 4097, 65_536, 99_999, content.length]
    const chunks = cuts.slice(1).map((end, i) => content.subarray(cuts[i], end))

    const oneShot = new HashingStream()
    const chunked = new HashingStream()
    const oneShotOut = await run(oneShot, [content])
    const chunkedOut = await run(chunked, chunks)

    expect(chunkedOut.equals(content)).toBe(true)
    expect(oneShotOut.equals(content)).toBe(true)
    expect(chunked.size).toBe(content.length)
    expect(oneShot.size).toBe(content.length)
    expect(chunked.digest()).toEqual(oneShot.digest())
    expect(oneShot.digest()).toEqual(nodeDigests(content))
  })

  it('returns the same digest every time it is asked', async () => {
    const hashing = new HashingStream()
    await run(hashing, [Buffer.from('abc')])

    const first = hashing.digest()

    expect(hashing.digest()).toEqual(first)
    expect(first.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    for (const algorithm of ['sha256', 'sha1', 'md5'] as const) {
      expect(first[algorithm]).toMatch(CHECKSUM_PATTERNS[algorithm])
    }
  })

  it('accepts a body of exactly the size limit', async () => {
    const hashing = new HashingStream(10)

    await run(hashing, [Buffer.from('12345'), Buffer.from('67890')])

    expect(hashing.size).toBe(10)
    expect(hashing.digest()).toEqual(nodeDigests(Buffer.from('1234567890')))
  })

  it('fails with SizeLimitError once the body exceeds the limit, without passing the excess on', async () => {
    const hashing = new HashingStream(10)
    const received: Buffer[] = []

    const error = await run(hashing, [Buffer.from('12345'), Buffer.from('67890'), Buffer.from('X')], received).catch(
      (err: unknown) => err,
    )

    expect(error).toBeInstanceOf(SizeLimitError)
    expect((error as SizeLimitError).limit).toBe(10)
    expect(Buffer.concat(received).toString()).toBe('1234567890')
  })

  it('fails when a single chunk crosses the limit', async () => {
    const hashing = new HashingStream(3)
    const received: Buffer[] = []

    await expect(run(hashing, [Buffer.from('abcd')], received)).rejects.toBeInstanceOf(SizeLimitError)
    expect(received).toEqual([])
  })
})

/** Pipes `chunks` through `hashing` into a collecting sink; returns the bytes that came out. */
async function run(hashing: HashingStream, chunks: Buffer[], received: Buffer[] = []): Promise<Buffer> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, callback) {
      received.push(chunk)
      callback()
    },
  })
  await pipeline(Readable.from(chunks), hashing, sink)
  return Buffer.concat(received)
}

function nodeDigests(content: Buffer): Checksums {
  return {
    sha256: createHash('sha256').update(content).digest('hex'),
    sha1: createHash('sha1').update(content).digest('hex'),
    md5: createHash('md5').update(content).digest('hex'),
  }
}
