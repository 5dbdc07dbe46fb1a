/** The `sso` and `loginLimits` settings: defaults, secrets from the environment, what is refused. */
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config/config.js'

const oidc = { id: 'corp', issuer: 'https://sso.corp.test/realms/main', clientId: 'trove' }

describe('single sign-on and login limit settings', () => {
  it('has defaults: no providers, 10 failures per account and 50 per address in 15 minutes block for 15 minutes', () => {
    const config = loadConfig({ env: {} })
    expect(config.sso).toEqual({ providers: [], loginTimeoutSecs: 600 })
    expect(config.loginLimits).toEqual({ maxFailuresPerAccount: 10, maxFailuresPerAddress: 50, windowSecs: 900, blockSecs: 900 })
  })

  it('fills OIDC and GitHub defaults and takes client secrets from the environment, which win', () => {
    const config = loadConfig({
      env: { TROVE_SSO_CORP_CLIENT_SECRET: 'from-env', TROVE_SSO_GH_ENT_CLIENT_SECRET: 'gh-env', TROVE_LOGIN_MAX_FAILURES_PER_ACCOUNT: '5' },
      overrides: { sso: { providers: [{ ...oidc, clientSecret: 'from-file' }, { id: 'gh-ent', type: 'github', clientId: 'x' }] } },
    })
    expect(config.warnings).toEqual([])
    expect(config.loginLimits.maxFailuresPerAccount).toBe(5)
    expect(config.sso.providers[0]).toMatchObject({ type: 'oidc', clientSecret: 'from-env', scopes: ['openid', 'profile', 'email'], groupsClaim: 'groups', usernameClaim: 'preferred_username', adminGroups: [] })
    expect(config.sso.providers[1]).toMatchObject({ type: 'github', clientSecret: 'gh-env', apiUrl: 'https://api.github.com', allowedOrganizations: [] })
  })

  it.each([
    ['a missing client secret', [{ ...oidc }], /clientSecret: required \(or set TROVE_SSO_CORP_CLIENT_SECRET\)/],
    ['an http issuer on a non-loopback host', [{ ...oidc, clientSecret: 's', issuer: 'http://sso.corp.test' }], /issuer: must be https/],
    ['two providers with one id', [{ ...oidc, clientSecret: 's' }, { ...oidc, clientSecret: 's' }], /provider ids must be unique/],
    ['a bad provider id', [{ ...oidc, clientSecret: 's', id: 'Corp SSO' }], /id/],
  ])('refuses %s', (_what, providers, message) => {
    expect(() => loadConfig({ env: {}, overrides: { sso: { providers } } })).toThrow(ConfigError)
    expect(() => loadConfig({ env: {}, overrides: { sso: { providers } } })).toThrow(message)
  })
})
