import { describe, expect, it } from 'vitest'
import { TroveError, type ErrorCode } from './errors.js'
import { MAX_PATH_LENGTH, MAX_SEGMENT_LENGTH, ancestorsOf, assertArtifactPath, nameOf, parentOf, parseRepositoryPath } from './paths.js'

/** The code of the TroveError `action` throws; fails the test if it throws nothing or something else. */
function codeOf(action: () => unknown): ErrorCode {
  try {
    action()
  } catch (err) {
    expect(err).toBeInstanceOf(TroveError)
    return (err as TroveError).code
  }
  throw new Error('expected a TroveError, nothing was thrown')
}

const matrixOf = (entries: Record<string, string[]>) => new Map(Object.entries(entries))

describe('parseRepositoryPath', () => {
  describe('splits a URL path into repository key, path and matrix parameters', () => {
    it.each([
      ['repo/a/b.txt', { repoKey: 'repo', path: 'a/b.txt', isFolder: false }],
      ['repo/file', { repoKey: 'repo', path: 'file', isFolder: false }],
      ['repo', { repoKey: 'repo', path: '', isFolder: true }],
      ['repo/', { repoKey: 'repo', path: '', isFolder: true }],
      ['repo/a/b/', { repoKey: 'repo', path: 'a/b', isFolder: true }],
      ['my.repo_1-x/a', { repoKey: 'my.repo_1-x', path: 'a', isFolder: false }],
    ])('%s', (raw, expected) => {
      expect(parseRepositoryPath(raw)).toEqual({ ...expected, matrix: new Map() })
    })
  })

  it('decodes each segment after splitting, so encoded characters stay inside their segment', () => {
    expect(parseRepositoryPath('repo/with%20space/%C3%A9t%C3%A9.txt').path).toBe('with space/été.txt')
    expect(parseRepositoryPath('repo/semi%3Bcolon.txt')).toMatchObject({ path: 'semi;colon.txt', matrix: new Map() })
    expect(parseRepositoryPath('repo/100%25/a+b.txt').path).toBe('100%/a+b.txt')
    expect(parseRepositoryPath('repo/%252e%252e/x').path).toBe('%2e%2e/x')
  })

  describe('matrix parameters', () => {
    it('after the file name become properties; repeated names give several values', () => {
      const parsed = parseRepositoryPath('repo/dir/file.txt;a=1;a=2;b=x')

      expect(parsed).toEqual({ repoKey: 'repo', path: 'dir/file.txt', isFolder: false, matrix: matrixOf({ a: ['1', '2'], b: ['x'] }) })
    })

    it('are percent-decoded, and a name without = has an empty value', () => {
      const parsed = parseRepositoryPath('repo/file;c=hello%20world;d=%2F;e%3D=v;flag')

      expect(parsed.matrix).toEqual(matrixOf({ c: ['hello world'], d: ['/'], 'e=': ['v'], flag: [''] }))
    })

    it('may follow the repository key, as in a deployment base URL', () => {
      const parsed = parseRepositoryPath('qa-releases;buildNumber=249;revision=1052/org/jfrog/app-1.3.1.jar')

      expect(parsed).toEqual({
        repoKey: 'qa-releases',
        path: 'org/jfrog/app-1.3.1.jar',
        isFolder: false,
        matrix: matrixOf({ buildNumber: ['249'], revision: ['1052'] }),
      })
    })

    it('may follow any segment, and name no part of the path', () => {
      const parsed = parseRepositoryPath('repo;a=1/dir;b=2/file.txt;c=3')

      expect(parsed).toEqual({ repoKey: 'repo', path: 'dir/file.txt', isFolder: false, matrix: matrixOf({ a: ['1'], b: ['2'], c: ['3'] }) })
    })

    it('after a trailing slash keep the path a folder', () => {
      expect(parseRepositoryPath('repo/dir/;a=1')).toEqual({ repoKey: 'repo', path: 'dir', isFolder: true, matrix: matrixOf({ a: ['1'] }) })
    })

    it('without a name are refused', () => {
      expect(codeOf(() => parseRepositoryPath('repo/file;=x'))).toBe('BAD_REQUEST')
      expect(codeOf(() => parseRepositoryPath('repo/file;a=1;=x'))).toBe('BAD_REQUEST')
    })

    it('cannot hide an empty segment', () => {
      expect(codeOf(() => parseRepositoryPath('repo/;a=1/file'))).toBe('PATH_INVALID')
    })
  })

  describe('refuses paths that could escape or alias another path', () => {
    it.each([
      ['a .. segment', 'repo/a/../b'],
      ['a leading .. segment', 'repo/../other/x'],
      ['a trailing .. segment', 'repo/a/..'],
      ['an encoded ..', 'repo/a/%2e%2e/b'],
      ['an encoded .. in capitals', 'repo/%2E%2E/b'],
      ['a half-encoded ..', 'repo/.%2e/b'],
      ['a . segment', 'repo/./b'],
      ['an encoded .', 'repo/%2e/b'],
      ['an encoded slash', 'repo/a%2Fb'],
      ['an encoded slash in lower case', 'repo/a%2fb'],
      ['an encoded slash hiding ..', 'repo/..%2Fx'],
      ['an empty segment', 'repo/a//b'],
      ['an empty first segment of the path', 'repo//a'],
      ['a backslash', 'repo/a\\b'],
      ['an encoded backslash', 'repo/a%5Cb'],
      ['NUL', 'repo/a%00b'],
      ['a control character', 'repo/a%01b'],
      ['a unit separator', 'repo/a%1Fb'],
      ['a newline', 'repo/a%0Ab'],
      ['DEL', 'repo/a%7Fb'],
      ['a segment over 255 bytes', `repo/${'s'.repeat(MAX_SEGMENT_LENGTH + 1)}`],
      ['a segment of 128 two-byte characters', `repo/${encodeURIComponent('é'.repeat(128))}`],
      ['a path over 1024 characters', `repo/${'a/'.repeat(MAX_PATH_LENGTH / 2)}b`],
      ['invalid percent-encoding', 'repo/%zz'],
      ['a truncated percent escape', 'repo/a%2'],
      ['a truncated UTF-8 sequence', 'repo/%E0%A4'],
    ])('%s', (_name, raw) => {
      expect(codeOf(() => parseRepositoryPath(raw))).toBe('PATH_INVALID')
    })
  })

  describe('refuses repository keys outside [a-z0-9][a-z0-9._-]{1,63} and reserved ones', () => {
    it.each([
      ['empty', '/a'],
      ['upper case', 'UPPER/a'],
      ['one character', 'x/a'],
      ['a leading dash', '-x/a'],
      ['a leading dot', '.x/a'],
      ['..', '../a'],
      ['an encoded ..', '%2e%2e/a'],
      ['a space', 'my%20repo/a'],
      ['65 characters', `${'k'.repeat(65)}/a`],
      ['the reserved api', 'api/a'],
      ['the reserved ui', 'ui/x'],
      ['an encoded slash', 'a%2Fb/c'],
    ])('%s', (_name, raw) => {
      expect(codeOf(() => parseRepositoryPath(raw))).toBe('NAME_INVALID')
    })

    it('accepts 2 and 64 characters', () => {
      expect(parseRepositoryPath('ab/x').repoKey).toBe('ab')
      expect(parseRepositoryPath(`${'k'.repeat(64)}/x`).repoKey).toBe('k'.repeat(64))
    })
  })

  it('accepts a segment of exactly 255 bytes and a path of exactly 1024 characters', () => {
    expect(parseRepositoryPath(`repo/${'s'.repeat(255)}`).path).toHaveLength(255)
    const longest = ['d'.repeat(255), 'd'.repeat(255), 'd'.repeat(255), 'f'.repeat(253), 'ab'].join('/')
    expect(longest).toHaveLength(MAX_PATH_LENGTH)
    expect(parseRepositoryPath(`repo/${longest}`).path).toBe(longest)
  })
})

