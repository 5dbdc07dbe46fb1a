import type { LookupAddress } from 'node:dns'
import { isIP } from 'node:net'
import { describe, expect, it } from 'vitest'
import { isTroveError } from '../errors.js'
import { parseBearerChallenge } from './upstream-client.js'
import { UpstreamHostPolicy, embeddedIPv4 } from './upstream-hosts.js'

describe('UpstreamHostPolicy', () => {
  const strict = new UpstreamHostPolicy([])

  describe('without an allow list', () => {
    it.each([
      ['loopback', '127.0.0.1'],
      ['loopback, anywhere in 127/8', '127.255.0.9'],
      ['this network', '0.0.0.0'],
      ['private 10/8', '10.0.0.1'],
      ['private 10/8, last address', '10.255.255.255'],
      ['private 172.16/12, first', '172.16.0.1'],
      ['private 172.16/12, last', '172.31.255.254'],
      ['private 192.168/16', '192.168.1.1'],
      ['link-local 169.254/16 (cloud metadata)', '169.254.169.254'],
      ['carrier-grade NAT 100.64/10', '100.64.0.1'],
      ['multicast', '224.0.0.1'],
      ['IPv6 loopback', '::1'],
      ['IPv6 unspecified', '::'],
      ['IPv6 link-local', 'fe80::1'],
      ['IPv6 link-local, upper end of fe80::/10', 'febf::1'],
      ['IPv6 unique local', 'fd12:3456::1'],
      ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
      ['IPv4-mapped private', '::ffff:10.0.0.1'],
      ['IPv4-mapped, hex form', '::ffff:7f00:1'],
    ])('refuses %s (%s)', (_label, address) => {
      expect(strict.isAllowed('upstream.example', address)).toBe(false)
    })

    it.each([
      ['a public IPv4 address', '93.184.216.34'],
      ['just below 172.16/12', '172.15.255.255'],
      ['just above 172.16/12', '172.32.0.1'],
      ['next to 192.168/16', '192.169.0.1'],
      ['next to 169.254/16', '169.255.0.1'],
      ['next to 10/8', '11.0.0.1'],
      ['a public IPv6 address', '2001:4860:4860::8888'],
      ['another public IPv6 address', '2606:4700:4700::1111'],
      ['a public IPv4 address, IPv4-mapped', '::ffff:93.184.216.34'],
    ])('allows %s (%s)', (_label, address) => {
      expect(strict.isAllowed('upstream.example', address)).toBe(true)
    })

    it('refuses a literal forbidden address in a URL, naming the setting that allows it', () => {
      for (const url of ['http://127.0.0.1:8081/x', 'http://[::1]/', 'https://169.254.169.254/latest/meta-data', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/']) {
        expect(strict.refusalOf(url), url).toMatch(/TROVE_ALLOWED_UPSTREAM_HOSTS/)
        expect(() => strict.assertUrl(url)).toThrow(/TROVE_ALLOWED_UPSTREAM_HOSTS/)
      }
      for (const url of ['https://registry.npmjs.example/', 'http://93.184.216.34/', 'http://localhost:8080/']) {
        // Host names are checked when they are resolved, not here.
        expect(strict.refusalOf(url), url).toBeUndefined()
        expect(() => strict.assertUrl(url)).not.toThrow()
      }
    })

    it('assertUrl throws a BAD_REQUEST that names the url field', () => {
      let thrown: unknown
      try {
        strict.assertUrl('http://10.1.2.3/')
      } catch (err) {
        thrown = err
      }
      expect(isTroveError(thrown) && thrown.code).toBe('BAD_REQUEST')
      expect((thrown as Error).message).toMatch(/^url: 10\.1\.2\.3 is a loopback, private or link-local address/)
    })
  })

  describe('IPv6 spellings of IPv4 addresses (judged by the IPv4 address they carry)', () => {
    /** `a.b.c.d` as the two hex groups IPv6 writes it in: 10.0.0.1 → `a00:1`. */
    const hex = (v4: string) => {
      const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number)
      return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
    }
    /** Every form that carries `v4`, each spelled as people write it. */
    const spellings = (v4: string): [string, string][] => [
      ['IPv4-mapped, dotted', `::ffff:${v4}`],
      ['IPv4-mapped, hex', `::ffff:${hex(v4)}`],
      ['IPv4-compatible, dotted', `::${v4}`],
      ['IPv4-compatible, hex', `::${hex(v4)}`],
      ['IPv4-translated (SIIT)', `::ffff:0:${v4}`],
      ['NAT64, hex', `64:ff9b::${hex(v4)}`],
      ['NAT64, dotted', `64:ff9b::${v4}`],
      ['NAT64, written out', `0064:ff9b:0000:0000:0000:0000:${hex(v4)}`],
      ['6to4, site prefix', `2002:${hex(v4)}::`],
      ['6to4, a host in the site', `2002:${hex(v4)}:1::1`],
    ]
    const forbidden = [
      ['loopback', '127.0.0.1'],
      ['loopback, elsewhere in 127/8', '127.1.2.3'],
      // (0.0.0.0 itself is below: `::0.0.0.0` is `::`, the unspecified address.)
      ['this network 0/8', '0.1.2.3'],
      ['private 10/8', '10.0.0.1'],
      ['private 172.16/12', '172.16.0.1'],
      ['private 172.16/12, last', '172.31.255.254'],
      ['private 192.168/16', '192.168.1.1'],
      ['link-local 169.254/16', '169.254.0.1'],
      ['cloud metadata', '169.254.169.254'],
      ['carrier-grade NAT 100.64/10', '100.64.0.1'],
      ['carrier-grade NAT 100.64/10, last', '100.127.255.254'],
    ] as const

    it.each(forbidden.flatMap(([range, v4]) => spellings(v4).map(([form, v6]) => [form, range, v6, v4] as const)))(
      'refuses %s of %s (%s)',
      (_form, _range, v6, v4) => {
        expect(isIP(v6)).toBe(6)
        expect(embeddedIPv4(v6)).toEqual([v4])
        expect(strict.isAllowed('upstream.example', v6)).toBe(false)
        const refusal = strict.refusalOf(`http://[${v6}]:8080/x`)
        expect(refusal).toMatch(/TROVE_ALLOWED_UPSTREAM_HOSTS/)
        expect(refusal).toContain(`embedding ${v4}`)
      },
    )

    it.each([
      ['::ffff:127.0.0.1'],
      ['::ffff:7f00:1'],
      ['::127.0.0.1'],
      ['64:ff9b::7f00:1'],
      ['64:ff9b::10.0.0.1'],
      ['2002:7f00:0001::'],
      ['2002:0a00:0001::1'],
      ['2002:a9fe:a9fe::'],
      ['::ffff:0.0.0.0'],
      ['64:ff9b::'],
      ['2002::'],
      // Teredo: the client's address (last 32 bits) is inverted: 7f00:0001 → 80ff:fffe.
      ['2001:0:4136:e378:8000:63bf:80ff:fffe'],
      // Local-use NAT64 (RFC 8215) is refused whole: where it puts the IPv4 address varies.
      ['64:ff9b:1::5db8:d822'],
    ])('refuses %s, as the issue spells it', (v6) => {
      expect(strict.isAllowed('upstream.example', v6)).toBe(false)
      expect(strict.refusalOf(`http://[${v6}]/`)).toMatch(/TROVE_ALLOWED_UPSTREAM_HOSTS/)
    })

    it.each([
      ['a public IPv6 address', '2001:4860:4860::8888', []],
      ['another public IPv6 address', '2606:4700:4700::1111', []],
      ['a third one', '2a00:1450:4001:80b::200e', []],
      ['next to the NAT64 prefix', '64:ff9c::7f00:1', []],
      ['next to 6to4', '2003:7f00:1::1', []],
      ['NAT64 of a public address', '64:ff9b::93.184.216.34', ['93.184.216.34']],
      ['6to4 of a public address', '2002:5db8:d822::1', ['93.184.216.34']],
      ['IPv4-mapped public, hex', '::ffff:5db8:d822', ['93.184.216.34']],
      ['Teredo between public addresses (RFC 4380 example)', '2001:0:4136:e378:8000:63bf:3fff:fdd2', ['65.54.227.120', '192.0.2.45']],
    ])('allows %s (%s)', (_label, v6, embedded) => {
      expect(embeddedIPv4(v6)).toEqual(embedded)
      expect(strict.isAllowed('upstream.example', v6)).toBe(true)
      expect(strict.refusalOf(`http://[${v6}]/`)).toBeUndefined()
    })

    it('keeps :: and ::1 what they are (unspecified, loopback), not IPv4-compatible addresses', () => {
      expect(embeddedIPv4('::')).toEqual([])
      expect(embeddedIPv4('::1')).toEqual([])
      expect(strict.refusalOf('http://[::1]/')).toBe('::1 is a loopback, private or link-local address; allow it with TROVE_ALLOWED_UPSTREAM_HOSTS')
    })

    it('allows an embedded address where the allow list allows the IPv4 address, and only there', () => {
      const policy = new UpstreamHostPolicy(['10.0.0.0/8'])

      expect(policy.isAllowed('a', '64:ff9b::10.0.0.1')).toBe(true)
      expect(policy.isAllowed('a', '2002:a00:1::1')).toBe(true)
      expect(policy.isAllowed('a', '::ffff:10.1.2.3')).toBe(true)
      expect(policy.isAllowed('a', '64:ff9b::7f00:1')).toBe(false)
      expect(policy.isAllowed('a', '2002:c0a8:101::1')).toBe(false)
    })

    it('judges a host name that resolves to an embedding address by the address it embeds', () => {
      const policy = new UpstreamHostPolicy([])
      expect(policy.isAllowed('nat64.example', '64:ff9b::a9fe:a9fe')).toBe(false)
      expect(policy.isAllowed('nat64.example', '64:ff9b::5db8:d822')).toBe(true)
      // A zone index does not hide the address.
      expect(policy.isAllowed('x', '::ffff:7f00:1%eth0')).toBe(false)
    })
  })

  describe('with an allow list', () => {
    it('allows a host name whatever it resolves to, and only that name', () => {
      const policy = new UpstreamHostPolicy(['registry.internal', 'Mirror.Corp.'])

      expect(policy.isAllowed('registry.internal', '10.1.2.3')).toBe(true)
      expect(policy.isAllowed('REGISTRY.internal', '127.0.0.1')).toBe(true)
      expect(policy.isAllowed('mirror.corp', '192.168.0.5')).toBe(true)
      expect(policy.isAllowed('mirror.corp.', '192.168.0.5')).toBe(true)
      expect(policy.isAllowed('other.internal', '10.1.2.3')).toBe(false)
      // A name is not an address: the literal address stays refused.
      expect(policy.refusalOf('http://10.1.2.3/')).toBeDefined()
    })

    it('allows CIDR ranges and single addresses, and nothing next to them', () => {
      const policy = new UpstreamHostPolicy(['10.20.0.0/16', '127.0.0.1', 'fd00:1::/32', '::1'])

      expect(policy.isAllowed('a', '10.20.0.1')).toBe(true)
      expect(policy.isAllowed('a', '10.20.255.255')).toBe(true)
      expect(policy.isAllowed('a', '10.21.0.1')).toBe(false)
      expect(policy.isAllowed('a', '127.0.0.1')).toBe(true)
      expect(policy.isAllowed('a', '127.0.0.2')).toBe(false)
      expect(policy.isAllowed('a', 'fd00:1:2::3')).toBe(true)
      expect(policy.isAllowed('a', 'fd00:2::3')).toBe(false)
      expect(policy.isAllowed('a', '::1')).toBe(true)
      expect(policy.refusalOf('http://127.0.0.1:9000/')).toBeUndefined()
      expect(policy.refusalOf('http://10.20.3.4/')).toBeUndefined()
      expect(policy.refusalOf('http://10.21.3.4/')).toBeDefined()
      // Public addresses stay allowed.
      expect(policy.isAllowed('a', '93.184.216.34')).toBe(true)
    })

    it('ignores blank entries and surrounding spaces', () => {
      const policy = new UpstreamHostPolicy([' 127.0.0.1 ', '', '  '])
      expect(policy.isAllowed('x', '127.0.0.1')).toBe(true)
    })

    it.each([['10.0.0.0/33'], ['10.0.0.0/abc'], ['10.0.0.0/8/2'], ['fd00::/129'], ['localhost:8080'], ['*.internal'], ['host/8'], ['http://host']])(
      'refuses the malformed entry %s instead of silently ignoring it',
      (entry) => {
        expect(() => new UpstreamHostPolicy([entry])).toThrow(/TROVE_ALLOWED_UPSTREAM_HOSTS/)
      },
    )
  })

  describe('lookup (the connect-time check)', () => {
    const lookup = (policy: UpstreamHostPolicy, hostname: string, all: boolean) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[] }>((resolve) =>
        policy.lookup(hostname, { all }, (err, address) => resolve({ err, address })),
      )

    it('refuses a name that resolves only to forbidden addresses, naming the name and the setting', async () => {
      const { err } = await lookup(strict, 'localhost', true)

      expect(err?.code).toBe('EUPSTREAMFORBIDDEN')
      expect(err?.message).toMatch(/localhost/)
      expect(err?.message).toMatch(/TROVE_ALLOWED_UPSTREAM_HOSTS/)
    })

    it('lets an allowed name through, in the form the caller asked for', async () => {
      const byName = new UpstreamHostPolicy(['localhost'])

      const all = await lookup(byName, 'localhost', true)
      const one = await lookup(byName, 'localhost', false)

      expect(all.err).toBeNull()
      expect(Array.isArray(all.address) && all.address.length).toBeGreaterThan(0)
      expect(one.err).toBeNull()
      expect(typeof one.address).toBe('string')
    })

    it('keeps only the allowed addresses of a name', async () => {
      const onlyV4 = new UpstreamHostPolicy(['127.0.0.1'])

      const { err, address } = await lookup(onlyV4, 'localhost', true)

      expect(err).toBeNull()
      expect((address as LookupAddress[]).map((a) => a.address)).toEqual(['127.0.0.1'])
    })
  })
})

