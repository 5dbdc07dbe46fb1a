import { randomBytes, randomUUID } from 'node:crypto'
import { SignJWT, errors as joseErrors, jwtVerify, type CryptoKey } from 'jose'
import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import { EVERYWHERE, NOWHERE, type PathAccess } from './path-access.js'
import { ACTIONS, type Action } from './principal.js'

/**
 * What a registry token lets its bearer do, on top of (never beyond) what its user may do: the
 * authorizer answers "no" to anything outside it. Repository paths are prefixes: a grant on
 * `images/app` covers `images/app` and everything below it.
 */
export interface AccessScope {
  readonly grants: readonly ScopeGrant[]
  /** The registry's catalog (`registry:catalog:*`) may be listed. */
  readonly catalog: boolean
}

export interface ScopeGrant {
  readonly repoKey: string
  /** `''`: the whole repository. */
  readonly path: string
  readonly actions: readonly Action[]
}

/** One entry of the `access` claim of the Docker token specification. */
export interface RegistryAccess {
  readonly type: string
  readonly name: string
  readonly actions: readonly string[]
}

export interface IssuedRegistryToken {
  readonly token: string
  readonly expiresInSecs: number
  readonly issuedAt: Date
}

export interface VerifiedRegistryToken {
  /** The user name; `undefined` for a token issued to an anonymous caller. */
  readonly subject: string | undefined
  readonly scope: AccessScope
  /** The access token the caller logged in with, when it was one: revoking it ends this token too. */
  readonly accessTokenId?: string | undefined
  /** When the token expires (ms since the epoch). */
  readonly expiresAt: number
}

/** Whether `scope` covers `action` on `repoKey` (at `path`, when the caller knows it; else on the whole repository). */
export function scopeAllows(scope: AccessScope, action: Action, repoKey: string, path?: string): boolean {
  const access = scopePathAccess(scope, action, repoKey)
  return path === undefined ? access.isEverywhere : access.file(path)
}

/** The paths of `repoKey` on which `scope` covers `action`: its grants' paths and what is below them. */
export function scopePathAccess(scope: AccessScope, action: Action, repoKey: string): PathAccess {
  const bases = scope.grants.filter((g) => g.repoKey === repoKey && g.actions.includes(action)).map((g) => g.path)
  if (bases.includes('')) return EVERYWHERE
  if (bases.length === 0) return NOWHERE
  const isWithin = (path: string, base: string) => path === base || path.startsWith(`${base}/`)
  return {
    isEverywhere: false,
    isNowhere: false,
    file: (path) => bases.some((base) => isWithin(path, base)),
    // The folders above a granted path lead to it.
    folder: (path) => bases.some((base) => isWithin(path, base) || path === '' || isWithin(base, path)),
  }
}

/**
 * Docker's registry actions in Trove's vocabulary: `pull` reads, `push` deploys, `delete` deletes,
 * `*` is everything.
 */
export function actionsOf(registryActions: readonly string[]): Action[] {
  const actions = new Set<Action>()
  for (const action of registryActions) {
    if (action === 'pull') actions.add('read')
    else if (action === 'push') actions.add('deploy')
    else if (action === 'delete') actions.add('delete')
    else if (action === '*') for (const a of ACTIONS) actions.add(a)
  }
  return [...actions]
}

/**
 * The scope an `access` claim grants. Registry names follow the repository path method: the first
 * segment is the repository key, the rest a path in it.
 */
export function scopeOf(access: readonly RegistryAccess[]): AccessScope {
  const grants: ScopeGrant[] = []
  let catalog = false
  for (const entry of access) {
    if (entry.type === 'registry' && entry.name === 'catalog' && entry.actions.includes('*')) catalog = true
    if (entry.type !== 'repository') continue
    const slash = entry.name.indexOf('/')
    const repoKey = slash === -1 ? entry.name : entry.name.slice(0, slash)
    const path = slash === -1 ? '' : entry.name.slice(slash + 1)
    const actions = actionsOf(entry.actions)
    if (actions.length > 0) grants.push({ repoKey, path, actions })
  }
  return { grants, catalog }
}

const SECRET_SETTING = 'registry.token-secret'
const ISSUER = 'trove'
/** Verified tokens kept (see `RegistryTokenService.verified`); the map is emptied when full. */
const VERIFIED_CACHE_LIMIT = 10_000
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** A registry token's lifetime when neither the caller nor the service's options name one. */
const DEFAULT_EXPIRY_SECS = 300

/**
 * Short-lived signed tokens for container registry clients (the Docker token specification):
 * HS256 JWTs whose `access` claim lists what they grant. The signing secret is generated once and
 * kept in the metadata store, so every node of a cluster issues and accepts the same tokens.
 */
