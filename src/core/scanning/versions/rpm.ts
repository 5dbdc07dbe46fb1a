/**
 * RPM's version ordering: `[epoch:]version[-release]`, epochs numerically, then version and
 * release with `rpmvercmp` (alphanumeric segments, digits beat letters, `~` sorts before
 * everything and `^` after the end but before anything else). Of two equal versions, the one
 * without a release sorts first.
 */
export function compareRpm(a: string, b: string): number {
  const pa = parseRpm(a)
  const pb = parseRpm(b)
  if (pa.epoch !== pb.epoch) return pa.epoch < pb.epoch ? -1 : 1
  const byVersion = rpmvercmp(pa.version, pb.version)
  if (byVersion !== 0) return byVersion
  // A version without a release sorts before the same version with one (`1` < `1-0`).
  if (pa.release === undefined || pb.release === undefined) return pa.release === pb.release ? 0 : pa.release === undefined ? -1 : 1
  return rpmvercmp(pa.release, pb.release)
}

function parseRpm(text: string): { epoch: bigint; version: string; release: string | undefined } {
  let rest = text.trim()
  let epoch = 0n
  const colon = rest.indexOf(':')
  if (colon >= 0 && /^\d*$/.test(rest.slice(0, colon))) {
    epoch = BigInt(rest.slice(0, colon) || '0')
    rest = rest.slice(colon + 1)
  }
  const dash = rest.lastIndexOf('-')
  return dash >= 0 ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { epoch, version: rest, release: undefined }
}

const isAlnum = (c: string | undefined) => c !== undefined && /[A-Za-z0-9]/.test(c)
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9'
const isAlpha = (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c)

export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++
    // `~` sorts before everything, the end included.
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1
      if (b[j] !== '~') return -1
      i++
      j++
      continue
    }
    // `^` sorts after the end, before anything else.
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1
      if (j >= b.length) return 1
      if (a[i] !== '^') return 1
      if (b[j] !== '^') return -1
      i++
      j++
      continue
    }
    if (i >= a.length || j >= b.length) break
    const isNum = isDigit(a[i])
    const test = isNum ? isDigit : isAlpha
    let ei = i
    let ej = j
    while (ei < a.length && test(a[ei])) ei++
    while (ej < b.length && test(b[ej])) ej++
    let sa = a.slice(i, ei)
    let sb = b.slice(j, ej)
    // Segments of different kinds: a number is newer than letters.
    if (sb === '') return isNum ? 1 : -1
    if (isNum) {
      sa = sa.replace(/^0+/, '')
      sb = sb.replace(/^0+/, '')
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1
    }
    if (sa !== sb) return sa < sb ? -1 : 1
    i = ei
    j = ej
  }
  if (i >= a.length && j >= b.length) return 0
  return i >= a.length ? -1 : 1
}
