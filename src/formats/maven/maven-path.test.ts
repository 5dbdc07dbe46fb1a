import { describe, expect, it } from 'vitest'
import { checksumOf, parseArtifactPath, parseFileName } from './maven-path.js'

describe('Maven paths', () => {
  it('reads a release file, a classifier and a compound extension', () => {
    expect(parseArtifactPath('org/acme/lib/1.0/lib-1.0.jar')).toEqual({
      groupPath: 'org/acme',
      groupId: 'org.acme',
      artifactId: 'lib',
      version: '1.0',
      fileName: 'lib-1.0.jar',
      classifier: '',
      extension: 'jar',
    })
    expect(parseFileName('lib-1.0-sources.jar', 'lib', '1.0')).toEqual({ classifier: 'sources', extension: 'jar' })
    expect(parseFileName('lib-1.0.tar.gz', 'lib', '1.0')).toEqual({ classifier: '', extension: 'tar.gz' })
    expect(parseFileName('lib-1.0.pom.asc', 'lib', '1.0')).toEqual({ classifier: '', extension: 'pom.asc' })
  })

  it('reads timestamped and non-unique SNAPSHOT files', () => {
    expect(parseFileName('lib-1.0-20240102.030405-7-tests.jar', 'lib', '1.0-SNAPSHOT')).toEqual({
      timestamp: '20240102.030405',
      buildNumber: 7,
      classifier: 'tests',
      extension: 'jar',
    })
    expect(parseFileName('lib-1.0-SNAPSHOT.pom', 'lib', '1.0-SNAPSHOT')).toEqual({ classifier: '', extension: 'pom' })
  })

  it('refuses files that do not belong to their version folder, saying what the layout expects', () => {
    expect(parseFileName('lib-1.0.1.jar', 'lib', '1.0')).toBeUndefined()
    expect(parseFileName('other-1.0.jar', 'lib', '1.0')).toBeUndefined()
    expect(parseFileName('lib-1.0-20240102.030405-7.jar', 'lib', '1.1-SNAPSHOT')).toBeUndefined()
    expect(() => parseArtifactPath('org/acme/lib/1.0/lib-2.0.jar')).toThrow(/does not match its version folder 'lib\/1.0'.*'lib-1.0'/)
    expect(() => parseArtifactPath('lib/1.0/lib-1.0.jar')).toThrow(/not a Maven artifact path/)
  })

  it('recognises checksum files', () => {
    expect(checksumOf('a/b/c.jar.sha1')).toEqual({ target: 'a/b/c.jar', algorithm: 'sha1' })
    expect(checksumOf('a/b/maven-metadata.xml.sha512')).toEqual({ target: 'a/b/maven-metadata.xml', algorithm: 'sha512' })
    expect(checksumOf('a/b/c.jar')).toBeUndefined()
    expect(checksumOf('a/b.sha1/c')).toBeUndefined()
  })
})
