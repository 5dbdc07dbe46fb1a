import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { packTarball } from '../../../test/helpers/npm.js'
import { DEFAULT_EXTRACTION_LIMITS, ScanFailure } from '../../core/scanning/components.js'
import { extractNpmTarball } from './tarball-components.js'

const extract = (bytes: Buffer, limits = DEFAULT_EXTRACTION_LIMITS) => extractNpmTarball(Readable.from([bytes]), limits)

/** A raw tar header + body for one regular file (for entries packTarball would refuse to make). */
function tarEntry(path: string, body: string, type = '0', linkpath = ''): Buffer {
  const header = Buffer.alloc(512)
  header.write(path, 0, 100)
  header.write('0000644\0', 100)
  header.write('0000000\0', 108)
  header.write('0000000\0', 116)
  header.write(`${Buffer.byteLength(body).toString(8).padStart(11, '0')}\0`, 124)
  header.write('00000000000\0', 136)
  header.write('        ', 148)
  header.write(type, 156)
  header.write(linkpath, 157, 100)
  header.write('ustar\0' + '00', 257)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512)
  data.write(body)
  return Buffer.concat([header, data])
}
const tgz = (...entries: Buffer[]) => gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]))

describe('npm tarball extraction', () => {
  it('finds the package, declared dependencies, bundled packages and the shrinkwrap', async () => {
    const tarball = await packTarball({
      'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { qs: '^6.5.0' }, bundleDependencies: ['minimist'] }),
      'node_modules/minimist/package.json': JSON.stringify({ name: 'minimist', version: '1.2.0' }),
      'node_modules/@scope/x/package.json': JSON.stringify({ name: '@scope/x', version: '2.0.0' }),
      'npm-shrinkwrap.json': JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'app' }, 'node_modules/express': { version: '4.17.1' } } }),
    })
    const components = await extract(tarball)
    expect(components).toEqual(
      expect.arrayContaining([
        { ecosystem: 'npm', name: 'app', version: '1.0.0', relation: 'self', location: 'package.json' },
        { ecosystem: 'npm', name: 'qs', version: '^6.5.0', relation: 'dependency', location: 'package.json dependencies' },
        { ecosystem: 'npm', name: 'minimist', version: '1.2.0', relation: 'bundled', location: 'node_modules/minimist/package.json' },
        { ecosystem: 'npm', name: '@scope/x', version: '2.0.0', relation: 'bundled', location: 'node_modules/@scope/x/package.json' },
        { ecosystem: 'npm', name: 'express', version: '4.17.1', relation: 'locked', location: 'npm-shrinkwrap.json: node_modules/express' },
      ]),
    )
    expect(components.length).toBe(5)
  })

  it('fails on an entry that leaves the package folder (../ or an absolute path)', async () => {
    const pkg = tarEntry('package/package.json', '{"name":"a","version":"1.0.0"}')
    await expect(extract(tgz(pkg, tarEntry('package/../../etc/passwd', 'x')))).rejects.toThrow(/leaves the package folder/)
    await expect(extract(tgz(pkg, tarEntry('/etc/passwd', 'x')))).rejects.toThrow(ScanFailure)
  })

  it('does not follow symbolic links (a link to package.json is not read)', async () => {
    const components = await extract(tgz(tarEntry('package/package.json', '{"name":"a","version":"1.0.0"}'), tarEntry('package/npm-shrinkwrap.json', '', '2', '../../../../etc/passwd')))
    expect(components).toEqual([{ ecosystem: 'npm', name: 'a', version: '1.0.0', relation: 'self', location: 'package.json' }])
  })

  it('stops at the entry limit, the size limit and a compression bomb', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => tarEntry(`package/f${i}.js`, ''))
    await expect(extract(tgz(...many), { ...DEFAULT_EXTRACTION_LIMITS, maxEntries: 5000 })).rejects.toThrow(/more than 5000 entries/)
    const bomb = tgz(tarEntry('package/package.json', '{"name":"a","version":"1.0.0"}'), tarEntry('package/zeros', '\0'.repeat(50 * 1024 * 1024)))
    await expect(extract(bomb)).rejects.toThrow(/expands more than 100 times/)
    await expect(extract(bomb, { ...DEFAULT_EXTRACTION_LIMITS, maxCompressionRatio: 1e9, maxUnpackedBytes: 1024 * 1024 })).rejects.toThrow(/expands past/)
  })

  it('fails on what is not a gzipped tarball, or has no package.json', async () => {
    await expect(extract(Buffer.from('hello'))).rejects.toThrow(ScanFailure)
    await expect(extract(tgz(tarEntry('package/index.js', '1')))).rejects.toThrow(/no package.json/)
  })
})
