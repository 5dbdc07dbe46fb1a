import type { LookupAddress } from 'node:dns'
import { describe, expect, it } from 'vitest'
import { isTroveError } from '../errors.js'
import { parseBearerChallenge } from './upstream-client.js'
import { UpstreamHostPolicy } from './upstream-hosts.js'

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
