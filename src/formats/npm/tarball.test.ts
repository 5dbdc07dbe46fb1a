import { createHash } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { packTarball } from '../../../test/helpers/npm.js'
import { TarballInspector, packagePath, type TarballFacts } from './tarball.js'

/** Runs bytes through an inspector, in small chunks, as the blob store would. */
async function inspect(bytes: Buffer, options: { maxUnpackedBytes?: number; verify?: (facts: TarballFacts) => Promise<void> } = {}) {
  let facts: TarballFacts | undefined
  const inspector = new TarballInspector({
    maxUnpackedBytes: options.maxUnpackedBytes ?? 1 << 30,
    verify: async (f) => {
      facts = f
      await options.verify?.(f)
    },
  })
  const chunks = Array.from({ length: Math.ceil(bytes.length / 100) }, (_, i) => bytes.subarray(i * 100, i * 100 + 100))
  let passed = 0
  await pipeline(Readable.from(chunks), inspector, new Writable({ write: (chunk: Buffer, _e, cb) => ((passed += chunk.length), cb()) }))
  return { facts: facts!, passed }
}

describe('TarballInspector', () => {
  it('passes the bytes through and reports the package.json, digests and files', async () => {
    const tarball = await packTarball({ 'package.json': '{"name":"pkg","version":"1.0.0"}', 'lib/index.js': 'x'.repeat(5000), 'npm-shrinkwrap.json': '{}' })
    const { facts, passed } = await inspect(tarball)
    expect(passed).toBe(tarball.length)
    expect(facts.packageJson).toEqual({ name: 'pkg', version: '1.0.0' })
    expect(facts.sha1).toBe(createHash('sha1').update(tarball).digest('hex'))
    expect(facts.sha512).toBe(createHash('sha512').update(tarball).digest('base64'))
    expect(facts.size).toBe(tarball.length)
    expect([...facts.paths].sort()).toEqual(['lib/index.js', 'npm-shrinkwrap.json', 'package.json'])
    expect(facts.fileCount).toBe(3)
    expect(facts.unpackedSize).toBe(5000 + 2 + '{"name":"pkg","version":"1.0.0"}'.length)
  })

  it('holds the end of the stream until verify accepts, and fails it when verify refuses', async () => {
    const tarball = await packTarball({ 'package.json': '{"name":"pkg","version":"1.0.0"}' })
    await expect(inspect(tarball, { verify: async () => Promise.reject(new Error('refused by verify')) })).rejects.toThrow('refused by verify')
  })

  it.each([
    ['a plain tar', async () => packTarball({ 'package.json': '{}' }, { gzip: false }), /not a gzip-compressed tarball/],
    ['gzip that is not a tar', async () => (await import('node:zlib')).gzipSync(Buffer.from('hello, not a tarball'.repeat(100))), /not a tar archive|cannot be read/],
    ['a tarball without package.json', async () => packTarball({ 'index.js': '1' }), /no package.json/],
    ['two package.json files', async () => packTarball({ 'package.json': '{}' }, { entries: ['package', 'package/package.json'] }), /more than one package.json/],
    ['a package.json that is not JSON', async () => packTarball({ 'package.json': '{name' }), /not valid JSON/],
    ['an empty attachment', async () => Buffer.alloc(0), /empty/],
  ])('refuses %s', async (_what, make, message) => {
    await expect(inspect(await make())).rejects.toThrow(message)
  })

  it('refuses a tarball that unpacks past the limit (zip bomb)', async () => {
    const tarball = await packTarball({ 'package.json': '{}', 'big.txt': '0'.repeat(200_000) })
    expect(tarball.length).toBeLessThan(2000)
    await expect(inspect(tarball, { maxUnpackedBytes: 100_000 })).rejects.toThrow(/more than 100000 bytes/)
  })
})

describe('packagePath', () => {
  it('strips the first folder and resolves dot segments, as npm extracts', () => {
    expect(packagePath('package/package.json')).toBe('package.json')
    expect(packagePath('./other/./package.json')).toBe('package.json')
    expect(packagePath('package//lib/a.js')).toBe('lib/a.js')
    expect(packagePath('package/lib/../package.json')).toBe('package.json')
    expect(packagePath('package')).toBeUndefined()
    expect(packagePath('package/../../x')).toBeUndefined()
  })
})
