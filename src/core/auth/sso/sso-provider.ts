import { TroveError } from '../../errors.js'

/** Who signed in, as a provider tells it. */
export interface SsoIdentity {
  /** Stable and unique at the provider (OIDC `sub`, GitHub's numeric user id). */
  readonly subject: string
  /** Trove user names to try at the first sign-in, best first (preferred user name, e-mail, subject). */
  readonly nameCandidates: readonly string[]
  readonly email: string | undefined
  readonly groups: readonly string[]
}

export interface AuthorizationRequest {
  readonly redirectUri: string
  readonly state: string
  readonly nonce: string
  /** S256 challenge of the PKCE code verifier (RFC 7636 §4.2). */
  readonly codeChallenge: string
}

export interface AuthorizationCallback extends Omit<AuthorizationRequest, 'codeChallenge'> {
  /** The callback URL as the browser requested it (the query carries `code`, `state`, maybe `iss` or `error`). */
  readonly callbackUrl: URL
  readonly codeVerifier: string
}

/** One configured sign-in provider: OpenID Connect (any issuer, by discovery) or GitHub OAuth. */
export interface SsoProvider {
  readonly id: string
  /** For the login button. */
  readonly name: string
  /** Groups whose members are administrators; empty: the admin flag is not managed by sign-ins. */
  readonly adminGroups: readonly string[]
  /** Where to send the browser. Throws UPSTREAM_UNAVAILABLE when the provider's metadata cannot be read. */
  authorizationUrl(request: AuthorizationRequest): Promise<URL>
  /**
   * Exchanges the callback's code and validates what comes back (for OIDC the ID token's
   * signature, issuer, audience, nonce and expiry). Throws {@link SsoRefusedError} when the
   * provider or the response refuses the sign-in.
   */
  complete(callback: AuthorizationCallback): Promise<SsoIdentity>
}

/** A sign-in that must not go on; the message says why, for the person at the browser. */
export class SsoRefusedError extends TroveError {
  constructor(message: string, code: 'UNAUTHORIZED' | 'BAD_REQUEST' | 'DENIED' = 'UNAUTHORIZED', options?: ErrorOptions) {
    super(code, message, undefined, options)
  }
}

/** Reads a claim by a dotted path (`realm_access.roles`); the whole name wins when it exists as is. */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (path in claims) return claims[path]
  let node: unknown = claims
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return node
}

/** A groups claim as a list of names: an array of strings, or one string (comma or space separated). */
export function groupNames(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : []
  return [...new Set(list.filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter((v) => v !== ''))]
}
