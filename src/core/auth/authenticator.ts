import { createHash } from 'node:crypto'
import type { ChangeFeed } from '../cluster/change-feed.js'
import type { LoginLimiter } from './login-limiter.js'
import { ANONYMOUS, type Principal } from './principal.js'
import { RegistryTokenService } from './registry-tokens.js'
import { TokenService, scopeKeepsAdmin, storedTokenScope, type AccessToken } from './token-service.js'
import type { UserService } from './user-service.js'
import { TroveError, unauthorized } from '../errors.js'

/** The change-feed topic of a change that may end credentials (UserService, TokenService and others publish it). */
export const CREDENTIALS_TOPIC = 'credentials'
/** Credentials remembered at most; past it the oldest go. */
const MAX_REMEMBERED = 10_000

interface Remembered {
  readonly principal: Principal
  readonly until: number
}

/**
 * Turns an `Authorization` header into a {@link Principal}: HTTP Basic with a password or an
 * access token as the password, `Bearer <token>`, or a bare access token (as cargo sends it). No
 * header means anonymous; a header with bad credentials is an error (clients must learn their
 * credentials are wrong, not get less).
 *
 * A verified credential is remembered for a short time (`rememberMs`, by a hash of the header, never
 * past the credential's own expiry), so that a client sending the same header on every request
 * costs no queries. Whatever may end credentials (a revoked token, a changed password, a disabled
 * or deleted account) publishes {@link CREDENTIALS_TOPIC}: every node forgets all it remembers at
 * once (this node before the change is answered). Failed checks are never remembered; a failed
 * password check is such a change too (it may have started a login block of an account or an
 * address, which must refuse the right password as well), and passwords are remembered per client address.
 */
export class Authenticator {
  private readonly remembered = new Map<string, Remembered>()
  /** Counts forgets: a check that started before one is not remembered. */
  private generation = 0
  private readonly rememberMs: number
  private readonly changes: ChangeFeed | undefined

  constructor(
    private readonly users: UserService,
    private readonly tokens: TokenService,
    /** Accepts the registry's signed tokens (`Bearer <jwt>`) when given. */
    private readonly registryTokens?: RegistryTokenService,
    /** Counts failed password checks and refuses them past the limits (see login-limiter.ts). */
    private readonly limiter?: LoginLimiter,
    options: { readonly rememberMs?: number; readonly changes?: ChangeFeed } = {},
  ) {
    this.rememberMs = options.rememberMs ?? 0
    this.changes = options.changes
    this.changes?.subscribe(CREDENTIALS_TOPIC, () => this.forget())
  }

  /** Forgets every remembered credential (on this node). */
  forget(): void {
    this.generation++
    this.remembered.clear()
  }

  /** `address`: the client's, for the login limits. */
  async authenticate(authorization: string | undefined, address?: string): Promise<Principal> {
    if (!authorization) return ANONYMOUS
    // By address too: a login block of an address must reach a password remembered for another.
    return this.rememberedOr(`h:${address ?? ''}\0${authorization}`, () => this.check(authorization, address))
  }

  private async rememberedOr(credential: string, check: () => Promise<Principal>): Promise<Principal> {
    if (this.rememberMs <= 0) return check()
    const key = createHash('sha256').update(credential).digest('base64')
    const now = Date.now()
    const hit = this.remembered.get(key)
    if (hit && hit.until > now) return hit.principal
    if (hit) this.remembered.delete(key)
    const generation = this.generation
    const principal = await check()
    if (generation === this.generation) {
      const expiresAt = principal.kind === 'user' ? principal.expiresAt : undefined
      const until = Math.min(now + this.rememberMs, expiresAt ?? Infinity)
      if (this.remembered.size >= MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!)
      this.remembered.set(key, { principal, until })
    }
    return principal
  }

