/**
 * Maven's version order, the one copy Trove has: the format orders `maven-metadata.xml`'s
 * `<versions>`, `<latest>` and `<release>` with it, and the scanner matches Maven advisories' ranges
 * with it (`scanning.ts`). `1.10` after `1.9`, `1.0-alpha-1` < `1.0-beta` < `1.0-rc1` <
 * `1.0-SNAPSHOT` < `1.0` = `1.0.0` = `1-ga` < `1.0-sp1`, unknown qualifiers after all of those, in
 * text order.
 *
 * Maven 3's `ComparableVersion` algorithm: a version is split at `.`, `-` and at every change
 * between digits and letters; a `-` or such a change opens a nested list, and trailing "null" items
 * (`0`, empty, `ga`, `final`, `release`) are dropped from each list, which is what makes `1.0` equal
 * to `1`. One rule is the POM reference's "Version Order Specification" rather than that class:
 * the nulls are trimmed "at each remaining hyphen", so a hyphen list left holding nothing but the
 * next hyphen list is that list (`1-ga-1` = `1-0-1` = `1-1`). OSV orders Maven advisories' ranges
 * by the specification and the ordering vectors (test/fixtures/versions, from osv-scalibr) say so;
 * `ComparableVersion` itself (3.8 and 3.9 alike) keeps `1-ga-1` below `1-1`.
 */

type Item = IntItem | StringItem | ListItem

interface IntItem {
  readonly kind: 'int'
  /** Decimal digits without leading zeros (`''` is zero): versions may exceed any number type. */
  readonly digits: string
}
interface StringItem {
  readonly kind: 'string'
  readonly value: string
}
interface ListItem {
  readonly kind: 'list'
  readonly items: Item[]
}

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp']
const ALIASES: Readonly<Record<string, string>> = { ga: '', final: '', release: '', cr: 'rc' }
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''))

/** Negative when `a` sorts before `b`, positive after, zero when Maven holds them equal. */
export function compareMavenVersions(a: string, b: string): number {
  return compareItems(parse(a), parse(b))
}

/** The highest of the versions in Maven's order, `undefined` for none. */
export function highestVersion(versions: Iterable<string>): string | undefined {
  let best: string | undefined
  for (const version of versions) if (best === undefined || compareMavenVersions(version, best) > 0) best = version
  return best
}

export function sortMavenVersions(versions: Iterable<string>): string[] {
  return [...versions].sort(compareMavenVersions)
}

function parse(version: string): ListItem {
  const text = version.toLowerCase()
  const root: ListItem = { kind: 'list', items: [] }
  const stack: ListItem[] = [root]
  let list = root
  let isDigit = false
  let start = 0
  const open = () => {
    const child: ListItem = { kind: 'list', items: [] }
    list.items.push(child)
    list = child
    stack.push(child)
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '.' || c === '-') {
      list.items.push(i === start ? intItem('0') : item(isDigit, text.slice(start, i), false))
      start = i + 1
      if (c === '-') open()
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        list.items.push(stringItem(text.slice(start, i), true))
        start = i
        open()
      }
      isDigit = true
    } else {
      if (isDigit && i > start) {
        list.items.push(item(true, text.slice(start, i), false))
        start = i
        open()
      }
      isDigit = false
    }
  }
  if (text.length > start) list.items.push(item(isDigit, text.slice(start), false))
  while (stack.length > 0) {
    const list = stack.pop()!
    normalize(list, list === root)
  }
  return root
}

function item(isDigit: boolean, text: string, isFollowedByDigit: boolean): Item {
  return isDigit ? intItem(text) : stringItem(text, isFollowedByDigit)
}

function intItem(text: string): IntItem {
  return { kind: 'int', digits: text.replace(/^0+/, '') }
}

function stringItem(text: string, isFollowedByDigit: boolean): StringItem {
  let value = text
  // `1.0a1` means alpha 1; a lone `a` elsewhere is just the letter.
  if (isFollowedByDigit && value.length === 1) value = value === 'a' ? 'alpha' : value === 'b' ? 'beta' : value === 'm' ? 'milestone' : value
  return { kind: 'string', value: ALIASES[value] ?? value }
}

/** Drops trailing nulls (past nested lists); a hyphen list then holding only one list becomes it (`1-ga-1` → `1-1`). */
function normalize(list: ListItem, isRoot: boolean): void {
  for (let i = list.items.length - 1; i >= 0; i--) {
    const last = list.items[i]!
    if (isNull(last)) list.items.splice(i, 1)
    else if (last.kind !== 'list') break
  }
  const only = list.items[0]
  if (!isRoot && list.items.length === 1 && only!.kind === 'list') list.items.splice(0, 1, ...only!.items)
}

function isNull(item: Item): boolean {
  if (item.kind === 'int') return item.digits === ''
  if (item.kind === 'string') return qualifierRank(item.value) === RELEASE_INDEX
  return item.items.length === 0
}

function qualifierRank(value: string): string {
  const index = QUALIFIERS.indexOf(value)
  return index === -1 ? `${QUALIFIERS.length}-${value}` : String(index)
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareDigits(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : compareText(a, b)
}

/** `b` undefined stands for a missing item (the shorter version's padding). */
function compareItems(a: Item, b: Item | undefined): number {
  switch (a.kind) {
    case 'int':
      if (b === undefined) return a.digits === '' ? 0 : 1
      return b.kind === 'int' ? compareDigits(a.digits, b.digits) : 1
    case 'string':
      if (b === undefined) return compareText(qualifierRank(a.value), RELEASE_INDEX)
      if (b.kind === 'int' || b.kind === 'list') return -1
      return compareText(qualifierRank(a.value), qualifierRank(b.value))
    case 'list': {
      if (b === undefined) return a.items.length === 0 ? 0 : compareItems(a.items[0]!, undefined)
      if (b.kind === 'int') return -1
      if (b.kind === 'string') return 1
      const length = Math.max(a.items.length, b.items.length)
      for (let i = 0; i < length; i++) {
        const left = a.items[i]
        const right = b.items[i]
        const result = left === undefined ? (right === undefined ? 0 : -compareItems(right, undefined)) : compareItems(left, right)
        if (result !== 0) return result
      }
      return 0
    }
  }
}
