import semver from 'semver'

/**
 * SemVer 2.0 precedence, for npm and Go (and Hex): node-semver when both versions
 * parse, else a tolerant reading of the same rules (numbers of any length, a `v` prefix, missing
 * minor or patch, extra dotted components treated as build metadata, as OSV's own tools do).
 * Build metadata (`+incompatible`) never counts.
 */
export function compareSemver(a: string, b: string): number {
  const pa = semver.parse(a, { loose: false })
  const pb = semver.parse(b, { loose: false })
  if (pa && pb) return pa.compare(pb)
  return compareParsed(parseTolerant(a), parseTolerant(b))
}

interface Tolerant {
  readonly core: readonly bigint[]
  readonly pre: readonly string[]
}

function parseTolerant(version: string): Tolerant {
  let rest = version.trim().replace(/^v/i, '')
  const plus = rest.indexOf('+')
  if (plus >= 0) rest = rest.slice(0, plus)
  const match = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$/.exec(rest)
  if (!match) return { core: [0n, 0n, 0n], pre: rest === '' ? [] : [rest] }
  const core = [BigInt(match[1]!), BigInt(match[2] ?? '0'), BigInt(match[3] ?? '0')]
  const tail = match[4]!
  // `-pre.release`; anything else after the three numbers (a fourth `.4`) is build-like and ignored.
  const pre = tail.startsWith('-') ? tail.slice(1).split('.') : []
  return { core, pre }
}

function compareParsed(a: Tolerant, b: Tolerant): number {
  for (let i = 0; i < 3; i++) {
    if (a.core[i]! !== b.core[i]!) return a.core[i]! < b.core[i]! ? -1 : 1
  }
  if (a.pre.length === 0 || b.pre.length === 0) return b.pre.length - a.pre.length === 0 ? 0 : a.pre.length === 0 ? 1 : -1
  for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i]
    const y = b.pre[i]
    if (x === undefined) return -1
    if (y === undefined) return 1
    const c = compareIdentifier(x, y)
    if (c !== 0) return c
  }
  return 0
}

function compareIdentifier(x: string, y: string): number {
  const xn = /^\d+$/.test(x)
  const yn = /^\d+$/.test(y)
  if (xn && yn) {
    const bx = BigInt(x)
    const by = BigInt(y)
    return bx === by ? 0 : bx < by ? -1 : 1
  }
  if (xn) return -1
  if (yn) return 1
  return x === y ? 0 : x < y ? -1 : 1
}
