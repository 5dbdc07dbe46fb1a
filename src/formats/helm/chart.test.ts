import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { buildChart } from '../../../test/helpers/helm.js'
import { compareVersionsDescending, isSemver2, parseChartYaml, readChartYaml } from './chart.js'
import { parseUpstreamIndex, renderIndex } from './index-yaml.js'

describe('chart versions', () => {
  it('accepts SemVer 2 exactly as written, nothing looser', () => {
    for (const v of ['1.0.0', '0.1.0-rc.1', '1.2.3+build.5', '10.20.30-alpha.beta+exp.sha.5114f85']) expect(isSemver2(v), v).toBe(true)
    for (const v of ['1.0', 'v1.0.0', '=1.0.0', ' 1.0.0', '01.0.0', '1.0.0-', 'latest', '']) expect(isSemver2(v), v).toBe(false)
  })

  it('orders newest first by precedence, pre-releases below their release', () => {
    const sorted = ['1.0.0', '1.10.0', '1.2.0-rc.1', '1.2.0', '0.9.9'].sort(compareVersionsDescending)
    expect(sorted).toEqual(['1.10.0', '1.2.0', '1.2.0-rc.1', '1.0.0', '0.9.9'])
  })
})

describe('reading Chart.yaml from a chart archive', () => {
  it('finds <name>/Chart.yaml while streaming', async () => {
    const chart = await buildChart({ name: 'demo', version: '1.2.3', appVersion: '9' })
    const { dir, text } = await readChartYaml(Readable.from([chart]))
    expect(parseChartYaml(text, dir)).toMatchObject({ name: 'demo', version: '1.2.3', appVersion: '9' })
  })

  it('gives up on a gzip bomb after the scan limit instead of inflating it all', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024))
    await expect(readChartYaml(Readable.from([bomb]), { maxChartYamlBytes: 1024, maxScanBytes: 1024 * 1024 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    })
  })

  it('refuses a Chart.yaml that is not a mapping, or has no name', () => {
    expect(() => parseChartYaml('- a\n- b\n', 'x')).toThrow(/not a mapping/)
    expect(() => parseChartYaml('version: 1.0.0\n', 'x')).toThrow(/has no name/)
  })
})

describe('index.yaml', () => {
  it('resolves relative upstream URLs against the repository URL and keeps absolute ones', () => {
    const entries = parseUpstreamIndex(
      [
        'apiVersion: v1',
        'entries:',
        '  a:',
        '    - {name: a, version: 1.0.0, urls: [a-1.0.0.tgz], digest: "sha256:' + 'b'.repeat(64) + '"}',
        '  b:',
        '    - {name: b, version: 2.0.0, urls: [sub/b-2.0.0.tgz]}',
        '  c:',
        '    - {name: c, version: 3.0.0, urls: ["http://127.0.0.1:9/x/c.tgz"]}',
        '  bad:',
        '    - {name: bad, version: ../../etc, urls: [x.tgz]}',
        '    - {name: bad, version: 1.0.0}',
      ].join('\n'),
      'http://127.0.0.1:8/artifactory/api/helm/up',
    )
    expect(entries.map((e) => [e.name, e.upstreamUrl, e.digest])).toEqual([
      ['a', 'http://127.0.0.1:8/artifactory/api/helm/up/a-1.0.0.tgz', 'b'.repeat(64)],
      ['b', 'http://127.0.0.1:8/artifactory/api/helm/up/sub/b-2.0.0.tgz', undefined],
      ['c', 'http://127.0.0.1:9/x/c.tgz', undefined],
    ])
  })

  it('renders entries by name, newest version first, location fields from the store', () => {
    const text = renderIndex(
      [
        { name: 'z', version: '1.0.0', fields: { name: 'z', version: '1.0.0', urls: ['ignored'] }, urls: ['z-1.0.0.tgz'], digest: 'd1' },
        { name: 'a', version: '1.0.0', fields: { description: 'A' }, urls: ['a-1.0.0.tgz'] },
        { name: 'a', version: '2.0.0', fields: {}, urls: ['a-2.0.0.tgz'] },
      ],
      new Date(0),
    )
    expect(text).toMatch(/^apiVersion: v1\nentries:\n {2}a:\n/)
    expect(text.indexOf('version: 2.0.0')).toBeLessThan(text.indexOf('version: 1.0.0'))
    expect(text).not.toContain('ignored')
    expect(text).toContain('generated: 1970-01-01T00:00:00.000Z')
  })
})
