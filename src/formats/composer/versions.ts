/**
 * Composer's version rules: the normalised form it writes as `version_normalized` (Composer's
 * VersionParser), whether a version is a development one (those go in `p2/<name>~dev.json`), and
 * the order OSV's `Packagist` ecosystem matches with (PHP's `version_compare`, after Composer
 * drops a leading `v`).
 */

/** Stability words as Composer writes them in a normalised version. */
const MODIFIERS: Readonly<Record<string, string>> = { stable: '', a: 'alpha', alpha: 'alpha', b: 'beta', beta: 'beta', rc: 'RC', p: 'patch', pl: 'patch', patch: 'patch' }

const CLASSICAL = /^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?[._-]?(?:(stable|beta|b|rc|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?$/i
const BRANCH = /^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$/
const BRANCH_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/

/**
 * A version as Composer normalises it (`1.2` → `1.2.0.0`, `2.0-rc1` → `2.0.0.0-RC1`,
 * `dev-main` → `dev-main`, `1.x-dev` → `1.9999999.9999999.9999999-dev`), or undefined when Composer
 * would refuse it. Only versions that are a safe path segment are accepted (no `/`).
 */
export function normalizeVersion(input: string): string | undefined {
  const version = input.trim()
  if (version === '' || version.length > 128) return undefined
  if (/^dev-/i.test(version)) {
    const branch = version.slice(4)
    return BRANCH_NAME.test(branch) ? `dev-${branch}` : undefined
  }
  const classical = CLASSICAL.exec(version)
  if (classical) {
    const numbers = [classical[1]!, ...[2, 3, 4].map((i) => (classical[i] ?? '.0').slice(1))].map((n) => String(Number(n)))
    let normalized = numbers.join('.')
    const modifier = classical[5]?.toLowerCase()
    if (modifier !== undefined && MODIFIERS[modifier] !== '') {
      normalized += `-${MODIFIERS[modifier]}${(classical[6] ?? '').replace(/^[.-]/, '')}`
    }
    if (classical[7]) normalized += '-dev'
    return normalized
  }
  const branch = /^(.*?)[.-]?dev$/i.exec(version)
  if (branch) {
    const parts = BRANCH.exec(branch[1]!)
    if (parts) {
      const numbers = [parts[1]!, ...[2, 3, 4].map((i) => (parts[i] ?? '.x').slice(1))]
      return `${numbers.map((n) => (/^[xX*]$/.test(n) ? '9999999' : String(Number(n)))).join('.')}-dev`
    }
  }
  return undefined
}

/** Whether a (normalised) version is a development one: a branch (`dev-main`, `1.x-dev`) or `-dev`. */
export function isDevVersion(normalized: string): boolean {
  return normalized.startsWith('dev-') || normalized.endsWith('-dev')
}

/** The special words of PHP's `version_compare`, in their order; a number sits at `#`. */
const SPECIAL_ORDER: readonly (readonly [string, number])[] = [
  ['dev', 0],
  ['alpha', 1],
  ['a', 1],
  ['beta', 2],
  ['b', 2],
  ['RC', 3],
  ['rc', 3],
  ['#', 4],
  ['pl', 5],
  ['p', 5],
]

function weight(part: string): number {
  for (const [word, rank] of SPECIAL_ORDER) if (part.startsWith(word)) return rank
  return -6 // a word PHP does not know: before all of them
}

/** PHP's canonical form: `-`, `_`, `+` and other non-alphanumerics separate, as does a change between digits and letters. */
function partsOf(version: string): string[] {
  const text = version.replace(/^[vV](?=\d)/, '')
  const parts: string[] = []
  let current = ''
  let previous: 'digit' | 'other' | undefined
  for (const char of text) {
    const kind = /\d/.test(char) ? 'digit' : /[A-Za-z#]/.test(char) ? 'other' : undefined
    if (kind === undefined || (previous !== undefined && kind !== previous && current !== '')) {
      if (current !== '') parts.push(current)
      current = ''
    }
    if (kind !== undefined) current += char
    previous = kind
  }
  if (current !== '') parts.push(current)
  return parts
}

const isNumber = (part: string) => /^\d+$/.test(part)

function compareNumbers(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '')
  const y = b.replace(/^0+(?=\d)/, '')
  return x.length !== y.length ? x.length - y.length : x < y ? -1 : x > y ? 1 : 0
}

function compareParts(a: readonly string[], b: readonly string[]): number {
  const shared = Math.min(a.length, b.length)
  for (let i = 0; i < shared; i++) {
    const x = a[i]!
    const y = b[i]!
    const order = isNumber(x) && isNumber(y) ? compareNumbers(x, y) : weight(isNumber(x) ? '#' : x) - weight(isNumber(y) ? '#' : y)
    if (order !== 0) return Math.sign(order)
  }
  if (a.length > b.length) return isNumber(a[shared]!) ? 1 : compareParts(a.slice(shared), ['#'])
  if (a.length < b.length) return isNumber(b[shared]!) ? -1 : compareParts(['#'], b.slice(shared))
  return 0
}

/** OSV `Packagist` order: negative, 0 or positive. Never throws. */
export function comparePackagist(a: string, b: string): number {
  return compareParts(partsOf(a), partsOf(b))
}
