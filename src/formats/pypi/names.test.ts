import { describe, expect, it } from 'vitest'
import { isValidProjectName, normalVersion, normalizeName, parseDistributionFilename } from './names.js'

describe('PyPI names (PEP 503, 440, 427)', () => {
  it('normalises project names', () => {
    expect(normalizeName('Foo_Bar')).toBe('foo-bar')
    expect(normalizeName('foo...bar--baz__Q')).toBe('foo-bar-baz-q')
    expect(isValidProjectName('a')).toBe(true)
    expect(isValidProjectName('-a')).toBe(false)
    expect(isValidProjectName('a b')).toBe(false)
  })

  it('normalises PEP 440 versions and refuses others', () => {
    expect(normalVersion('1.0RC1')).toBe('1.0rc1')
    expect(normalVersion('1.0.post1')).toBe('1.0.post1')
    expect(normalVersion('1.0.x')).toBeUndefined()
    expect(normalVersion('three')).toBeUndefined()
  })

  it('parses wheel and sdist names against the project', () => {
    expect(parseDistributionFilename('Foo_Bar-1.0-1abc-py2.py3-none-any.whl', 'foo-bar')).toEqual({
      filename: 'Foo_Bar-1.0-1abc-py2.py3-none-any.whl',
      kind: 'wheel',
      name: 'Foo_Bar',
      version: '1.0',
      tags: { python: 'py2.py3', abi: 'none', platform: 'any', build: '1abc' },
    })
    expect(parseDistributionFilename('foo-bar-baz-2.0.tar.gz', 'Foo.Bar-Baz')).toMatchObject({ kind: 'sdist', name: 'foo-bar-baz', version: '2.0' })
    expect(parseDistributionFilename('foo_bar-2.0.zip', 'foo-bar')).toMatchObject({ kind: 'sdist', version: '2.0' })
  })

  it('refuses what PyPI refuses, with its words', () => {
    expect(() => parseDistributionFilename('foo-1.0.exe', 'foo')).toThrow(/^Invalid file extension/)
    expect(() => parseDistributionFilename('bar-1.0-py3-none-any.whl', 'foo')).toThrow(/^Start filename for 'foo' with 'foo-'/)
    expect(() => parseDistributionFilename('foo-1.0-py3-any.whl', 'foo')).toThrow(/wrong number of parts/)
    expect(() => parseDistributionFilename('foo-1.0-x-py3-none-any.whl', 'foo')).toThrow(/Invalid build number/)
    expect(() => parseDistributionFilename('foo-1.0-py3-none-any$.whl', 'foo')).toThrow(/Invalid wheel tag/)
    expect(() => parseDistributionFilename('../foo-1.0.tar.gz', 'foo')).toThrow(/Invalid distribution file name/)
  })
})
