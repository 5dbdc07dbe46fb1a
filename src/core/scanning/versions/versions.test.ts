import { describe, it } from 'vitest'
import { expectAgreesWithVectors } from '../../../../test/helpers/version-vectors.js'
import { compareApk, compareDpkg, compareRpm, compareSemver, type VersionComparator } from './index.js'

// PEP 440 and Maven's orderings are their formats' own: src/formats/pypi/pep440.test.ts, src/formats/maven/maven-version.test.ts.
const SUITES: [string, VersionComparator, string[]][] = [
  ['semver (npm, Go)', compareSemver, ['semver-versions.txt']],
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
    expectAgreesWithVectors(compare, file, KNOWN_DIFFERENCES)
  })
})
