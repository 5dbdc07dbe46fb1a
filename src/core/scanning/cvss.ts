/**
 * CVSS v3.0 and v3.1 base scores from vector strings (FIRST, "CVSS v3.1 Specification", section 7
 * and appendix A). OSV records carry the vector (`severity: [{type: "CVSS_V3", score: "CVSS:3.1/…"}]`),
 * not the number, so reports and policies compute it here. Only the base metrics count; temporal
 * and environmental metrics in a vector are accepted and ignored.
 */

export interface CvssScore {
  /** `3.0` or `3.1`. */
  readonly version: string
  /** The base score, 0.0 to 10.0, one decimal. */
  readonly score: number
  /** The vector as given. */
  readonly vector: string
}

/** The qualitative levels of CVSS v3 ("Qualitative Severity Rating Scale"). */
export type CvssRating = 'none' | 'low' | 'medium' | 'high' | 'critical'

const WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const
/** Privileges Required weighs more when the scope changes. */
const PR_UNCHANGED = { N: 0.85, L: 0.62, H: 0.27 } as const
const PR_CHANGED = { N: 0.85, L: 0.68, H: 0.5 } as const

const BASE_METRICS = ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'] as const

/**
 * The base score of a CVSS v3.x vector (`CVSS:3.1/AV:N/AC:L/…`), or undefined when the string is
 * not a complete, valid v3 vector (a CVSS v2 or v4 vector, a missing or unknown metric value).
 */
export function cvssV3BaseScore(vector: string): CvssScore | undefined {
  const parts = vector.trim().split('/')
  const head = /^CVSS:(3\.[01])$/.exec(parts[0] ?? '')
  if (!head) return undefined
  const metrics = new Map<string, string>()
  for (const part of parts.slice(1)) {
    const [key, value, ...rest] = part.split(':')
    if (!key || !value || rest.length > 0 || metrics.has(key)) return undefined
    metrics.set(key, value)
  }
  if (BASE_METRICS.some((m) => !metrics.has(m))) return undefined
  const scope = metrics.get('S')
  if (scope !== 'U' && scope !== 'C') return undefined
  const isChanged = scope === 'C'
  const av = pick(WEIGHTS.AV, metrics.get('AV'))
  const ac = pick(WEIGHTS.AC, metrics.get('AC'))
  const pr = pick(isChanged ? PR_CHANGED : PR_UNCHANGED, metrics.get('PR'))
  const ui = pick(WEIGHTS.UI, metrics.get('UI'))
  const c = pick(WEIGHTS.CIA, metrics.get('C'))
  const i = pick(WEIGHTS.CIA, metrics.get('I'))
  const a = pick(WEIGHTS.CIA, metrics.get('A'))
  if ([av, ac, pr, ui, c, i, a].some((w) => w === undefined)) return undefined

  const version = head[1]!
  const roundUp = version === '3.0' ? roundUpV30 : roundUpV31
  const iss = 1 - (1 - c!) * (1 - i!) * (1 - a!)
  const impact = isChanged ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss
  const exploitability = 8.22 * av! * ac! * pr! * ui!
  let score = 0
  if (impact > 0) score = roundUp(Math.min((isChanged ? 1.08 : 1) * (impact + exploitability), 10))
  return { version, score, vector }
}

/** The rating of a base score. */
export function cvssRating(score: number): CvssRating {
  if (score === 0) return 'none'
  if (score < 4) return 'low'
  if (score < 7) return 'medium'
  if (score < 9) return 'high'
  return 'critical'
}

function pick<T extends Record<string, number>>(table: T, value: string | undefined): number | undefined {
  return value !== undefined && Object.hasOwn(table, value) ? table[value as keyof T] : undefined
}

/**
 * v3.1's Roundup (appendix A): the smallest number with one decimal at or above the input,
 * computed on integers so that 4.000000000000001 does not become 4.1.
 */
function roundUpV31(value: number): number {
  const integer = Math.round(value * 100_000)
  return integer % 10_000 === 0 ? integer / 100_000 : (Math.floor(integer / 10_000) + 1) / 10
}

/** v3.0 defined Roundup as a plain ceiling to one decimal. */
function roundUpV30(value: number): number {
  return Math.ceil(value * 10) / 10
}
