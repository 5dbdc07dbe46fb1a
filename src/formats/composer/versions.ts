/**
 * Composer's version rules: the normalised form it writes as `version_normalized` (Composer's
 * VersionParser), whether a version is a development one (those go in `p2/<name>~dev.json`), and
 * the order OSV's `Packagist` ecosystem matches with (PHP's `version_compare`, after Composer
 * drops a leading `v`).
 */

const MODIFIER = String.raw`[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?`
const CLASSICAL = new RegExp(String.raw`^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?` + MODIFIER + '$', 'i')
const DATED = new RegExp(String.raw`^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})` + MODIFIER + '$', 'i')
const BRANCH = /^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$/
const STABILITY_FLAG = /@(?:stable|RC|beta|alpha|dev)$/i

/** Composer's long spelling of a stability modifier (`b` → `beta`, `rc` → `RC`, `pl` → `patch`). */
function expandStability(word: string): string {
  const lower = word.toLowerCase()
  return lower === 'a' ? 'alpha' : lower === 'b' ? 'beta' : lower === 'p' || lower === 'pl' ? 'patch' : lower === 'rc' ? 'RC' : lower
}

/**
 * A version as Composer's VersionParser normalises it (`1.2` → `1.2.0.0`, `2.0-rc1` →
 * `2.0.0.0-RC1`, `v1.0.0+build` → `1.0.0.0`, `dev-main` → `dev-main`, `1.x-dev` →
 * `1.9999999.9999999.9999999-dev`, zero padding kept), or undefined where Composer throws.
 * Checked against composer/semver's own cases (test/fixtures/versions/composer-normalize.json).
 */
export function normalizeVersion(input: string): string | undefined {
  let version = input.trim()
  const alias = /^([^,\s]+) +as +([^,\s]+)$/.exec(version)
  if (alias) version = alias[1]!
  version = version.replace(STABILITY_FLAG, '')
  if (version === 'master' || version === 'trunk' || version === 'default') version = `dev-${version}`
  if (/^dev-/i.test(version)) return `dev-${version.slice(4)}`
  const metadata = /^([^,\s+]+)\+\S+$/.exec(version)
  if (metadata) version = metadata[1]!
  let numbers: string | undefined
  let modifier: RegExpExecArray | undefined
  const classical = CLASSICAL.exec(version)
  if (classical) {
    numbers = `${classical[1]}${classical[2] || '.0'}${classical[3] || '.0'}${classical[4] || '.0'}`
    modifier = classical.slice(4) as unknown as RegExpExecArray
  } else {
    const dated = DATED.exec(version)
    if (dated) {
      numbers = dated[1]!.replace(/\D/g, '.')
      modifier = dated.slice(1) as unknown as RegExpExecArray
    }
  }
  if (numbers !== undefined && modifier) {
    // modifier[1]: the stability word, [2]: its numbers, [3]: a dev suffix.
    const [, word, digits, dev] = modifier
    if (word) {
      if (word === 'stable') return numbers
      numbers += `-${expandStability(word)}${digits ? digits.replace(/^[.-]+/, '') : ''}`
    }
    return dev ? `${numbers}-dev` : numbers
  }
  const branch = /^(.*?)[.-]?dev$/i.exec(version)
  if (branch) {
    // A branch ending with -dev is a version only when it is numeric (`1.x-dev`); `feature-dev` is not.
    const normalized = normalizeBranch(branch[1]!)
    if (!normalized.startsWith('dev-')) return normalized
  }
  return undefined
}

/** A branch name as Composer normalises it: numeric ones (`1.x`, `v2.4`) to `1.9999999.9999999.9999999-dev`, others to `dev-<name>`. */
export function normalizeBranch(input: string): string {
  const name = input.trim()
  const parts = BRANCH.exec(name)
  if (!parts) return `dev-${name}`
  return `${[1, 2, 3, 4].map((i) => parts[i]?.replace(/[*X]/g, 'x') ?? '.x').join('').replace(/x/g, '9999999')}-dev`
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
