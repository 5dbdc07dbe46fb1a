import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import type { Repository } from '../repositories/repository-service.js'
import { DocumentCache } from './document-cache.js'

const repo = (key: string, rclass: 'local' | 'remote' | 'virtual' = 'local') => ({ key, rclass }) as unknown as Repository

describe('DocumentCache', () => {
  it('keeps a local repository’s document until the repository changes', async () => {
    const cache = new DocumentCache(1024 * 1024)
    let renders = 0
    const render = async () => ({ body: `v${++renders}`, contentType: 'text/plain' })
    expect((await cache.get(repo('a'), 'doc', render)).body.toString()).toBe('v1')
    expect((await cache.get(repo('a'), 'doc', render)).body.toString()).toBe('v1')
    await cache.changed('b') // another repository: nothing of a goes
    expect((await cache.get(repo('a'), 'doc', render)).body.toString()).toBe('v1')
    await cache.changed('a')
    expect((await cache.get(repo('a'), 'doc', render)).body.toString()).toBe('v2')
  })

  it('renders a remote’s or a virtual’s document at each request', async () => {
    const cache = new DocumentCache(1024 * 1024)
    let renders = 0
    for (const rclass of ['remote', 'virtual'] as const) {
      await cache.get(repo('r', rclass), 'doc', async () => ({ body: String(++renders), contentType: 'text/plain' }))
      await cache.get(repo('r', rclass), 'doc', async () => ({ body: String(++renders), contentType: 'text/plain' }))
    }
    expect(renders).toBe(4)
    expect(cache.size).toBe(0)
  })

  it('does not keep a document rendered while its repository changed', async () => {
    const cache = new DocumentCache(1024 * 1024)
    const first = await cache.get(repo('a'), 'doc', async () => {
      await cache.changed('a') // the change commits while the old state is being rendered
      return { body: 'old', contentType: 'text/plain' }
    })
    expect(first.body.toString()).toBe('old')
    expect((await cache.get(repo('a'), 'doc', async () => ({ body: 'new', contentType: 'text/plain' }))).body.toString()).toBe('new')
  })

  it('stays within its bound, compressed forms included, dropping the least recently used', async () => {
    const cache = new DocumentCache(64 * 1024)
    const body = (i: number) => Buffer.alloc(6 * 1024, i)
    for (let i = 0; i < 40; i++) {
      const document = await cache.get(repo('a'), `doc${i}`, async () => ({ body: body(i), contentType: 'application/octet-stream' }))
      expect(gunzipSync(document.encoded('gzip')!).equals(body(i))).toBe(true)
      expect(cache.size).toBeLessThanOrEqual(64 * 1024)
    }
    let renders = 0
    await cache.get(repo('a'), 'doc39', async () => ({ body: String(++renders), contentType: 'text/plain' }))
    await cache.get(repo('a'), 'doc0', async () => ({ body: String(++renders), contentType: 'text/plain' }))
    expect(renders).toBe(1) // the newest is kept, the oldest went
  })

  it('offers no compressed form of a small or incompressible document', async () => {
    const cache = new DocumentCache(1024 * 1024)
    const small = await cache.get(repo('a'), 'small', async () => ({ body: 'tiny', contentType: 'text/plain' }))
    expect(small.isCompressible).toBe(false)
    expect(small.encoded('gzip')).toBeUndefined()
    const fixed = await cache.get(repo('a'), 'fixed', async () => ({ body: 'x'.repeat(4096), contentType: 'text/plain', compressible: false, etag: '"abc"' }))
    expect(fixed.encoded('br')).toBeUndefined()
    expect(fixed.etag).toBe('"abc"')
  })
})
