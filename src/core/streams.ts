import type { Readable } from 'node:stream'

/**
 * Reads a small document whole: metadata (a POM, an upstream index, a manifest), never an
 * artifact. Past `limit` bytes it stops reading, destroys the stream and throws what `tooLarge`
 * makes, so a hostile or broken source cannot make Trove hold more than `limit` bytes.
 */
export async function readLimited(source: Readable | AsyncIterable<Buffer | string>, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of source) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      size += bytes.length
      if (size > limit) throw tooLarge()
      chunks.push(bytes)
    }
  } catch (err) {
    if ('destroy' in source && typeof source.destroy === 'function') source.destroy()
    throw err
  }
  return Buffer.concat(chunks)
}
