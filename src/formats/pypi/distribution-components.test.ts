import { readdir } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { scratchExtraction } from '../../../test/helpers/extraction-context.js'
import { coreMetadata, tarOfFiles, tarOfItems, wheelOf, zipOf } from '../../../test/helpers/scan-archives.js'
import { DEFAULT_EXTRACTION_LIMITS, ScanFailure } from '../../core/scanning/components.js'
import { extractSdist, extractWheel, requirementOf } from './distribution-components.js'

const scratch = scratchExtraction()
const bytes = (b: Buffer) => Readable.from([b])

describe('Python extraction', () => {
  it('reads a wheel: the project (PEP 503 name), Requires-Dist (pins exact), vendored dist-info', async () => {
    const wheel = wheelOf('Requests', '2.25.1', ['urllib3 (==1.26.16)', 'idna>=2.5,<3', 'chardet[extra] == 3.0.4 ; python_version < "3"', 'certifi'], [
      { name: 'requests/_vendor/PyYAML-5.4b1.dist-info/METADATA', data: coreMetadata('PyYAML', '5.4b1') },
    ])
    const components = await extractWheel(bytes(wheel), DEFAULT_EXTRACTION_LIMITS, scratch.context)
    expect(components).toEqual([
      { ecosystem: 'PyPI', name: 'pyyaml', version: '5.4b1', relation: 'bundled', location: 'requests/_vendor/PyYAML-5.4b1.dist-info/METADATA' },
      { ecosystem: 'PyPI', name: 'requests', version: '2.25.1', relation: 'self', location: 'Requests-2.25.1.dist-info/METADATA' },
      { ecosystem: 'PyPI', name: 'urllib3', version: '1.26.16', relation: 'dependency', location: 'Requests-2.25.1.dist-info/METADATA Requires-Dist' },
      { ecosystem: 'PyPI', name: 'idna', version: '>=2.5,<3', relation: 'dependency', location: 'Requests-2.25.1.dist-info/METADATA Requires-Dist' },
      { ecosystem: 'PyPI', name: 'chardet', version: '3.0.4', relation: 'dependency', location: 'Requests-2.25.1.dist-info/METADATA Requires-Dist' },
      { ecosystem: 'PyPI', name: 'certifi', version: '*', relation: 'dependency', location: 'Requests-2.25.1.dist-info/METADATA Requires-Dist' },
    ])
    expect(await readdir(scratch.dir)).toEqual(['wheel.zip']) // the scanner removes the scratch folder
  })

  it('parses requirements: pins, wildcards, URLs', () => {
    expect(requirementOf('Django==4.2')).toEqual({ name: 'django', version: '4.2' })
    expect(requirementOf('django==4.2.*')).toEqual({ name: 'django', version: '==4.2.*' })
    expect(requirementOf('pkg @ https://example.test/pkg.whl')).toEqual({ name: 'pkg', version: '@ https://example.test/pkg.whl' })
  })

  it('reads an sdist: PKG-INFO at the root, vendored dist-info', async () => {
    const sdist = gzipSync(
      tarOfFiles({
        'urllib3-2.0.6/PKG-INFO': coreMetadata('urllib3', '2.0.6', ['brotli==1.0.9; extra == "brotli"']),
        'urllib3-2.0.6/src/urllib3/__init__.py': '',
        'urllib3-2.0.6/vendor/six-1.16.0.dist-info/METADATA': coreMetadata('six', '1.16.0'),
      }),
    )
    const components = await extractSdist(bytes(sdist), DEFAULT_EXTRACTION_LIMITS)
    expect(components.map((c) => `${c.name}@${c.version} ${c.relation}`)).toEqual(['urllib3@2.0.6 self', 'brotli@1.0.9 dependency', 'six@1.16.0 bundled'])
  })

  it('fails hostile or wrong archives with a reason', async () => {
    const bomb = wheelOf('a', '1.0', [], [{ name: 'a/zeros', data: Buffer.alloc(50 * 1024 * 1024), deflate: true }])
    await expect(extractWheel(bytes(bomb), DEFAULT_EXTRACTION_LIMITS, scratch.context)).rejects.toThrow(/expands more than 100 times/)
    const escape = zipOf([{ name: '../../evil.py', data: 'x' }, { name: 'a-1.0.dist-info/METADATA', data: coreMetadata('a', '1.0') }])
    await expect(extractWheel(bytes(escape), DEFAULT_EXTRACTION_LIMITS, scratch.context)).rejects.toThrow(/leaves the archive/)
    const absolute = zipOf([{ name: '/etc/evil', data: 'x' }])
    await expect(extractWheel(bytes(absolute), DEFAULT_EXTRACTION_LIMITS, scratch.context)).rejects.toThrow(/absolute path/)
    const many = zipOf(Array.from({ length: 10_000 }, (_, i) => ({ name: `a/${i}.py` })))
    await expect(extractWheel(bytes(many), { ...DEFAULT_EXTRACTION_LIMITS, maxEntries: 5000 }, scratch.context)).rejects.toThrow(/more than 5000 entries/)
    await expect(extractWheel(bytes(Buffer.from('not a zip')), DEFAULT_EXTRACTION_LIMITS, scratch.context)).rejects.toThrow(/not a readable zip/)
    await expect(extractSdist(bytes(gzipSync(tarOfFiles({ 'x-1.0/setup.py': '' }))), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(/not a Python sdist/)
    await expect(extractSdist(bytes(gzipSync(tarOfFiles({ 'x-1.0/../../PKG-INFO': '' }))), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(ScanFailure)
  })

  it('does not read a symlinked METADATA in a wheel', async () => {
    const wheel = zipOf([
      { name: 'a-1.0.dist-info/METADATA', data: coreMetadata('a', '1.0') },
      { name: 'b-1.0.dist-info/METADATA', data: '/etc/passwd', mode: 0o120777 },
    ])
    expect((await extractWheel(bytes(wheel), DEFAULT_EXTRACTION_LIMITS, scratch.context)).map((c) => c.name)).toEqual(['a'])
    const sdist = gzipSync(tarOfItems([{ path: 'a-1.0/PKG-INFO', type: '2', linkpath: '/etc/passwd' }]))
    await expect(extractSdist(bytes(sdist), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(/not a Python sdist/)
  })
})
