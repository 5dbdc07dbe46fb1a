import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP } from 'node:net'
import { TroveError } from '../errors.js'

/**
 * Which addresses an upstream URL (or a redirect) may reach. Loopback, link-local, private and
 * other special ranges are refused unless the admin allowed them (`TROVE_ALLOWED_UPSTREAM_HOSTS`:
 * host names and CIDR ranges), so a remote repository cannot be pointed at the server's own
 * network (SSRF). The check runs on the resolved address at connect time, so DNS tricks and
 * redirects get no further than the first hop.
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
    // No rule for IPv4-mapped addresses (::ffff:0:0/96): BlockList already checks them against the
    // IPv4 rules above, and such a rule would match every IPv4 address, public ones included.
    for (const [network, prefix] of [
      ['::', 127],
      ['fc00::', 7],
      ['fe80::', 10],
      ['ff00::', 8],
    ] as const) {
      this.forbidden.addSubnet(network, prefix, 'ipv6')
    }
  }

  /** Whether `address` (resolved from `hostname`) may be connected to. */
  isAllowed(hostname: string, address: string): boolean {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (this.allowedHosts.has(hostname.toLowerCase().replace(/\.$/, '')) || this.allowedRanges.check(address, family)) return true
    return !this.forbidden.check(address, family)
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
          `upstream host ${hostname} resolves to ${list.map((a) => a.address).join(', ')}, a loopback, private or link-local address; ` +
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
    return `${host} is a loopback, private or link-local address; allow it with TROVE_ALLOWED_UPSTREAM_HOSTS`
  }

  /** For configuration checks: refuses an upstream URL whose literal IP is forbidden. */
  assertUrl(url: string): void {
    const refusal = this.refusalOf(url)
    if (refusal) throw new TroveError('BAD_REQUEST', `url: ${refusal}`)
  }
}

/** Host names as they appear in URLs (IDNs in their ASCII form). */
const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/

function invalidEntry(entry: string, why: string): TroveError {
  return new TroveError('BAD_REQUEST', `TROVE_ALLOWED_UPSTREAM_HOSTS: '${entry}' is ${why}`)
}