export class RegistryTokenService {
  /** The signing key, imported once: jose would import raw bytes again on every verification (a large share of a pull's CPU). */
  private secret: Promise<CryptoKey> | undefined
  /**
   * Tokens already verified, until they expire. A client sends the same token with every request
   * of a pull; what a token grants depends only on its bytes and the clock (the secret never
   * changes), so this is safe on any number of nodes. The token's user is still looked up per
   * request by the authenticator, so disabling a user takes effect at once.
   */
  private readonly verified = new Map<string, { readonly token: VerifiedRegistryToken; readonly expiresAt: number }>()

  constructor(
    private readonly db: Kysely<Database>,
    /** `expirySecs`: a token's lifetime when the caller names none (the registry's format names its own). */
    private readonly options: { readonly expirySecs: number } = { expirySecs: DEFAULT_EXPIRY_SECS },
  ) {}

  /**
   * `origin`: the credential the caller authenticated with. `accessTokenId`, the access token, if
   * any (see {@link VerifiedRegistryToken.accessTokenId}); `notAfter`, when it expires: the
   * registry token expires no later (ms since the epoch); `expirySecs`, the token's lifetime (the
   * container registry's configured one), else the service's.
   */
  async issue(
    subject: string | undefined,
    audience: string,
    access: readonly RegistryAccess[],
    origin: { readonly accessTokenId?: string | undefined; readonly notAfter?: number | undefined; readonly expirySecs?: number | undefined } = {},
  ): Promise<IssuedRegistryToken> {
    const lifetime = origin.expirySecs ?? this.options.expirySecs
    const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000)
    const seconds = issuedAt.getTime() / 1000
    const expiresInSecs = origin.notAfter === undefined ? lifetime : Math.min(lifetime, Math.floor(origin.notAfter / 1000) - seconds)
    const accessTokenId = origin.accessTokenId
    const claims: Record<string, unknown> = { access: access.map((a) => ({ type: a.type, name: a.name, actions: [...a.actions] })) }
    if (accessTokenId !== undefined) claims.tid = accessTokenId
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(audience)
      .setIssuedAt(seconds)
      .setNotBefore(seconds)
      .setExpirationTime(seconds + expiresInSecs)
      .setJti(randomUUID())
    if (subject !== undefined) jwt.setSubject(subject)
    return { token: await jwt.sign(await this.key()), expiresInSecs, issuedAt }
  }

  /** The token's subject and scope, or `undefined` when it is not a valid, unexpired token of ours. */
  async verify(token: string): Promise<VerifiedRegistryToken | undefined> {
    const known = this.verified.get(token)
    if (known !== undefined) {
      if (Date.now() < known.expiresAt) return known.token
      this.verified.delete(token)
    }
    try {
      const { payload } = await jwtVerify(token, await this.key(), { issuer: ISSUER, algorithms: ['HS256'] })
      // Every token this service signs has an expiry; one without is not ours to honour.
      if (payload.exp === undefined) return undefined
      const verified = {
        subject: payload.sub || undefined,
        scope: scopeOf(parseAccess(payload.access)),
        accessTokenId: typeof payload.tid === 'string' ? payload.tid : undefined,
        expiresAt: payload.exp * 1000,
      }
      if (this.verified.size >= VERIFIED_CACHE_LIMIT) this.verified.clear()
      this.verified.set(token, { token: verified, expiresAt: verified.expiresAt })
      return verified
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return undefined
      throw err
    }
  }

  /** Whether a bearer credential has the shape of a JWT (Trove's opaque tokens never do). */
  static looksLikeJwt(value: string): boolean {
    return JWT_SHAPE.test(value)
  }

  private key(): Promise<CryptoKey> {
    this.secret ??= this.loadSecret().catch((err: unknown) => {
      this.secret = undefined
      throw err
    })
    return this.secret
  }

  /** Inserts a new secret unless one exists, then reads whichever won: every node ends up with the same. */
  private async loadSecret(): Promise<CryptoKey> {
    const now = Date.now()
    await this.db
      .insertInto('settings')
      .values({ name: SECRET_SETTING, value: randomBytes(32).toString('base64url'), updated_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute()
    const row = await this.db.selectFrom('settings').select('value').where('name', '=', SECRET_SETTING).executeTakeFirstOrThrow()
    return crypto.subtle.importKey('raw', Buffer.from(row.value, 'base64url'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
  }
}

function parseAccess(value: unknown): RegistryAccess[] {
  if (!Array.isArray(value)) return []
  return value.flatMap((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) return []
    const { type, name, actions } = entry as Record<string, unknown>
    if (typeof type !== 'string' || typeof name !== 'string' || !Array.isArray(actions)) return []
    return [{ type, name, actions: actions.filter((a): a is string => typeof a === 'string') }]
  })
}
