import picomatch from 'picomatch'

/**
 * Which paths of one repository a caller may do one action on. Files and folders differ: a file
 * is allowed when a rule names it; a folder is browsable when a rule may allow something at or
 * below it, so that a caller allowed `org/acme/**` can walk down from the root to `org/acme`.
 */
export interface PathAccess {
  /** Whether every path is allowed (no pattern narrows it). */
  readonly isEverywhere: boolean
  /** Whether no path is allowed. */
  readonly isNowhere: boolean
  /** May act on the file at `path` (or on an item whose kind is unknown, taken as a file). */
  file(path: string): boolean
  /** May browse the folder at `path` (`''` is the root): something at or below it may be allowed. */
  folder(path: string): boolean
}

export const EVERYWHERE: PathAccess = { isEverywhere: true, isNowhere: false, file: () => true, folder: () => true }
export const NOWHERE: PathAccess = { isEverywhere: false, isNowhere: true, file: () => false, folder: () => false }

/** What any one of `accesses` allows. */
export function anyOf(accesses: readonly PathAccess[]): PathAccess {
  const live = accesses.filter((a) => !a.isNowhere)
  if (live.length === 0) return NOWHERE
  if (live.length === 1) return live[0]!
  if (live.some((a) => a.isEverywhere)) return EVERYWHERE
  return {
    isEverywhere: false,
    isNowhere: false,
    file: (path) => live.some((a) => a.file(path)),
    folder: (path) => live.some((a) => a.folder(path)),
  }
}

/** What all of `accesses` allow (for a folder: each may allow something in it, not necessarily the same thing). */
export function allOf(accesses: readonly PathAccess[]): PathAccess {
  if (accesses.some((a) => a.isNowhere)) return NOWHERE
  const narrowing = accesses.filter((a) => !a.isEverywhere)
  if (narrowing.length === 0) return EVERYWHERE
  if (narrowing.length === 1) return narrowing[0]!
  return {
    isEverywhere: false,
    isNowhere: false,
    file: (path) => narrowing.every((a) => a.file(path)),
    folder: (path) => narrowing.every((a) => a.folder(path)),
  }
}

/**
 * The paths that match one of the Ant-style `includes` (all paths when there are none) and none
 * of the `excludes`, matched as Artifactory does, relative to the repository root, dot files
 * included. A folder is browsable when an include pattern may match below it (its leading
 * segments match the folder's) and no exclude pattern matches the folder itself: `secret/**`
 * hides the folder `secret`, `**\/*.jar` hides only the files.
 */
export function patternAccess(includes: readonly string[], excludes: readonly string[]): PathAccess {
  // `**` and `**/*` match every path there can be a file at (the root is none).
  if (excludes.length === 0 && (includes.length === 0 || includes.some((p) => p === '**' || p === '**/*'))) return EVERYWHERE
  const isIncluded = includes.length === 0 ? () => true : picomatch([...includes], OPTIONS)
  const isExcluded = excludes.length === 0 ? () => false : picomatch([...excludes], OPTIONS)
  // Compiled when a folder is first asked about: most questions are about files.
  let prefixes: ((folder: string) => boolean)[] | undefined
  const leadsTo = (folder: string) => (prefixes ??= includes.map(prefixMatcher)).some((p) => p(folder))
  return {
    isEverywhere: false,
    isNowhere: false,
    file: (path) => isIncluded(path) && !isExcluded(path),
    folder: (path) => !(path !== '' && isExcluded(path)) && (includes.length === 0 || isIncluded(path) || leadsTo(path)),
  }
}

const OPTIONS = { dot: true } as const

/**
 * Whether a folder is a possible beginning of a path the pattern matches: its segments match the
 * pattern's leading segments one by one, a `**` segment matching any number of them. A pattern
 * whose segments cannot be told apart (a slash inside braces) or that negates answers only for
 * what it matches whole.
 */
function prefixMatcher(pattern: string): (folder: string) => boolean {
  const scan = picomatch.scan(pattern, { parts: true })
  const parts = scan.parts ?? [pattern]
  if (scan.negated || parts.some((p) => p.includes('/'))) return () => false
  const segments = parts.map((part) => (part === '**' ? GLOBSTAR : picomatch(part, OPTIONS)))
  return (folder) => {
    if (folder === '') return true
    const names = folder.split('/')
    // The (pattern segment, folder segment) pairs already found not to lead anywhere: keeps `**/**/…` linear.
    const failed = new Set<number>()
    const walk = (i: number, j: number): boolean => {
      if (j === names.length) return true
      if (i === segments.length) return false
      const key = i * (names.length + 1) + j
      if (failed.has(key)) return false
      const segment = segments[i]!
      const leads = segment === GLOBSTAR ? walk(i + 1, j) || walk(i, j + 1) : segment(names[j]!) && walk(i + 1, j + 1)
      if (!leads) failed.add(key)
      return leads
    }
    return walk(0, 0)
  }
}

const GLOBSTAR = Symbol('**')
