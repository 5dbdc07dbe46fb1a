/**
 * Debian's version ordering (dpkg `verrevcmp`, deb-version(7)): `[epoch:]upstream[-revision]`;
 * non-digit runs compare character by character with letters before non-letters and `~` before
 * everything, even the end of the string; digit runs compare numerically.
 */
export function compareDpkg(a: string, b: string): number {
  const pa = parseDpkg(a)
  const pb = parseDpkg(b)
  if (pa.epoch !== pb.epoch) return pa.epoch < pb.epoch ? -1 : 1
  return Math.sign(verrevcmp(pa.upstream, pb.upstream) || verrevcmp(pa.revision, pb.revision))
}

function parseDpkg(version: string): { epoch: bigint; upstream: string; revision: string } {
  let rest = version.trim()
  let epoch = 0n
  const colon = rest.indexOf(':')
  if (colon >= 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = BigInt(rest.slice(0, colon))
    rest = rest.slice(colon + 1)
  }
  const dash = rest.lastIndexOf('-')
  return dash >= 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' }
}

function order(c: string | undefined): number {
  if (c === undefined) return 0
  if (c === '~') return -1
  if (c >= '0' && c <= '9') return 0
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return c.charCodeAt(0)
  return c.charCodeAt(0) + 256
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9'

function verrevcmp(a: string, b: string): number {
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    let firstDiff = 0
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(a[i])
      const bc = order(b[j])
      if (ac !== bc) return ac - bc
      i++
      j++
    }
    while (a[i] === '0') i++
    while (b[j] === '0') j++
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j)
      i++
      j++
    }
    if (isDigit(a[i])) return 1
    if (isDigit(b[j])) return -1
    if (firstDiff !== 0) return firstDiff
  }
  return 0
}
