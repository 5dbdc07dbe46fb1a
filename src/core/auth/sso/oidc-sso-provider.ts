import * as oidc from 'openid-client'
import type { OidcProviderConfig } from '../../../config/config.js'
import { TroveError } from '../../errors.js'
import {
  SsoRefusedError,
  claimAt,
  groupNames,
  type AuthorizationCallback,
  type AuthorizationRequest,
  type SsoIdentity,
  type SsoProvider,
} from './sso-provider.js'

const TIMEOUT_SECS = 10

/**
 * An OpenID Connect provider (Keycloak, Entra ID, Google, GitLab, …), configured by discovery of
 * its issuer, signing in with the authorization code flow and PKCE (OpenID Connect Core §3.1,
 * RFC 7636). openid-client validates the ID token: signature (the issuer's JWKS), `iss`, `aud`,
 * `exp`, `iat` and our `nonce`; it also checks `state` and, when sent, the `iss` response
 * parameter (RFC 9207).
 */
export class OidcSsoProvider implements SsoProvider {
  readonly id: string
  readonly name: string
  readonly adminGroups: readonly string[]
  private configuration: Promise<oidc.Configuration> | undefined

  constructor(private readonly config: OidcProviderConfig) {
    this.id = config.id
    this.name = config.name ?? config.id
    this.adminGroups = config.adminGroups
  }

  async authorizationUrl(request: AuthorizationRequest): Promise<URL> {
    return oidc.buildAuthorizationUrl(await this.discovered(), {
      redirect_uri: request.redirectUri,
      scope: this.config.scopes.join(' '),
      state: request.state,
      nonce: request.nonce,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
    })
  }

  async complete(callback: AuthorizationCallback): Promise<SsoIdentity> {
    const configuration = await this.discovered()
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, callback.callbackUrl, {
        pkceCodeVerifier: callback.codeVerifier,
        expectedState: callback.state,
        expectedNonce: callback.nonce,
        idTokenExpected: true,
      })
    } catch (err) {
      throw this.refusal(err)
    }
    const claims = tokens.claims()
    if (!claims) throw new SsoRefusedError(`${this.name} sent no ID token`)
    let all: Record<string, unknown> = { ...claims }
    // Many providers put groups (and e-mail) in the userinfo answer only, unless asked otherwise.
    if (claimAt(all, this.config.groupsClaim) === undefined && configuration.serverMetadata().userinfo_endpoint) {
      try {
        all = { ...(await oidc.fetchUserInfo(configuration, tokens.access_token, claims.sub)), ...all }
      } catch (err) {
        throw this.refusal(err)
      }
    }
    const text = (name: string) => {
      const value = claimAt(all, name)
      return typeof value === 'string' && value !== '' ? value : undefined
    }
    const email = text('email')
    return {
      subject: claims.sub,
      nameCandidates: [text(this.config.usernameClaim), email, claims.sub].filter((v): v is string => v !== undefined),
      email,
      groups: groupNames(claimAt(all, this.config.groupsClaim)),
    }
  }

  /** Discovery on first use, kept; a failure is not kept, so the next sign-in tries again. */
  private discovered(): Promise<oidc.Configuration> {
    if (!this.configuration) {
      const issuer = new URL(this.config.issuer)
      // config.ts admits http only on a loopback host (development, tests).
      const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : []
      this.configuration = oidc
        .discovery(issuer, this.config.clientId, this.config.clientSecret, undefined, { execute, timeout: TIMEOUT_SECS })
        .catch((err: unknown) => {
          this.configuration = undefined
          throw new TroveError('UPSTREAM_UNAVAILABLE', `cannot read the OpenID configuration of '${this.id}' at ${this.config.issuer}: ${(err as Error).message}`, undefined, { cause: err })
        })
    }
    return this.configuration
  }

  private refusal(err: unknown): TroveError {
    if (err instanceof oidc.AuthorizationResponseError) {
      return new SsoRefusedError(`${this.name} refused the sign-in: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`, 'UNAUTHORIZED', { cause: err })
    }
    if (err instanceof oidc.ResponseBodyError) {
      // invalid_grant: a code used before (replayed), expired, or issued for another client or verifier.
      return new SsoRefusedError(`${this.name} refused the authorization code: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`, 'UNAUTHORIZED', { cause: err })
    }
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('OAUTH_')) {
      // openid-client's message is generic; the oauth4webapi error it wraps names the claim (aud, iss, nonce, exp).
      const inner = (err as { cause?: unknown }).cause
      const detail = inner instanceof Error ? inner.message : (err as Error).message
      const expected = (inner as { cause?: { expected?: unknown } } | undefined)?.cause?.expected
      const suffix = typeof expected === 'string' || typeof expected === 'number' ? ` (expected ${JSON.stringify(expected)})` : ''
      return new SsoRefusedError(`the answer of ${this.name} is not valid, the sign-in is refused: ${detail}${suffix}`, 'UNAUTHORIZED', { cause: err })
    }
    return new TroveError('UPSTREAM_UNAVAILABLE', `the sign-in provider '${this.id}' did not answer properly: ${(err as Error).message}`, undefined, { cause: err })
  }
}
