import * as pep440 from '@renovatebot/pep440'

/**
 * PEP 440 ordering with @renovatebot/pep440. Strings that are not PEP 440 versions (legacy
 * setuptools versions such as `0.1-bulbasaur`) sort before every valid version and among
 * themselves by setuptools' LegacyVersion key, as pip's `packaging` < 22 did.
 */
export function comparePep440(a: string, b: string): number {
  const va = pep440.valid(a) !== null
  const vb = pep440.valid(b) !== null
  if (va && vb) return Math.sign(pep440.compare(a, b))
  if (va !== vb) return va ? 1 : -1
  return compareKeys(legacyKey(a), legacyKey(b))
}

const LEGACY_REPLACE: Record<string, string> = { pre: 'c', preview: 'c', '-': 'final-', rc: 'c', dev: '@' }

/** setuptools' `_legacy_cmpkey`: numbers zero-padded, words prefixed with `*`, trailing finals dropped. */
function legacyKey(version: string): string[] {
  const parts: string[] = []
  for (const raw of [...version.toLowerCase().split(/(\d+|[a-z]+|\.|-)/), 'final']) {
    if (raw === '' || raw === '.') continue
    const part = LEGACY_REPLACE[raw] ?? raw
    if (part === '') continue
    const token = /^[0-9]/.test(part) ? part.padStart(8, '0') : `*${part}`
    if (token.startsWith('*')) {
      if (token < '*final') while (parts.length > 0 && parts[parts.length - 1] === '*final-') parts.pop()
      while (parts.length > 0 && parts[parts.length - 1] === '00000000') parts.pop()
    }
    parts.push(token)
  }
  return parts
}

function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1
  }
  return a.length - b.length === 0 ? 0 : a.length < b.length ? -1 : 1
}
