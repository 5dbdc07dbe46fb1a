/**
 * Maven's ComparableVersion (maven-artifact), re-implemented: a version is a list of items
 * (integers, qualifiers, sub-lists opened by `-` or by a digit/letter transition); trailing
 * "null" items (0, "", ga/final/release) are dropped; qualifiers order
 * alpha < beta < milestone < rc < snapshot < "" (release) < sp < any other word (lexically).
 */
export function compareMaven(a: string, b: string): number {
  return Math.sign(compareList(parseMaven(a), parseMaven(b)))
}

type Item = { readonly kind: 'int'; readonly value: bigint } | { readonly kind: 'string'; readonly value: string } | ListItem
interface ListItem {
  readonly kind: 'list'
  readonly items: Item[]
}

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp']
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' }
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''))

function comparableQualifier(q: string): string {
  const i = QUALIFIERS.indexOf(q)
  return i >= 0 ? String(i) : `${QUALIFIERS.length}-${q}`
}

function stringItem(value: string, isFollowedByDigit: boolean): Item {
  if (isFollowedByDigit && value.length === 1) {
    value = value === 'a' ? 'alpha' : value === 'b' ? 'beta' : value === 'm' ? 'milestone' : value
  }
  return { kind: 'string', value: ALIASES[value] ?? value }
}

function parseItem(isDigit: boolean, text: string): Item {
  return isDigit ? { kind: 'int', value: BigInt(text) } : stringItem(text, false)
}

function parseMaven(version: string): ListItem {
  const text = version.toLowerCase()
  const root: ListItem = { kind: 'list', items: [] }
  let list = root
  const stack: ListItem[] = [root]
  let isDigit = false
  let start = 0
  const openList = () => {
    const next: ListItem = { kind: 'list', items: [] }
    list.items.push(next)
    list = next
    stack.push(next)
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '.' || c === '-') {
      const item = i === start ? ({ kind: 'int', value: 0n } as const) : parseItem(isDigit, text.slice(start, i))
      start = i + 1
      // `1-ga-1` is `1-1`: a release qualifier between dashes says nothing (Maven 3.9 agrees).
      if (c === '-' && item.kind === 'string' && item.value === '' && i > 0 && list !== root) continue
      list.items.push(item)
      if (c === '-') openList()
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        list.items.push(stringItem(text.slice(start, i), true))
        start = i
        openList()
      }
      isDigit = true
    } else {
      if (isDigit && i > start) {
        list.items.push(parseItem(true, text.slice(start, i)))
        start = i
        openList()
      }
      isDigit = false
    }
  }
  if (text.length > start) list.items.push(parseItem(isDigit, text.slice(start)))
  while (stack.length > 0) normalize(stack.pop()!)
  return root
}

function isNull(item: Item): boolean {
  if (item.kind === 'int') return item.value === 0n
  if (item.kind === 'string') return comparableQualifier(item.value) === RELEASE_INDEX
  return item.items.length === 0
}

function normalize(list: ListItem): void {
  for (let i = list.items.length - 1; i >= 0; i--) {
    const last = list.items[i]!
    if (isNull(last)) list.items.splice(i, 1)
    else if (last.kind !== 'list') break
  }
}

/** `item.compareTo(other)`; `other` undefined is Maven's `null` (a missing item). */
function compareItem(item: Item, other: Item | undefined): number {
  switch (item.kind) {
    case 'int':
      if (other === undefined) return item.value === 0n ? 0 : 1
      if (other.kind === 'int') return item.value === other.value ? 0 : item.value < other.value ? -1 : 1
      return 1
    case 'string': {
      const mine = comparableQualifier(item.value)
      if (other === undefined) return compareStrings(mine, RELEASE_INDEX)
      if (other.kind === 'int' || other.kind === 'list') return -1
      return compareStrings(mine, comparableQualifier(other.value))
    }
    case 'list':
      if (other === undefined) return item.items.length === 0 ? 0 : compareItem(item.items[0]!, undefined)
      if (other.kind === 'int') return -1
      if (other.kind === 'string') return 1
      return compareList(item, other)
  }
}

function compareList(a: ListItem, b: ListItem): number {
  for (let i = 0; i < Math.max(a.items.length, b.items.length); i++) {
    const l = a.items[i]
    const r = b.items[i]
    const result = l === undefined ? (r === undefined ? 0 : -compareItem(r, undefined)) : compareItem(l, r)
    if (result !== 0) return result
  }
  return 0
}

function compareStrings(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1
}