describe('parseBearerChallenge', () => {
  it('reads realm, service and scope as registries send them', () => {
    expect(parseBearerChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:library/alpine:pull"')).toEqual({
      realm: 'https://auth.example/token',
      service: 'registry.example',
      scope: 'repository:library/alpine:pull',
    })
  })

  it('accepts any case of the scheme and of parameter names, spaces after commas, and any order', () => {
    expect(parseBearerChallenge('bearer Scope="a:b:pull", Realm="http://127.0.0.1:5000/token", SERVICE="x"')).toEqual({
      realm: 'http://127.0.0.1:5000/token',
      service: 'x',
      scope: 'a:b:pull',
    })
  })

  it('keeps commas inside quoted values, and ignores parameters it does not use', () => {
    expect(parseBearerChallenge('Bearer realm="https://a/token",scope="repository:x:pull,push",error="insufficient_scope"')).toEqual({
      realm: 'https://a/token',
      service: undefined,
      scope: 'repository:x:pull,push',
    })
  })

  it('returns undefined for anything that is not a bearer challenge with a realm', () => {
    expect(parseBearerChallenge(undefined)).toBeUndefined()
    expect(parseBearerChallenge('')).toBeUndefined()
    expect(parseBearerChallenge('Basic realm="Trove"')).toBeUndefined()
    expect(parseBearerChallenge('Bearer service="x"')).toBeUndefined()
    expect(parseBearerChallenge('Bearer')).toBeUndefined()
    expect(parseBearerChallenge('Bearerrealm="x"')).toBeUndefined()
  })
})
