import { describe, expect, it } from 'vitest'
import { checkMintingBound, describeScope, scopeCovers } from './token-minting.js'
import { parseTokenScope } from './token-service.js'

const scope = (text: string) => parseTokenScope(text)

describe('scope containment', () => {
  // [outer, inner, covered]: the relation docs/access.md ("Tokens") states.
  const cases: [string, string, boolean][] = [
    ['applied-permissions/user', 'applied-permissions/user', true],
    ['applied-permissions/user', 'applied-permissions/admin', true],
    ['applied-permissions/admin', 'applied-permissions/user', true],
    ['applied-permissions/user', 'applied-permissions/groups:a,b', true],
    ['applied-permissions/user', 'applied-permissions/roles:team:"Project Admin"', true],
    ['applied-permissions/groups:a,b', 'applied-permissions/groups:a', true],
    ['applied-permissions/groups:a,b', 'applied-permissions/groups:b,a', true],
    ['applied-permissions/groups:a', 'applied-permissions/groups:a,b', false],
    ['applied-permissions/groups:a', 'applied-permissions/groups:b', false],
    ['applied-permissions/groups:a', 'applied-permissions/user', false],
    ['applied-permissions/groups:a', 'applied-permissions/admin', false],
    ['applied-permissions/groups:a', 'applied-permissions/roles:team:Viewer', false],
    ['applied-permissions/roles:team:Developer', 'applied-permissions/roles:team:Viewer', true],
    ['applied-permissions/roles:team:Developer', 'applied-permissions/roles:team:Contributor,Viewer', true],
    ['applied-permissions/roles:team:Developer', 'applied-permissions/roles:team:Developer', true],
    ['applied-permissions/roles:team:"Project Admin"', 'applied-permissions/roles:team:Developer', true],
    ['applied-permissions/roles:team:Developer', 'applied-permissions/roles:team:"Project Admin"', false],
    ['applied-permissions/roles:team:Viewer', 'applied-permissions/roles:team:Contributor', false],
    ['applied-permissions/roles:team:Viewer', 'applied-permissions/roles:rival:Viewer', false],
    ['applied-permissions/roles:team:Viewer', 'applied-permissions/groups:a', false],
    ['applied-permissions/roles:team:Viewer', 'applied-permissions/user', false],
    ['applied-permissions/roles:team:Viewer', 'applied-permissions/admin', false],
    // Several entries: each wanted entry within one held entry.
    ['applied-permissions/roles:team:Viewer applied-permissions/groups:a', 'applied-permissions/groups:a applied-permissions/roles:team:Viewer', true],
    ['applied-permissions/roles:team:Viewer applied-permissions/roles:rival:Developer', 'applied-permissions/roles:rival:Contributor', true],
    ['applied-permissions/roles:team:Viewer', 'applied-permissions/roles:team:Viewer applied-permissions/groups:a', false],
    ['applied-permissions/roles:team:Developer', 'applied-permissions/roles:team:Owner', false],
  ]
  it.each(cases)('%s covers %s: %s', (outer, inner, covered) => {
    expect(scopeCovers(scope(outer), scope(inner))).toBe(covered)
  })

  it('covers nothing with a scope that grants nothing (a stored scope that no longer parses)', () => {
    expect(scopeCovers({ applied: [] }, scope('applied-permissions/roles:team:Viewer'))).toBe(false)
  })

  it('writes a scope back in the syntax it was read from', () => {
    for (const text of ['applied-permissions/user', 'applied-permissions/groups:a,b', 'applied-permissions/roles:team:"Project Admin",Viewer applied-permissions/admin']) {
      expect(scope(describeScope(scope(text)))).toEqual(scope(text))
    }
  })
})

describe('the minting bound', () => {
  const now = Date.parse('2030-01-01T00:00:00Z')
  const bound = { scope: scope('applied-permissions/roles:team:Developer'), notAfter: now + 300_000 }

  it('lets a credential create what it covers, expiring no later than itself', () => {
    expect(() => checkMintingBound(bound, scope('applied-permissions/roles:team:Viewer'), 'x', now + 300_000, now)).not.toThrow()
    expect(() => checkMintingBound({}, scope('applied-permissions/admin'), 'x', null, now)).not.toThrow()
  })

  it('refuses (DENIED) a broader scope, a later expiry and no expiry, saying why', () => {
    expect(() => checkMintingBound(bound, scope('applied-permissions/user'), 'applied-permissions/user', now + 1000, now)).toThrow(
      expect.objectContaining({ code: 'DENIED', message: expect.stringMatching(/roles:team:Developer.*cannot create a token scoped 'applied-permissions\/user'/) }),
    )
    expect(() => checkMintingBound(bound, scope('applied-permissions/roles:team:Viewer'), 'x', now + 300_001, now)).toThrow(
      expect.objectContaining({ code: 'DENIED', message: expect.stringMatching(/expires_in of at most 300 seconds/) }),
    )
    expect(() => checkMintingBound(bound, scope('applied-permissions/roles:team:Viewer'), 'x', null, now)).toThrow(expect.objectContaining({ code: 'DENIED' }))
  })
})
