import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { FORMATS } from '../../formats/index.js'
import { JobQueue } from '../jobs/job-queue.js'
import { readCapped } from './extractors/archive-limits.js'
import { Scanner } from './scanner.js'
import { ScanningRegistry, type ScanningContributor } from './scanning-registry.js'
import { compareSemver } from './versions/index.js'
import { VulnerabilityDatabase } from './vulndb.js'

/**
 * A format only this test knows: `*.fake` files list `<name> <version>` lines, packages of the
 * release-scoped ecosystem `Fake:1`, whose versions order as numbers (`9` < `10`, unlike text)
 * and whose names compare upper-cased.
 */
const FAKE_FORMAT: ScanningContributor = {
  id: 'fake',
  scanning: {
    extractors: [
      {
        format: 'fake-list',
        accepts: (_repository, path) => path.endsWith('.fake'),
        extract: async (source, limits) =>
          (await readCapped(source, limits.maxMetadataBytes, 'the list'))
            .toString('utf8')
            .split('\n')
            .filter((line) => line.trim() !== '')
            .map((line, i) => {
              const [name, version] = line.split(' ') as [string, string]
              return { ecosystem: 'Fake:1', name, version, relation: 'bundled', location: `line ${i + 1}` }
            }),
      },
    ],
    ecosystems: [
      {
        osv: 'Fake',
        compare: (a, b) => Number(a) - Number(b),
        normalizeName: (name) => name.toUpperCase(),
        purl: (name, version, release) => `pkg:fake/${name}@${version}?release=${release}`,
      },
    ],
    xrayPackageType: 'FakeType',
  },
}

describe('scanning registry', () => {
  it('refuses two formats declaring one ecosystem, or one extractor id', () => {
    const npmAgain: ScanningContributor = { id: 'npm-again', scanning: { ecosystems: [{ osv: 'npm', compare: compareSemver }] } }
    expect(() => new ScanningRegistry([...FORMATS, npmAgain])).toThrow("the ecosystem 'npm' is declared by the formats 'npm' and 'npm-again'")
    const fakeTwice: ScanningContributor = { id: 'fake-2', scanning: { extractors: FAKE_FORMAT.scanning!.extractors! } }
    expect(() => new ScanningRegistry([FAKE_FORMAT, fakeTwice])).toThrow("the extractor 'fake-list' is declared by the formats 'fake' and 'fake-2'")
    expect(() => new ScanningRegistry([{ id: 'x', scanning: { ecosystems: [{ osv: 'Debian:12', compare: compareSemver }] } }])).toThrow(/release suffix/)
    // Trove's own formats declare each ecosystem and extractor once (the registry accepts them all,
    // in registration order), and the first formats' extractors are there.
    const declared = FORMATS.flatMap((f) => f.scanning?.extractors?.map((e) => e.format) ?? [])
    expect(new ScanningRegistry(FORMATS).extractors.map((e) => e.format)).toEqual(declared)
    expect(declared).toEqual(expect.arrayContaining(['npm', 'oci', 'pypi-wheel', 'pypi-sdist', 'maven-archive', 'maven-pom']))
  })

  it('answers from the declarations: names, orderings, purls, Xray ids and types', () => {
    const registry = new ScanningRegistry([...FORMATS, FAKE_FORMAT])
    expect(registry.normalizeName('PyPI', 'Django_REST.framework')).toBe('django-rest-framework')
    expect(registry.normalizeName('npm', 'Axios')).toBe('axios')
    expect(registry.normalizeName('Fake:1', 'widget')).toBe('WIDGET')
    expect(registry.normalizeName('Undeclared', 'Widget')).toBe('Widget')
    expect(registry.comparator('Fake:7')!('9', '10')).toBeLessThan(0)
    expect(registry.comparator('Go')!('v1.10.0', '1.9.0')).toBeGreaterThan(0) // the Go format's order, with or without the v
    expect(registry.comparator('Undeclared')).toBeUndefined()
    expect(registry.purl({ ecosystem: 'Fake:1', name: 'w', version: '2' })).toBe('pkg:fake/w@2?release=1')
    expect(registry.purl({ ecosystem: 'Undeclared', name: 'w', version: '2' })).toBeUndefined()
    expect(registry.xrayComponentId({ ecosystem: 'Maven', name: 'g:a', version: '1' })).toBe('gav://g:a:1')
    expect(registry.xrayComponentId({ ecosystem: 'Fake:1', name: 'w', version: '2' })).toBe('fake://w:2')
    expect([registry.xrayPackageType('fake'), registry.xrayPackageType('docker'), registry.xrayPackageType('pypi')]).toEqual(['FakeType', 'Docker', 'Pypi'])
  })
})

describe('the scanner asks the registry', () => {
  let core: CoreFixture
  let scanner: Scanner
  let vulndb: VulnerabilityDatabase

  beforeAll(async () => {
    core = await createCoreFixture('sqlite')
    const registry = new ScanningRegistry([...FORMATS, FAKE_FORMAT])
    vulndb = new VulnerabilityDatabase(core.metadata.db, registry)
    const jobs = new JobQueue(core.metadata.db, core.logger)
    scanner = new Scanner({ db: core.metadata.db, blobs: core.blobs, repositories: core.repositories, vulndb, jobs, logger: core.logger, registry })
  })
  afterAll(async () => core.cleanup())

  it('scans a file with a test format\'s extractor and matches it with its ecosystem', async () => {
    // 1. An advisory of the test ecosystem: `widget` from 2 up to (not including) 10.
    const summary = await vulndb.importRecords([
      {
        id: 'FAKE-1',
        modified: '2024-01-01T00:00:00Z',
        affected: [{ package: { ecosystem: 'Fake:1', name: 'widget' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2' }, { fixed: '10' }] }] }],
      },
    ])
    expect(summary.imported).toBe(1)

    // 2. A `.fake` file in a generic repository: the test format's extractor reads it.
    const repository = await core.repositories.create('files', { rclass: 'local', packageType: 'generic' })
    const asset = await core.artifacts.deploy(repository, 'lists/app.fake', Readable.from([Buffer.from('Widget 9\nWidget 10\nother 3\n')]), { user: 'admin', contentType: 'text/plain' })
    expect(scanner.accepts(repository, 'lists/app.fake')).toBe(true)
    expect((await scanner.report(repository, 'lists/app.fake')).status).toBe('pending')
    expect(await scanner.scan({ repoKey: 'files', sha256: asset.sha256 }, 'fake-list')).toEqual({ status: 'done', components: 3 })

    // 3. `Widget 9` is affected (names meet upper-cased; 9 < 10 as numbers); `Widget 10` is the fix.
    const report = await scanner.report(repository, 'lists/app.fake')
    expect(report.components.map((c) => `${c.name}@${c.version}`)).toEqual(['Widget@9', 'Widget@10', 'other@3'])
    expect(report.vulnerabilities).toHaveLength(1)
    expect(report.vulnerabilities[0]).toMatchObject({ ids: ['FAKE-1'], components: [{ name: 'Widget', version: '9', fixedVersions: ['10'] }] })
    expect(scanner.registry.purl(report.components[0]!)).toBe('pkg:fake/Widget@9?release=1')
  })
})
