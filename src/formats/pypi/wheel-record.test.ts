import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { compareRecord, isSameDigest, parseRecord, type ArchiveFile } from './wheel-record.js'

const DIST_INFO = 'demo-1.0.dist-info'
const sha256 = (text: string) => `sha256=${createHash('sha256').update(text).digest('base64url')}`

describe('parseRecord', () => {
  it('reads rows as csv.reader does: quoted fields with commas, doubled quotes and line breaks', () => {
    const text = [
      'demo/__init__.py,sha256=abc,12',
      '"demo/a,b.py",sha256=def,3',
      '"demo/say ""hi"".txt",,',
      '"demo/two\nlines.txt",sha256=ghi,0',
      'demo-1.0.dist-info/RECORD,,',
      '',
    ].join('\r\n')

    const { rows, issues } = parseRecord(text)

    expect(issues).toEqual([])
    expect(rows.map((r) => [r.path, r.hash, r.size, r.line])).toEqual([
      ['demo/__init__.py', { algorithm: 'sha256', digest: 'abc' }, 12, 1],
      ['demo/a,b.py', { algorithm: 'sha256', digest: 'def' }, 3, 2],
      ['demo/say "hi".txt', undefined, undefined, 3],
      ['demo/two\nlines.txt', { algorithm: 'sha256', digest: 'ghi' }, 0, 4],
      ['demo-1.0.dist-info/RECORD', undefined, undefined, 6],
    ])
  })

  it('skips blank lines, reads a last line without a line break, and turns backslashes into slashes', () => {
    const { rows, issues } = parseRecord('\n\na\\b.py,sha256=x,1\n\nc.py,sha256=y,2')
    expect(issues).toEqual([])
    expect(rows.map((r) => r.path)).toEqual(['a/b.py', 'c.py'])
  })

  it('says what is wrong with a line, by its number', () => {
    const { rows, issues } = parseRecord('ok.py,sha256=x,1\ntwo,fields\nfour,sha256=x,1,extra\n,sha256=x,1\nbad.py,nohash,1\nbad2.py,sha256=x,-1\nbad3.py,sha256=x,1e3\n')
    expect(rows.map((r) => r.path)).toEqual(['ok.py'])
    expect(issues).toEqual([
      'line 2 of RECORD has 2 fields, not 3',
      'line 3 of RECORD has 4 fields, not 3',
      'line 4 of RECORD has no path',
      "line 5 of RECORD: 'nohash' is not algorithm=digest",
      "line 6 of RECORD: the size '-1' is not a number of bytes",
      "line 7 of RECORD: the size '1e3' is not a number of bytes",
    ])
  })
})

describe('compareRecord', () => {
  const files: ArchiveFile[] = [
    { path: 'demo/__init__.py', size: 12 },
    { path: `${DIST_INFO}/METADATA`, size: 40 },
    { path: `${DIST_INFO}/RECORD`, size: 99 },
  ]
  const good = [`demo/__init__.py,${sha256('x')},12`, `${DIST_INFO}/METADATA,${sha256('y')},40`, `${DIST_INFO}/RECORD,,`].join('\n')
  const compare = (text: string, archive = files) => compareRecord(parseRecord(text).rows, archive, DIST_INFO)

  it('accepts a RECORD that lists every file once with a hash and its size', () => {
    expect(compare(good)).toEqual([])
  })

  it('accepts RECORD not listing itself, and signature files it does not list', () => {
    const withSignatures = [...files, { path: `${DIST_INFO}/RECORD.jws`, size: 5 }, { path: `${DIST_INFO}/RECORD.p7s`, size: 5 }]
    expect(compare(good.split('\n').slice(0, 2).join('\n'), withSignatures)).toEqual([])
  })

  it.each([
    ['a file missing from RECORD', `${DIST_INFO}/METADATA,${sha256('y')},40`, ["'demo/__init__.py' is not listed in RECORD"]],
    ['a listed file missing from the wheel', `${good}\ndemo/gone.py,${sha256('z')},1`, ["RECORD lists 'demo/gone.py', which is not in the wheel"]],
    ['no hash', `demo/__init__.py,,12\n${DIST_INFO}/METADATA,${sha256('y')},40`, ["RECORD has no hash for 'demo/__init__.py'"]],
    ['no size', `demo/__init__.py,${sha256('x')},\n${DIST_INFO}/METADATA,${sha256('y')},40`, ["RECORD has no size for 'demo/__init__.py'"]],
    ['a wrong size', `demo/__init__.py,${sha256('x')},13\n${DIST_INFO}/METADATA,${sha256('y')},40`, ["RECORD says 'demo/__init__.py' has 13 bytes, the wheel holds 12"]],
    ['an md5 hash', `demo/__init__.py,md5=abc,12\n${DIST_INFO}/METADATA,${sha256('y')},40`, ["RECORD has a md5 hash for 'demo/__init__.py': use sha256 or a stronger algorithm"]],
    ['a sha1 hash', `demo/__init__.py,sha1=abc,12\n${DIST_INFO}/METADATA,${sha256('y')},40`, ["RECORD has a sha1 hash for 'demo/__init__.py': use sha256 or a stronger algorithm"]],
    ['a row twice', `${good}\ndemo/__init__.py,${sha256('x')},12`, ["RECORD lists 'demo/__init__.py' twice"]],
  ])('reports %s', (_label, text, issues) => {
    expect(compare(text)).toEqual(issues)
  })

  it('reports a file the archive holds twice', () => {
    expect(compare(good, [...files, { path: 'demo/__init__.py', size: 12 }])).toEqual(["the wheel holds 'demo/__init__.py' twice"])
  })

  it.each([['sha384'], ['sha512'], ['sha3_256'], ['sha3_512'], ['blake2b'], ['blake2s']])('accepts %s hashes', (algorithm) => {
    expect(compare(`demo/__init__.py,${algorithm}=abc,12\n${DIST_INFO}/METADATA,${algorithm}=def,40`)).toEqual([])
  })
})

describe('isSameDigest', () => {
  const digest = createHash('sha256').update('hello').digest()

  it('compares urlsafe base64 without padding, as hashlib writes RECORD', () => {
    expect(isSameDigest(digest.toString('base64url'), digest)).toBe(true)
    expect(isSameDigest(`${digest.toString('base64url')}=`, digest)).toBe(true)
    // Standard base64 (+ and /) is not what RECORD holds.
    const bytes = Buffer.from([0xfb, 0xff, 0xbf])
    expect(bytes.toString('base64')).toBe('+/+/')
    expect(isSameDigest('-_-_', bytes)).toBe(true)
    expect(isSameDigest('+/+/', bytes)).toBe(false)
    expect(isSameDigest(createHash('sha256').update('other').digest('base64url'), digest)).toBe(false)
  })
})
