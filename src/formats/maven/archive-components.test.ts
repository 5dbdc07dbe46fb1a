import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { scratchExtraction } from '../../../test/helpers/extraction-context.js'
import { jarOf, zipOf } from '../../../test/helpers/scan-archives.js'
import { DEFAULT_EXTRACTION_LIMITS } from '../../core/scanning/components.js'
import { extractJar, extractPom } from './archive-components.js'

const scratch = scratchExtraction()
const bytes = (b: Buffer) => Readable.from([b])

describe('Maven extraction', () => {
  it('reads pom.properties (groupId:artifactId) and nested jars', async () => {
    const inner = jarOf([['org.apache.commons', 'commons-text', '1.9']])
    const fat = jarOf([['com.example', 'app', '1.0.0']], { 'BOOT-INF/lib/commons-text-1.9.jar': inner, 'BOOT-INF/lib/log4j-core.jar': jarOf([['org.apache.logging.log4j', 'log4j-core', '2.14.1']]) })
    const components = await extractJar(bytes(fat), DEFAULT_EXTRACTION_LIMITS, scratch.context)
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
    await expect(extractJar(bytes(jar), DEFAULT_EXTRACTION_LIMITS, scratch.context)).rejects.toThrow(/nested more than 4 deep/)
    const bomb = jarOf([], {})
    const zeros = zipOf([{ name: 'META-INF/MANIFEST.MF', data: '' }, { name: 'big.bin', data: Buffer.alloc(64 * 1024 * 1024), deflate: true }])
    await expect(extractJar(bytes(zeros), DEFAULT_EXTRACTION_LIMITS, scratch.context)).rejects.toThrow(/bomb/)
    expect(await extractJar(bytes(bomb), DEFAULT_EXTRACTION_LIMITS, scratch.context)).toEqual([])
    await expect(extractJar(bytes(zipOf([{ name: 'META-INF/../../x', data: '' }])), DEFAULT_EXTRACTION_LIMITS, scratch.context)).rejects.toThrow(/leaves the archive/)
  })
})