describe('assertArtifactPath', () => {
  it.each(['', 'a', 'a/b/c.txt', '.hidden/...', 'v1..2/file.', 'with space/ü.txt', 'semi;colon'])('accepts %j', (path) => {
    expect(() => assertArtifactPath(path)).not.toThrow()
  })

  it.each([
    ['a leading slash', '/a'],
    ['a trailing slash', 'a/'],
    ['an empty segment', 'a//b'],
    ['..', '..'],
    ['a .. segment', 'a/../b'],
    ['a . segment', 'a/./b'],
    ['a backslash', 'a\\b'],
    ['NUL', 'a\u0000b'],
    ['a tab', 'a\tb'],
    ['an escape character', 'a\u001bb'],
    ['DEL', 'a\u007fb'],
    ['a 256-byte segment', 'x'.repeat(256)],
    ['a 256-byte segment of multi-byte characters', '€'.repeat(85) + 'x'],
    ['a path of 1025 characters', `${'a/'.repeat(512)}b`],
  ])('refuses %s', (_name, path) => {
    expect(codeOf(() => assertArtifactPath(path))).toBe('PATH_INVALID')
  })

  it('does not print control characters back raw in its message', () => {
    expect(() => assertArtifactPath('a\u0000b')).toThrow(/a\\x00b/)
  })
})

describe('path helpers', () => {
  it('parentOf, nameOf and ancestorsOf split on /', () => {
    expect(parentOf('a/b/c.txt')).toBe('a/b')
    expect(parentOf('c.txt')).toBe('')
    expect(nameOf('a/b/c.txt')).toBe('c.txt')
    expect(nameOf('c.txt')).toBe('c.txt')
    expect(ancestorsOf('a/b/c')).toEqual(['a', 'a/b'])
    expect(ancestorsOf('c')).toEqual([])
  })
})