  private async check(authorization: string, address: string | undefined): Promise<Principal> {
    const space = authorization.indexOf(' ')
    const scheme = (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase()
    const value = space === -1 ? '' : authorization.slice(space + 1).trim()
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon <= 0) throw unauthorized('malformed Basic credentials')
      return this.withSecret(decoded.slice(0, colon), decoded.slice(colon + 1), address)
    }
    if (scheme === 'bearer') {
      if (!value) throw unauthorized('empty bearer token')
      if (this.registryTokens && RegistryTokenService.looksLikeJwt(value)) return this.withRegistryToken(this.registryTokens, value)
      return this.withToken(undefined, value)
    }
    // A bare token, as cargo sends its registry token (`Authorization: <token>`).
    if (space === -1 && TokenService.looksLikeToken(authorization.trim())) return this.withToken(undefined, authorization.trim())
    throw unauthorized(`unsupported authorization scheme '${scheme}' (use Basic or Bearer)`)
  }

  /**
   * The web console's session cookie, which holds an access token. A stale session (expired,
   * revoked, owner disabled) is anonymous, not an error: a cookie is sent by the browser whether
   * or not the caller meant to, and the login page must stay reachable with an old one.
   */
  async authenticateSession(token: string): Promise<Principal> {
    if (!TokenService.looksLikeToken(token)) return ANONYMOUS
    try {
      return await this.rememberedOr(`s:${token}`, () => this.withToken(undefined, token))
    } catch (err) {
      if (err instanceof TroveError && err.code === 'UNAUTHORIZED') return ANONYMOUS
      throw err
    }
  }

  private async withSecret(name: string, secret: string, address: string | undefined): Promise<Principal> {
    if (TokenService.looksLikeToken(secret)) return this.withToken(name, secret)
    let user
    try {
      user = this.limiter ? await this.limiter.checkPassword(name, secret, address) : await this.users.checkPassword(name, secret)
    } catch (err) {
      await this.passwordFailed() // blocked: the right password is refused too, remembered or not
      throw err
    }
    if (!user) {
      await this.passwordFailed()
      throw unauthorized('bad credentials')
    }
    return { kind: 'user', name: user.name, isAdmin: user.isAdmin, via: 'password' }
  }

  /**
   * A failed password check may have blocked an account or an address (login-limiter.ts): what
   * every node remembers is forgotten, so that the block reaches remembered passwords at once.
   */
  private async passwordFailed(): Promise<void> {
    if (this.rememberMs <= 0) return
    if (this.changes) await this.changes.publish(CREDENTIALS_TOPIC)
    else this.forget()
  }

  private async withToken(expectedSubject: string | undefined, secret: string): Promise<Principal> {
    const token = await this.tokens.verify(secret)
    if (!token || (expectedSubject !== undefined && expectedSubject !== token.subject)) {
      throw unauthorized('invalid or expired token')
    }
    const user = await this.users.get(token.subject)
    if (!user || user.isDisabled) throw unauthorized('the token owner is disabled or gone')
    // The scope narrows the owner's current rights (the authorizer intersects); only a user or admin scope keeps admin rights.
    const tokenScope = storedTokenScope(token.scope)
    return {
      kind: 'user',
      name: user.name,
      isAdmin: user.isAdmin && scopeKeepsAdmin(tokenScope),
      via: token.isSession ? 'session' : 'token',
      tokenId: token.id,
      tokenScope,
      ...(token.expiresAt !== null ? { expiresAt: token.expiresAt } : {}),
    }
  }

  /**
   * A registry token: its user, restricted to the token's scope (the authorizer intersects the
   * two) and, when it was issued to an access token, to that token's scope as well. A token issued
   * to an anonymous caller authenticates as anonymous.
   */
  private async withRegistryToken(registryTokens: RegistryTokenService, jwt: string): Promise<Principal> {
    const verified = await registryTokens.verify(jwt)
    if (!verified) throw unauthorized('invalid or expired registry token')
    if (verified.subject === undefined) return ANONYMOUS
    let origin: AccessToken | undefined
    if (verified.accessTokenId !== undefined) {
      // Issued to a caller who logged in with an access token: it lives no longer than that token.
      origin = await this.tokens.get(verified.accessTokenId)
      if (!origin || (origin.expiresAt !== null && origin.expiresAt <= Date.now())) {
        throw unauthorized('the access token this registry token was issued for is revoked or expired')
      }
    }
    const user = await this.users.get(verified.subject)
    if (!user || user.isDisabled) throw unauthorized('the token owner is disabled or gone')
    const tokenScope = origin ? storedTokenScope(origin.scope) : undefined
    const expiresAt = origin?.expiresAt !== null && origin?.expiresAt !== undefined ? Math.min(origin.expiresAt, verified.expiresAt) : verified.expiresAt
    return {
      kind: 'user',
      name: user.name,
      isAdmin: user.isAdmin && (tokenScope === undefined || scopeKeepsAdmin(tokenScope)),
      via: 'registry-token',
      scope: verified.scope,
      expiresAt,
      ...(origin ? { tokenId: origin.id, tokenScope } : {}),
    }
  }
}
