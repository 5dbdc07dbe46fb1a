import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP } from 'node:net'
import { TroveError, invalidField } from '../errors.js'

/**
 * Which addresses an upstream URL (or a redirect) may reach. Loopback, link-local, private and
 * other special ranges are refused unless the admin allowed them (`TROVE_ALLOWED_UPSTREAM_HOSTS`:
 * host names and CIDR ranges), so a remote repository cannot be pointed at the server's own
 * network (SSRF). The check runs on the resolved address at connect time, so DNS tricks and
 * redirects get no further than the first hop. IPv6 addresses that carry an IPv4 address
 * (IPv4-mapped, -compatible and -translated, NAT64, 6to4, Teredo) are judged by that address.
 */
export class UpstreamHostPolicy {
  private readonly allowedHosts = new Set<string>()
  private readonly allowedRanges = new BlockList()
  private readonly forbidden = new BlockList()

  constructor(allowed: readonly string[]) {
    for (const entry of allowed.map((e) => e.trim().toLowerCase()).filter((e) => e !== '')) {
      const [address = '', prefix, ...rest] = entry.split('/')
      const family = isIP(address)
      if (family === 0) {
        // A mistyped entry must not be silently ignored: the admin would think it allowed.
        if (prefix !== undefined || !HOST_NAME.test(entry)) throw invalidEntry(entry, 'neither a host name, an IP address nor a CIDR range')
        this.allowedHosts.add(entry.replace(/\.$/, ''))
      } else if (prefix !== undefined) {
        const bits = Number(prefix)
        if (rest.length > 0 || !/^\d+$/.test(prefix) || bits > (family === 6 ? 128 : 32)) throw invalidEntry(entry, 'not a valid CIDR range')
        this.allowedRanges.addSubnet(address, bits, family === 6 ? 'ipv6' : 'ipv4')
      } else {
        this.allowedRanges.addAddress(address, family === 6 ? 'ipv6' : 'ipv4')
      }
    }
    for (const [network, prefix] of [
      ['0.0.0.0', 8],
      ['10.0.0.0', 8],
      ['100.64.0.0', 10],
      ['127.0.0.0', 8],
      ['169.254.0.0', 16],
      ['172.16.0.0', 12],
      ['192.0.0.0', 24],
      ['192.168.0.0', 16],
      ['198.18.0.0', 15],
      ['224.0.0.0', 4],
      ['240.0.0.0', 4],
    ] as const) {
      this.forbidden.addSubnet(network, prefix, 'ipv4')
    }
    for (const [network, prefix] of [
      ['::', 127],
      // Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the operator's prefix
      // length, and the range is never globally reachable, so all of it is refused.
      ['64:ff9b:1::', 48],
      ['fc00::', 7],
      ['fe80::', 10],
      ['ff00::', 8],
    ] as const) {
      this.forbidden.addSubnet(network, prefix, 'ipv6')
    }
  }

  /**
   * Whether `address` (resolved from `hostname`) may be connected to. An IPv6 address that embeds
   * IPv4 addresses (see {@link embeddedIPv4}) is judged by those: `64:ff9b::10.0.0.1` reaches
   * 10.0.0.1 through a NAT64 gateway, so it is refused as 10.0.0.1 is, and allowed where 10.0.0.1 is.
   */
  isAllowed(hostname: string, address: string): boolean {
    if (this.allowedHosts.has(hostname.toLowerCase().replace(/\.$/, ''))) return true
    const bare = withoutZone(address)
    const family = isIP(bare) === 6 ? 'ipv6' : 'ipv4'
    if (this.allowedRanges.check(bare, family)) return true
    const embedded = family === 'ipv6' ? embeddedIPv4(bare) : []
    if (embedded.length > 0) return embedded.every((v4) => this.allowedRanges.check(v4, 'ipv4') || !this.forbidden.check(v4, 'ipv4'))
    return !this.forbidden.check(bare, family)
  }

