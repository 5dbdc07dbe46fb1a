import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { coreMetadata, jarOf, tarOfFiles, tarOfItems, wheelOf, zipOf } from '../../../../test/helpers/scan-archives.js'
import { DEFAULT_EXTRACTION_LIMITS, ScanFailure } from '../components.js'
import type { ExtractionContext } from './archive-limits.js'
import { extractJar, extractPom } from './maven.js'
import { extractSdist, extractWheel, requirementOf } from './python.js'

let scratch: string
let context: ExtractionContext
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'trove-scan-test-'))
  context = { scratchDir: scratch, linked: { open: () => Promise.reject(new Error('no blobs')), holds: async () => false }, skip: () => undefined }
})
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true })
})
const bytes = (b: Buffer) => Readable.from([b])

describe('Python extraction', () => {
  it('reads a wheel: the project (PEP 503 name), Requires-Dist (pins exact), vendored dist-info', async () => {
    const wheel = wheelOf('Requests', '2.25.1', ['urllib3 (==1.26.16)', 'idna>=2.5,<3', 'chardet[extra] == 3.0.4 ; python_version < "3"', 'certifi'], [
      { name: 'requests/_vendor/PyYAML-5.4b1.dist-info/METADATA', data: coreMetadata('PyYAML', '5.4b1') },
    ])
    const components = await extractWheel(bytes(wheel), DEFAULT_EXTRACTION_LIMITS, context)
    expect(components).toEqual([
      { ecosystem: 'PyPI', name: 'pyyaml', version: '5.4b1', relation: 'bundled', location: 'requests/_vendor/PyYAML-5.4b1.dist-info/METADATA' },
      { ecosystem: 'PyPI', name: 'requests', version: '2.25.1', relation: 'self', location: 'Requests-2.25.1.dist-info/METADATA' },
      { ecosystem: 'PyPI', name: 'urllib3', version: '1.26.16', relation: 'dependency', location: 'Requests-2.25.1.dist-info/METADATA Requires-Dist' },
      { ecosystem: 'PyPI', name: 'idna', version: '>=2.5,<3', relation: 'dependency', location: 'Requests-2.25.1.dist-info/METADATA Requires-Dist' },
      { ecosystem: 'PyPI', name: 'chardet', version: '3.0.4', relation: 'dependency', location: 'Requests-2.25.1.dist-info/METADATA Requires-Dist' },
      { ecosystem: 'PyPI', name: 'certifi', version: '*', relation: 'dependency', location: 'Requests-2.25.1.dist-info/METADATA Requires-Dist' },
    ])
    expect(await readdir(scratch)).toEqual(['wheel.zip']) // the scanner removes the scratch folder
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
    await expect(extractWheel(bytes(bomb), DEFAULT_EXTRACTION_LIMITS, context)).rejects.toThrow(/expands more than 100 times/)
    const escape = zipOf([{ name: '../../evil.py', data: 'x' }, { name: 'a-1.0.dist-info/METADATA', data: coreMetadata('a', '1.0') }])
    await expect(extractWheel(bytes(escape), DEFAULT_EXTRACTION_LIMITS, context)).rejects.toThrow(/leaves the archive/)
    const absolute = zipOf([{ name: '/etc/evil', data: 'x' }])
    await expect(extractWheel(bytes(absolute), DEFAULT_EXTRACTION_LIMITS, context)).rejects.toThrow(/absolute path/)
    const many = zipOf(Array.from({ length: 10_000 }, (_, i) => ({ name: `a/${i}.py` })))
    await expect(extractWheel(bytes(many), { ...DEFAULT_EXTRACTION_LIMITS, maxEntries: 5000 }, context)).rejects.toThrow(/more than 5000 entries/)
    await expect(extractWheel(bytes(Buffer.from('not a zip')), DEFAULT_EXTRACTION_LIMITS, context)).rejects.toThrow(/not a readable zip/)
    await expect(extractSdist(bytes(gzipSync(tarOfFiles({ 'x-1.0/setup.py': '' }))), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(/not a Python sdist/)
    await expect(extractSdist(bytes(gzipSync(tarOfFiles({ 'x-1.0/../../PKG-INFO': '' }))), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(ScanFailure)
  })

  it('does not read a symlinked METADATA in a wheel', async () => {
    const wheel = zipOf([
      { name: 'a-1.0.dist-info/METADATA', data: coreMetadata('a', '1.0') },
      { name: 'b-1.0.dist-info/METADATA', data: '/etc/passwd', mode: 0o120777 },
    ])
    expect((await extractWheel(bytes(wheel), DEFAULT_EXTRACTION_LIMITS, context)).map((c) => c.name)).toEqual(['a'])
    const sdist = gzipSync(tarOfItems([{ path: 'a-1.0/PKG-INFO', type: '2', linkpath: '/etc/passwd' }]))
    await expect(extractSdist(bytes(sdist), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(/not a Python sdist/)
  })
})

describe('Maven extraction', () => {
  it('reads pom.properties (groupId:artifactId) and nested jars', async () => {
    const inner = jarOf([['org.apache.commons', 'commons-text', '1.9']])
    const fat = jarOf([['com.example', 'app', '1.0.0']], { 'BOOT-INF/lib/commons-text-1.9.jar': inner, 'BOOT-INF/lib/log4j-core.jar': jarOf([['org.apache.logging.log4j', 'log4j-core', '2.14.1']]) })
    const components = await extractJar(bytes(fat), DEFAULT_EXTRACTION_LIMITS, context)
    expect(components).toEqual([
      { ecosystem: 'Maven', name: 'com.example:app', version: '1.0.0', relation: 'self', location: 'META-INF/maven/com.example/app/pom.properties' },
      {
        ecosystem: 'Maven',
        name: 'org.apache.commons:commons-text',
        version: '1.9',
        relation: 'bundled',
        location: 'BOOT-INF/lib/commons-text-1.9.jar!/META-INF/maven/org.apache.commons/commons-text/pom.properties',
      },
      {
        ecosystem: 'Maven',
        name: 'org.apache.logging.log4j:log4j-core',
        version: '2.14.1',
        relation: 'bundled',
        location: 'BOOT-INF/lib/log4j-core.jar!/META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties',
      },
    ])
  })

  it('reads a pom with parent inheritance and properties', async () => {
    const pom = `<?xml version="1.0"?>
      <project xmlns="http://maven.apache.org/POM/4.0.0">
        <parent><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-parent</artifactId><version>2.5.11</version></parent>
        <artifactId>spring-boot-starter-web</artifactId>
        <properties><text.version>1.9</text.version></properties>
        <dependencies>
          <dependency><groupId>org.apache.commons</groupId><artifactId>commons-text</artifactId><version>\${text.version}</version></dependency>
          <dependency><groupId>org.springframework</groupId><artifactId>spring-beans</artifactId><version>[5.3.0,5.4)</version></dependency>
          <dependency><groupId>org.example</groupId><artifactId>managed</artifactId></dependency>
        </dependencies>
      </project>`
    expect(await extractPom(bytes(Buffer.from(pom)), DEFAULT_EXTRACTION_LIMITS)).toEqual([
      { ecosystem: 'Maven', name: 'org.springframework.boot:spring-boot-starter-web', version: '2.5.11', relation: 'self', location: 'pom.xml' },
      { ecosystem: 'Maven', name: 'org.apache.commons:commons-text', version: '1.9', relation: 'dependency', location: 'pom.xml dependencies' },
      { ecosystem: 'Maven', name: 'org.springframework:spring-beans', version: '[5.3.0,5.4)', relation: 'dependency', location: 'pom.xml dependencies' },
    ])
    await expect(extractPom(bytes(Buffer.from('<project><artifactId>x</project>')), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(/not well-formed/)
    await expect(extractPom(bytes(Buffer.from('<other/>')), DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(/no <project>/)
  })

  it('fails jars nested too deep, zip bombs and escaping names', async () => {
    let jar = jarOf([['g', 'a', '1']])
    for (let i = 0; i < 6; i++) jar = jarOf([], { [`lib/level${i}.jar`]: jar })
    await expect(extractJar(bytes(jar), DEFAULT_EXTRACTION_LIMITS, context)).rejects.toThrow(/nested more than 4 deep/)
    const bomb = jarOf([], {})
    const zeros = zipOf([{ name: 'META-INF/MANIFEST.MF', data: '' }, { name: 'big.bin', data: Buffer.alloc(64 * 1024 * 1024), deflate: true }])
    await expect(extractJar(bytes(zeros), DEFAULT_EXTRACTION_LIMITS, context)).rejects.toThrow(/bomb/)
    expect(await extractJar(bytes(bomb), DEFAULT_EXTRACTION_LIMITS, context)).toEqual([])
    await expect(extractJar(bytes(zipOf([{ name: 'META-INF/../../x', data: '' }])), DEFAULT_EXTRACTION_LIMITS, context)).rejects.toThrow(/leaves the archive/)
  })
})
