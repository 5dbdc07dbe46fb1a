import { describe, expect, it } from 'vitest'
import { OciError } from './errors.js'
import { parseScopes } from './token.js'
import { parseChunkRange, progressRange } from './uploads.js'

describe('token request scopes', () => {
  it('reads repeated and space-separated scopes, with resource classes and host:port names', () => {
    expect(parseScopes(['repository:docker-local/app:pull,push registry:catalog:*', 'repository(plugin):docker-local/b:pull'])).toEqual([
      { type: 'repository', name: 'docker-local/app', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
      { type: 'repository', name: 'docker-local/b', actions: ['pull'] },
    ])
    expect(parseScopes(['repository:host:5000/app:pull'])).toEqual([{ type: 'repository', name: 'host:5000/app', actions: ['pull'] }])
    expect(parseScopes([])).toEqual([])
    expect(() => parseScopes(['repository-only'])).toThrow(OciError)
  })
})

describe('upload ranges', () => {
  it('reads Content-Range as clients send it', () => {
    expect(parseChunkRange(undefined)).toBeUndefined()
    expect(parseChunkRange('0-99')).toEqual({ start: 0, end: 99 })
    expect(parseChunkRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 })
    expect(parseChunkRange('bytes=5-5')).toEqual({ start: 5, end: 5 })
    expect(() => parseChunkRange('10-5')).toThrow(/before the start/)
    expect(() => parseChunkRange('abc')).toThrow(/expected <start>-<end>/)
  })

  it('reports progress as the reference registry does', () => {
    expect(progressRange(0)).toBe('0-0')
    expect(progressRange(1)).toBe('0-0')
    expect(progressRange(1000)).toBe('0-999')
  })
})
