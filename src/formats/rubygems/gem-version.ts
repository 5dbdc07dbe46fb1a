/**
 * RubyGems' version rules (Gem::Version), as its documentation states them: a version is numbers
 * and letters separated by dots (`-` stands for `.pre.`); segments are the runs of digits
 * (numbers) and of letters (strings); a version with a letter is a prerelease; trailing zeros of
 * the release part and of the prerelease part are ignored; a string segment sorts before a number.
 */

/** Gem::Version::VERSION_PATTERN: what `Gem::Version.new` accepts. */
const VERSION_PATTERN = /^\s*([0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?\s*$/

/** Whether `version` is a version RubyGems accepts (an empty one is not, for a gem). */
export function isGemVersion(version: string): boolean {
  return version.trim() !== '' && VERSION_PATTERN.test(version)
}

/** Whether `version` is a prerelease (it has a letter). */
export function isPrerelease(version: string): boolean {
  return /[a-zA-Z]/.test(version)
}

type Segment = bigint | string

function segments(version: string): Segment[] {
  const text = version.trim().replace(/-/g, '.pre.')
  return (text.match(/[0-9]+|[a-zA-Z]+/g) ?? []).map((s) => (/^[0-9]/.test(s) ? BigInt(s) : s))
}

/** The segments without trailing zeros of the release part and of the prerelease part (Gem::Version#canonical_segments). */
function canonical(version: string): Segment[] {
  const all = segments(version)
  const firstString = all.findIndex((s) => typeof s === 'string')
  const release = firstString === -1 ? all : all.slice(0, firstString)
  const pre = firstString === -1 ? [] : all.slice(firstString)
  const trim = (list: Segment[]) => {
    let end = list.length
    while (end > 0 && list[end - 1] === 0n) end--
    return list.slice(0, end)
  }
  return [...trim(release), ...trim(pre)]
}

/** Gem::Version#<=>: negative, 0 or positive. Never throws (an unparsable version compares by its segments). */
export function compareGemVersions(a: string, b: string): number {
  if (a === b) return 0
  const left = canonical(a)
  const right = canonical(b)
  const limit = Math.max(left.length, right.length)
  for (let i = 0; i < limit; i++) {
    const l = left[i] ?? 0n
    const r = right[i] ?? 0n
    if (l === r) continue
    if (typeof l === 'string' && typeof r === 'bigint') return -1
    if (typeof l === 'bigint' && typeof r === 'string') return 1
    return l < r ? -1 : 1
  }
  return 0
}
