import { describe, expect, it } from 'vitest'
import { negotiate, parseProjectPage, renderProjectPage } from './simple-page.js'

const SHA = 'a'.repeat(64)
const META = 'b'.repeat(64)

describe('simple repository pages (PEP 503, 691, 592, 658/714)', () => {
  it('negotiates the representation from Accept', () => {
    expect(negotiate(undefined)).toBe('html')
    expect(negotiate('text/html')).toBe('html')
    expect(negotiate('application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01')).toBe('json')
    expect(negotiate('application/vnd.pypi.simple.v1+json;q=0.2, text/html')).toBe('html')
    expect(negotiate('application/vnd.pypi.simple.latest+json')).toBe('json')
  })

  it('renders and reads back the same files, in HTML and JSON', () => {
    const page = {
      name: 'demo',
      files: [
        { filename: 'demo-1.0-py3-none-any.whl', url: '../../packages/demo/1.0/demo-1.0-py3-none-any.whl', version: '1.0', sha256: SHA, requiresPython: '>=3.8,<4', coreMetadata: { sha256: META }, size: 10 },
        { filename: 'demo-1.0.tar.gz', url: '../../packages/demo/1.0/demo-1.0.tar.gz', version: '1.0', sha256: SHA, yanked: 'bad "quote" & <tag>', size: 20 },
      ],
    }
    const pageUrl = 'http://up.test/simple/demo/'
    for (const format of ['html', 'json'] as const) {
      const body = renderProjectPage(page, format)
      const parsed = parseProjectPage(body, format === 'json' ? 'application/vnd.pypi.simple.v1+json' : 'text/html', pageUrl, 'demo')
      expect(parsed.files.map((f) => ({ ...f, size: undefined }))).toEqual([
        { filename: 'demo-1.0-py3-none-any.whl', url: 'http://up.test/packages/demo/1.0/demo-1.0-py3-none-any.whl', sha256: SHA, requiresPython: '>=3.8,<4', yanked: undefined, coreMetadata: { sha256: META }, size: undefined },
        { filename: 'demo-1.0.tar.gz', url: 'http://up.test/packages/demo/1.0/demo-1.0.tar.gz', sha256: SHA, requiresPython: undefined, yanked: 'bad "quote" & <tag>', coreMetadata: undefined, size: undefined },
      ])
    }
    const json = JSON.parse(renderProjectPage(page, 'json'))
    expect(json.meta['api-version']).toBe('1.1')
    expect(json.versions).toEqual(['1.0'])
    expect(json.files[0]['core-metadata']).toEqual({ sha256: META })
    expect(json.files[0]).not.toHaveProperty('dist-info-metadata')
  })

  it('reads an upstream HTML page: <base href>, yanked without reason, metadata true, other hashes ignored', () => {
    const html = `<html><head><base href="http://files.test/root/"></head><body>
      <a href="x/demo-2.0-py3-none-any.whl#md5=abc" data-yanked data-core-metadata="true">demo-2.0-py3-none-any.whl</a>
      <a href='/abs/demo-2.1.tar.gz#sha256=${SHA.toUpperCase()}'>demo-2.1.tar.gz</a>
    </body></html>`
    const page = parseProjectPage(html, 'text/html', 'http://up.test/simple/demo/', 'demo')
    expect(page.files).toEqual([
      { filename: 'demo-2.0-py3-none-any.whl', url: 'http://files.test/root/x/demo-2.0-py3-none-any.whl', sha256: undefined, requiresPython: undefined, yanked: '', coreMetadata: {} },
      { filename: 'demo-2.1.tar.gz', url: 'http://files.test/abs/demo-2.1.tar.gz', sha256: SHA, requiresPython: undefined, yanked: undefined, coreMetadata: undefined },
    ])
  })
})
