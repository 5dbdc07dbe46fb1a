import { describe, expect, it } from 'vitest'
import { mavenTimestamp, mergeMetadata, parseMetadata, renderMetadata, type MavenMetadata } from './maven-metadata.js'
import { readPomCoordinates } from './pom.js'

describe('maven-metadata.xml', () => {
  const artifact: MavenMetadata = {
    groupId: 'org.acme',
    artifactId: 'lib',
    versioning: { latest: '1.10', release: '1.10', versions: ['1.9', '1.10'], lastUpdated: '20240102030405', snapshotVersions: [] },
  }

  it('renders escaped XML that parses back to the same document', () => {
    const xml = renderMetadata({ ...artifact, artifactId: 'a<b>&"c' })
    expect(xml).toContain('<artifactId>a&lt;b&gt;&amp;&quot;c</artifactId>')
    expect(xml).toContain('<version>1.10</version>')
    const back = parseMetadata(xml)
    expect(back).toMatchObject({ artifactId: 'a<b>&"c', versioning: { versions: ['1.9', '1.10'], latest: '1.10' } })
  })

  it('merges versions, the highest latest and release, and the newest lastUpdated', () => {
    const other: MavenMetadata = {
      groupId: 'org.acme',
      artifactId: 'lib',
      versioning: { latest: '2.0-SNAPSHOT', release: '1.2', versions: ['1.2', '2.0-SNAPSHOT'], lastUpdated: '20250101000000', snapshotVersions: [] },
    }
    expect(mergeMetadata([artifact, other])).toMatchObject({
      groupId: 'org.acme',
      versioning: { latest: '2.0-SNAPSHOT', release: '1.10', versions: ['1.2', '1.9', '1.10', '2.0-SNAPSHOT'], lastUpdated: '20250101000000' },
    })
  })

  it('merges SNAPSHOT metadata to the newest build per classifier and extension', () => {
    const snap = (n: number, ts: string): MavenMetadata => ({
      groupId: 'g',
      artifactId: 'a',
      version: '1.0-SNAPSHOT',
      versioning: {
        snapshot: { timestamp: ts, buildNumber: n },
        versions: [],
        lastUpdated: ts.replace('.', ''),
        snapshotVersions: [{ classifier: '', extension: 'jar', value: `1.0-${ts}-${n}`, updated: ts.replace('.', '') }],
      },
    })
    const merged = mergeMetadata([snap(1, '20240101.000000'), snap(3, '20240301.000000')])
    expect(merged?.versioning?.snapshot).toEqual({ timestamp: '20240301.000000', buildNumber: 3 })
    expect(merged?.versioning?.snapshotVersions).toEqual([{ classifier: '', extension: 'jar', value: '1.0-20240301.000000-3', updated: '20240301000000' }])
  })

  it('formats timestamps as Maven does (UTC)', () => {
    expect(mavenTimestamp(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe('20240102030405')
  })

  it('refuses what is not metadata', () => {
    expect(() => parseMetadata('<project/>')).toThrow(/no <metadata> root/)
  })
})

describe('POM coordinates', () => {
  it('inherits groupId and version from the parent and resolves project properties', () => {
    const pom = `<project><parent><groupId>org.acme</groupId><artifactId>parent</artifactId><version>2.1</version></parent>
      <artifactId>lib</artifactId><properties><kind>jar</kind></properties><packaging>\${kind}</packaging></project>`
    expect(readPomCoordinates(pom)).toEqual({ groupId: 'org.acme', artifactId: 'lib', version: '2.1', packaging: 'jar' })
  })

  it('keeps numbers as text and refuses what is not a POM', () => {
    expect(readPomCoordinates('<project><groupId>g</groupId><artifactId>a</artifactId><version>1.10</version></project>').version).toBe('1.10')
    expect(() => readPomCoordinates('<metadata/>')).toThrow(/no <project> root/)
  })
})
