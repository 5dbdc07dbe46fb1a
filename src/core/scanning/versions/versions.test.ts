import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compareApk, compareDpkg, compareMaven, comparePep440, compareRpm, compareSemver, type VersionComparator } from './index.js'

const FIXTURES = join(import.meta.dirname, '../../../../test/fixtures/versions')

/** osv-scalibr's vectors: `A <op> B` per line; `# ` and `// ` lines are comments. */
function vectors(file: string): { a: string; op: string; b: string; line: number }[] {
  return readFileSync(join(FIXTURES, file), 'utf8')
    .split('\n')
    .map((text, i) => ({ text, line: i + 1 }))
    .filter(({ text }) => text.trim() !== '' && !text.startsWith('# ') && !text.startsWith('//'))
    .map(({ text, line }) => {
      const [a, op, b] = text.split(' ')
      return { a: a!, op: op!, b: b!, line }
    })
}

const SUITES: [string, VersionComparator, string[]][] = [
  ['semver (npm, Go)', compareSemver, ['semver-versions.txt']],
  ['PEP 440 (PyPI)', comparePep440, ['pypi-versions.txt', 'pypi-versions-generated.txt']],
  ['Maven ComparableVersion', compareMaven, ['maven-versions.txt', 'maven-versions-generated.txt']],
  ['dpkg (Debian)', compareDpkg, ['debian-versions.txt', 'debian-versions-generated.txt']],
  ['apk (Alpine)', compareApk, ['alpine-versions.txt', 'alpine-versions-generated.txt']],
  ['rpm (Red Hat)', compareRpm, ['redhat-versions.txt']],
]

/**
 * Vectors Trove orders differently, with the reason. All are versions apk itself calls invalid;
 * the vectors follow apk-tools 3, Trove follows apk-tools 2, which Alpine 3.x releases ship (the
 * file's own comments note that 2.x answers the opposite for most of them).
 */
const KNOWN_DIFFERENCES: Record<string, string> = {
  'alpine-versions.txt:4': 'invalid revision `-r-0`: apk 2.x orders it after `-r0`',
  'alpine-versions.txt:5': 'invalid revision `-r-1`: apk 2.x orders it after `-r0`',
  'alpine-versions.txt:15': 'invalid `0.r1`: apk 2.x stops at the invalid token',
  'alpine-versions.txt:24': 'invalid `0.8.21.r2`: apk 2.x stops at the invalid token',
  'alpine-versions.txt:27': 'upper-case letter: invalid for apk 2.x, which orders it after a lower-case one',
  'alpine-versions.txt:28': 'upper-case letter: invalid for apk 2.x, which orders it after a lower-case one',
  'alpine-versions.txt:40': 'invalid `-ruff`: apk 2.x orders `1` before it',
  'alpine-versions.txt:47': 'invalid `--ruff1`: apk 2.x stops at the first invalid token',
}

describe.each(SUITES)('%s ordering', (_name, compare, files) => {
  it.each(files)('agrees with every line of %s, both ways round', (file) => {
    const failures: string[] = []
    const all = vectors(file)
    for (const { a, op, b, line } of all) {
      const want = op === '<' ? -1 : op === '>' ? 1 : 0
      const got = Math.sign(compare(a, b))
      const back = Math.sign(compare(b, a))
      if (KNOWN_DIFFERENCES[`${file}:${line}`] !== undefined) continue
      if (got !== want || back !== -want) failures.push(`${file}:${line}: ${a} ${op} ${b} (got ${got}, reversed ${back})`)
    }
    expect(all.length).toBeGreaterThan(10)
    expect(failures).toEqual([])
  })
})
