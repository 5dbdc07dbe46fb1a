import { describe, expect, it } from 'vitest'
import { BytesCache } from './bytes-cache.js'

describe('BytesCache', () => {
  it('keeps at most its bound in bytes, dropping the least recently used first', () => {
    const cache = new BytesCache(10)
    cache.set('a', Buffer.alloc(4, 'a'))
    cache.set('b', Buffer.alloc(4, 'b'))
    expect(cache.get('a')?.toString()).toBe('aaaa') // a is now the most recently used
    cache.set('c', Buffer.alloc(4, 'c')) // 12 bytes: b goes
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')?.toString()).toBe('aaaa')
    expect(cache.get('c')?.toString()).toBe('cccc')
  })

  it('never keeps a value larger than the bound, and keeps the first value of a key', () => {
    const cache = new BytesCache(4)
    cache.set('big', Buffer.alloc(5))
    expect(cache.get('big')).toBeUndefined()
    cache.set('k', Buffer.from('one'))
    cache.set('k', Buffer.from('two'))
    expect(cache.get('k')?.toString()).toBe('one')
  })
})
