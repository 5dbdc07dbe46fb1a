import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { RegistryTokenService, actionsOf, scopeAllows, scopeOf, scopePathAccess } from './registry-tokens.js'

describe('registry token scopes', () => {
  it("maps Docker's actions to Trove's", () => {
    expect(actionsOf(['pull'])).toEqual(['read'])
    expect(actionsOf(['pull', 'push'])).toEqual(['read', 'deploy'])
    expect(actionsOf(['delete', 'unknown'])).toEqual(['delete'])
    expect(actionsOf(['*'])).toEqual(['read', 'annotate', 'deploy', 'delete', 'manage'])
  })

  it('reads the access claim: the first name segment is the repository, the rest a path in it', () => {
    const scope = scopeOf([
      { type: 'repository', name: 'docker-local/team/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'docker-local/other', actions: [] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ])
    expect(scope).toEqual({ grants: [{ repoKey: 'docker-local', path: 'team/app', actions: ['read', 'deploy'] }], catalog: true })
  })

  it('allows an action on the named image and below it, and nothing else', () => {
    const scope = scopeOf([{ type: 'repository', name: 'docker-local/team/app', actions: ['pull'] }])
    expect(scopeAllows(scope, 'read', 'docker-local', 'team/app')).toBe(true)
    expect(scopeAllows(scope, 'read', 'docker-local', 'team/app/1.0/manifest.json')).toBe(true)
    expect(scopeAllows(scope, 'read', 'docker-local', 'team/application')).toBe(false)
    expect(scopeAllows(scope, 'read', 'docker-local', 'team')).toBe(false)
    expect(scopeAllows(scope, 'read', 'docker-local')).toBe(false)
    expect(scopeAllows(scope, 'deploy', 'docker-local', 'team/app')).toBe(false)
    expect(scopeAllows(scope, 'read', 'other-local', 'team/app')).toBe(false)
    // A grant on a whole repository covers every path, and the repository itself.
    const whole = scopeOf([{ type: 'repository', name: 'docker-local', actions: ['pull'] }])
    expect(scopeAllows(whole, 'read', 'docker-local')).toBe(true)
    expect(scopeAllows(whole, 'read', 'docker-local', 'any/image')).toBe(true)
  })

  it('lets the folders above a granted path be browsed, and no others', () => {
    const access = scopePathAccess(scopeOf([{ type: 'repository', name: 'docker-local/team/app', actions: ['pull'] }]), 'read', 'docker-local')
    expect(['', 'team', 'team/app', 'team/app/1.0'].map((f) => access.folder(f))).toEqual([true, true, true, true])
    expect(['other', 'team/application', 'teams'].map((f) => access.folder(f))).toEqual([false, false, false])
    expect(access.file('team/app/1.0/manifest.json')).toBe(true)
    expect(access.file('team')).toBe(false)
    expect(scopePathAccess(scopeOf([]), 'read', 'docker-local').isNowhere).toBe(true)
  })
})

describe('registry token verification', () => {
  let core: CoreFixture | undefined
  afterEach(async () => {
    vi.useRealTimers()
    await core?.cleanup()
  })

  it('accepts a token again and again until it expires, and never a tampered one', async () => {
    core = await createCoreFixture('sqlite')
    const tokens = new RegistryTokenService(core.metadata.db, { expirySecs: 60 })
    const { token } = await tokens.issue('alice', 'registry.test', [{ type: 'repository', name: 'docker-local/app', actions: ['pull'] }])
    const expected = { subject: 'alice', scope: { grants: [{ repoKey: 'docker-local', path: 'app', actions: ['read'] }], catalog: false }, expiresAt: expect.any(Number) }
    expect(await tokens.verify(token)).toEqual(expected)
    // Verified before: answered without checking the signature again, with the same result.
    expect(await tokens.verify(token)).toEqual(expected)
    const [header, payload, signature] = token.split('.')
    const otherPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'admin' })).toString('base64url')
    expect(await tokens.verify(`${header}.${otherPayload}.${signature}`)).toBeUndefined()
    expect(await tokens.verify(`${header}.${payload}.${signature![0] === 'A' ? 'B' : 'A'}${signature!.slice(1)}`)).toBeUndefined()

    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 61_000)
    expect(await tokens.verify(token)).toBeUndefined()
  })

  it('expires no later than the credential it was issued to', async () => {
    core = await createCoreFixture('sqlite')
    const tokens = new RegistryTokenService(core.metadata.db, { expirySecs: 300 })
    const notAfter = Date.now() + 20_000
    const issued = await tokens.issue('alice', 'registry.test', [], { accessTokenId: 'some-token', notAfter })
    expect(issued.expiresInSecs).toBeGreaterThanOrEqual(19)
    expect(issued.expiresInSecs).toBeLessThanOrEqual(20)
    const verified = await tokens.verify(issued.token)
    expect(verified?.accessTokenId).toBe('some-token')
    expect(verified!.expiresAt).toBeLessThanOrEqual(notAfter)
    // A credential that outlives the registry's own lifetime leaves it as it is.
    expect((await tokens.issue('alice', 'registry.test', [], { notAfter: Date.now() + 3_600_000 })).expiresInSecs).toBe(300)
  })
})
