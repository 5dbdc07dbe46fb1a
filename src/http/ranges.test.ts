import { describe, expect, it } from 'vitest'
import { matchesEtag, notModifiedSince, parseRange } from './ranges.js'

describe('parseRange (RFC 9110 §14)', () => {
  const SIZE = 1000

  it('without a header asks for the whole entity', () => {
    expect(parseRange(undefined, SIZE)).toEqual({ kind: 'full' })
    expect(parseRange('', SIZE)).toEqual({ kind: 'full' })
  })

  describe('a single satisfiable range', () => {
    it.each([
      ['the first bytes', 'bytes=0-99', 0, 99],
      ['one byte', 'bytes=0-0', 0, 0],
      ['the last byte by position', 'bytes=999-999', 999, 999],
      ['an open end', 'bytes=100-', 100, 999],
      ['a suffix', 'bytes=-10', 990, 999],
      ['a suffix longer than the entity', 'bytes=-5000', 0, 999],
      ['an end past the entity, clamped', 'bytes=500-5000', 500, 999],
      ['an end far past any safe integer, clamped', 'bytes=0-99999999999999999999', 0, 999],
      ['upper case and spaces', 'Bytes = 10 - 19', 10, 19],
    ])('%s (%s)', (_name, header, start, end) => {
      expect(parseRange(header, SIZE)).toEqual({ kind: 'partial', range: { start, end } })
    })
  })

  describe('a range that cannot be satisfied', () => {
    it.each([
      ['a start at the size', 'bytes=1000-', SIZE],
      ['a start past the size', 'bytes=1500-1600', SIZE],
      ['an empty suffix', 'bytes=-0', SIZE],
      ['any range of an empty entity', 'bytes=0-', 0],
      ['a suffix of an empty entity', 'bytes=-5', 0],
    ])('%s (%s)', (_name, header, size) => {
      expect(parseRange(header, size)).toEqual({ kind: 'unsatisfiable' })
    })
  })

  describe('headers it may ignore, answering with the whole entity', () => {
    it.each([
      ['several ranges', 'bytes=0-1,5-6'],
      ['another unit', 'items=0-9'],
      ['no positions', 'bytes=-'],
      ['garbage', 'bytes=abc'],
      ['a negative start', 'bytes=-5-10'],
      ['an end before the start', 'bytes=20-10'],
      ['no unit', '0-99'],
    ])('%s (%s)', (_name, header) => {
      expect(parseRange(header, SIZE)).toEqual({ kind: 'full' })
    })
  })
})

describe('matchesEtag (If-None-Match)', () => {
  const ETAG = '"0123abcd"'

  it.each([
    ['the same tag', '"0123abcd"'],
    ['the weak form of the tag (weak comparison, RFC 9110 §13.1.2)', 'W/"0123abcd"'],
    ['the tag in a list', '"other", "0123abcd"'],
    ['the tag in a list without spaces', '"other","0123abcd"'],
    ['*', '*'],
    ['an unquoted tag, as sloppy clients send it', '0123abcd'],
  ])('matches %s', (_name, header) => {
    expect(matchesEtag(header, ETAG)).toBe(true)
  })

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['another tag', '"ffff"'],
    ['a prefix of the tag', '"0123"'],
    ['a longer tag', '"0123abcd0"'],
  ])('does not match %s', (_name, header) => {
    expect(matchesEtag(header, ETAG)).toBe(false)
  })
})

describe('notModifiedSince (If-Modified-Since)', () => {
  const modifiedAt = Date.UTC(2024, 4, 1, 12, 0, 0, 750)

  it('holds for the Last-Modified date itself, HTTP dates having second precision', () => {
    expect(notModifiedSince(new Date(modifiedAt).toUTCString(), modifiedAt)).toBe(true)
  })

  it('holds for a later date', () => {
    expect(notModifiedSince(new Date(modifiedAt + 60_000).toUTCString(), modifiedAt)).toBe(true)
  })

  it('does not hold for an earlier date, a malformed one, or none', () => {
    expect(notModifiedSince(new Date(modifiedAt - 1000).toUTCString(), modifiedAt)).toBe(false)
    expect(notModifiedSince('not a date', modifiedAt)).toBe(false)
    expect(notModifiedSince(undefined, modifiedAt)).toBe(false)
  })
})
