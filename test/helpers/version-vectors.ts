import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'

const FIXTURES = join(import.meta.dirname, '../fixtures/versions')

/** osv-scalibr's vectors (test/fixtures/versions): `A <op> B` per line; `# ` and `// ` lines are comments. */
export function versionVectors(file: string): { a: string; op: string; b: string; line: number }[] {
  return readFileSync(join(FIXTURES, file), 'utf8')
    .split('\n')
    .map((text, i) => ({ text, line: i + 1 }))
    .filter(({ text }) => text.trim() !== '' && !text.startsWith('# ') && !text.startsWith('//'))
    .map(({ text, line }) => {
      const [a, op, b] = text.split(' ')
      return { a: a!, op: op!, b: b!, line }
    })
}

/**
 * Asserts that `compare` agrees with every line of a vector file, both ways round, except the
 * lines listed in `knownDifferences` (`<file>:<line>` → the reason).
 */
export function expectAgreesWithVectors(compare: (a: string, b: string) => number, file: string, knownDifferences: Readonly<Record<string, string>> = {}): void {
  const failures: string[] = []
  const all = versionVectors(file)
  for (const { a, op, b, line } of all) {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0
    const got = Math.sign(compare(a, b))
    const back = Math.sign(compare(b, a))
    if (knownDifferences[`${file}:${line}`] !== undefined) continue
    if (got !== want || back !== -want) failures.push(`${file}:${line}: ${a} ${op} ${b} (got ${got}, reversed ${back})`)
  }
  expect(all.length).toBeGreaterThan(10)
  expect(failures).toEqual([])
}