  /** A `dns.lookup` replacement for undici's connector that refuses forbidden addresses. */
  readonly lookup = (
    hostname: string,
    options: object,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, [])
      const list = addresses as LookupAddress[]
      const permitted = list.filter((a) => this.isAllowed(hostname, a.address))
      if (permitted.length === 0) {
        const refused = new Error(
          `upstream host ${hostname} resolves to ${list.map((a) => spelled(a.address)).join(', ')}, a loopback, private or link-local address; ` +
            'allow it with TROVE_ALLOWED_UPSTREAM_HOSTS',
        ) as NodeJS.ErrnoException
        refused.code = 'EUPSTREAMFORBIDDEN'
        return callback(refused, [])
      }
      if ((options as { all?: boolean }).all) return callback(null, permitted)
      return callback(null, permitted[0]!.address, permitted[0]!.family)
    })
  }

  /**
   * Why `url` may not be requested, when its host is a literal address that is not allowed.
   * Node connects to a literal address without any lookup, so {@link lookup} never sees it:
   * every request (each redirect hop and token realm included) must be checked with this too.
   * Host names are left to {@link lookup}.
   */
  refusalOf(url: string | URL): string | undefined {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
    if (isIP(host) === 0 || this.isAllowed(host, host)) return undefined
    return `${spelled(host)} is a loopback, private or link-local address; allow it with TROVE_ALLOWED_UPSTREAM_HOSTS`
  }

  /** For configuration checks: refuses an upstream URL whose literal IP is forbidden. */
  assertUrl(url: string): void {
    const refusal = this.refusalOf(url)
    if (refusal) throw invalidField('url', `url: ${refusal}`)
  }
}

/** Host names as they appear in URLs (IDNs in their ASCII form). */
const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/

function invalidEntry(entry: string, why: string): TroveError {
  return new TroveError('BAD_REQUEST', `TROVE_ALLOWED_UPSTREAM_HOSTS: '${entry}' is ${why}`)
}

/**
 * IPv6 ranges whose addresses carry IPv4 addresses that a connection ends up reaching (through
 * the dual-stack socket, a NAT64 gateway, a 6to4 or Teredo relay), and where they sit: the index
 * of the 16-bit group each starts at, and whether its bits are inverted.
 */
const EMBEDDINGS: readonly {
  readonly range: BlockList
  readonly except?: BlockList
  readonly at: readonly { readonly group: number; readonly isInverted?: boolean }[]
}[] = [
  // IPv4-mapped (RFC 4291 §2.5.5.2): how dual-stack sockets spell IPv4 peers.
  { range: subnet('::ffff:0:0', 96), at: [{ group: 6 }] },
  // IPv4-compatible (RFC 4291 §2.5.5.1, deprecated); `::` and `::1` are the unspecified and
  // loopback addresses instead (§2.5.2, §2.5.3), refused as such.
  { range: subnet('::', 96), except: subnet('::', 127), at: [{ group: 6 }] },
  // IPv4-translated (RFC 2765, SIIT).
  { range: subnet('::ffff:0:0:0', 96), at: [{ group: 6 }] },
  // The NAT64 well-known prefix (RFC 6052 §2.1).
  { range: subnet('64:ff9b::', 96), at: [{ group: 6 }] },
  // 6to4 (RFC 3056 §2): 2002:AABB:CCDD::/48 is the site behind A.B.C.D.
  { range: subnet('2002::', 16), at: [{ group: 1 }] },
  // Teredo (RFC 4380 §4): the server's address, then the client's with every bit inverted.
  { range: subnet('2001::', 32), at: [{ group: 2 }, { group: 6, isInverted: true }] },
]

function subnet(network: string, prefix: number): BlockList {
  const list = new BlockList()
  list.addSubnet(network, prefix, 'ipv6')
  return list
}

/** The IPv4 addresses an IPv6 address embeds (see {@link EMBEDDINGS}); none for other addresses. */
export function embeddedIPv4(address: string): string[] {
  const bare = withoutZone(address)
  if (isIP(bare) !== 6) return []
  const embedding = EMBEDDINGS.find((e) => e.range.check(bare, 'ipv6') && !e.except?.check(bare, 'ipv6'))
  if (!embedding) return []
  const groups = groupsOf(bare)
  return embedding.at.map(({ group, isInverted }) => {
    const mask = isInverted ? 0xffff : 0
    const high = groups[group]! ^ mask
    const low = groups[group + 1]! ^ mask
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`
  })
}

/** The eight 16-bit groups of an IPv6 address that `isIP` accepted (zone removed). */
function groupsOf(address: string): number[] {
  let text = address.toLowerCase()
  // A trailing dotted quad (`::ffff:10.0.0.1`) is the last two groups.
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number)
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', rest] = text.split('::')
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)))
  const high = parse(head)
  const low = rest === undefined ? [] : parse(rest)
  return [...high, ...new Array<number>(8 - high.length - low.length).fill(0), ...low]
}

function withoutZone(address: string): string {
  const percent = address.indexOf('%')
  return percent === -1 ? address : address.slice(0, percent)
}

/** An address as messages show it: with the IPv4 addresses it embeds, which are what was judged. */
function spelled(address: string): string {
  const embedded = embeddedIPv4(address)
  return embedded.length === 0 ? address : `${address} (embedding ${embedded.join(' and ')})`
}
