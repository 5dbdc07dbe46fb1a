import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, TokenTable } from '../../metadata/schema.js'
import { TroveError, invalidField, notFound } from '../errors.js'
import type { AccessSettings } from './access-settings.js'
import { checkMintingBound, type MintingBound } from './token-minting.js'

export interface AccessToken {
  readonly id: string
  readonly subject: string
  readonly description: string
  readonly scope: string
  readonly createdAt: number
  readonly expiresAt: number | null
  readonly lastUsedAt: number | null
  readonly isRefreshable: boolean
  /** A web console session, created by a password or single sign-on login. */
  readonly isSession: boolean
  /**
   * The latest time this token, or any token a refresh trades it for, may expire at: the expiry of
   * the credential that created it (ms since the epoch); `null`: no bound.
   */
  readonly notAfter: number | null
}

export interface CreatedToken extends AccessToken {
  /** The secret. Returned once, at creation; only its sha256 is stored. */
  readonly token: string
  /** For a refreshable token: the secret that trades it for a new one (once). */
  readonly refreshToken?: string
}

/**
 * One `applied-permissions/…` entry of a token's scope (Artifactory's syntax). A token's rights
 * are the union of its entries, each intersected with what the owner may do now:
 * - `user`: everything the owner may do (an administrator stays one);
 * - `admin`: the same, for an owner who is an administrator (refused at creation otherwise);
 * - `groups`: only what the owner gets through these groups, while still a member;
 * - `roles`: only these project roles' actions on the project's repositories (and reading what is
 *   shared with it), never more than the owner's own roles there.
 */
export type AppliedPermissions =
  | { readonly kind: 'user' }
  | { readonly kind: 'admin' }
  | { readonly kind: 'groups'; readonly groups: readonly string[] }
  | { readonly kind: 'roles'; readonly project: string; readonly roles: readonly string[] }

export interface TokenScope {
  readonly applied: readonly AppliedPermissions[]
}

export const USER_SCOPE: TokenScope = { applied: [{ kind: 'user' }] }

/**
 * Parses a scope string: space-separated `applied-permissions/user`, `applied-permissions/admin`,
 * `applied-permissions/groups:g1,g2` (names may be quoted), `applied-permissions/roles:<project>:<role>[,<role>]`.
 * Throws BAD_REQUEST for anything else, so that a typo never yields a broader token.
 */
export function parseTokenScope(text: string): TokenScope {
  const applied: AppliedPermissions[] = []
  // Entries are space-separated; a quoted name may hold spaces (`roles:team:"Project Admin"`).
  for (const entry of text.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []) {
    const match = /^applied-permissions\/(user|admin|groups|roles)(?::(.+))?$/.exec(entry)
    if (!match) throw invalidField('scope', `unsupported scope '${entry}' (use applied-permissions/user, /admin, /groups:<g1>,<g2> or /roles:<project>:<role>)`)
    const kind = match[1] as AppliedPermissions['kind']
    const rest = match[2]
    if (kind === 'user' || kind === 'admin') {
      if (rest !== undefined) throw invalidField('scope', `scope '${entry}' takes no argument`)
      applied.push({ kind })
    } else if (kind === 'groups') {
      const groups = (rest ?? '').split(',').map((g) => g.trim().replace(/^"(.*)"$/, '$1')).filter(Boolean)
      if (groups.length === 0) throw invalidField('scope', `scope '${entry}' names no group`)
      applied.push({ kind, groups })
    } else {
      const colon = (rest ?? '').indexOf(':')
      const project = colon > 0 ? rest!.slice(0, colon).replace(/^"(.*)"$/, '$1') : ''
      const roles = colon > 0 ? rest!.slice(colon + 1).split(',').map((r) => r.trim().replace(/^"(.*)"$/, '$1')).filter(Boolean) : []
      if (!project || roles.length === 0) throw invalidField('scope', `scope '${entry}' must be applied-permissions/roles:<project>:<role>[,<role>]`)
      applied.push({ kind, project, roles })
    }
  }
  if (applied.length === 0) throw invalidField('scope', 'the scope is empty')
  return { applied }
}

/** A stored token's scope; one that no longer parses grants nothing (never more than it said). */
export function storedTokenScope(text: string): TokenScope {
  try {
    return parseTokenScope(text)
  } catch {
    return { applied: [] }
  }
}

/** Whether a token with this scope keeps its owner's administrator rights. */
export function scopeKeepsAdmin(scope: TokenScope): boolean {
  return scope.applied.some((a) => a.kind === 'user' || a.kind === 'admin')
}

/** Marks Trove tokens so that secret scanners and humans can recognise them. */
const TOKEN_PREFIX = 'trv_'
const REFRESH_PREFIX = 'trvr_'
/** `last_used_at` is written at most this often per token, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000
export const DEFAULT_TOKEN_SCOPE = 'applied-permissions/user'

export class TokenService {
  constructor(
    private readonly db: Kysely<Database>,
    /** The administrator's maximum token lifetime; none when not given. */
    private readonly settings?: AccessSettings,
    /** Called after a change that may end credentials (a revoked token, a changed password, a disabled or deleted account); see Authenticator's cache. */
    private readonly credentialsChanged: () => Promise<void> = async () => {},
  ) {}

  /**
   * Issues a token. With a maximum lifetime set by the administrator, a token without an expiry
   * gets the maximum and a longer one is refused (BAD_REQUEST, nothing stored). The token must stay
   * within `bound`, the credential creating it (see token-minting.ts): a scope it does not cover,
   * or an expiry after it, is refused (DENIED, nothing stored), or with `capsAtBound` the expiry is
   * cut to the bound. What the scope names (that the groups and projects exist) is the caller's business.
   */
  async create(input: {
    subject: string
    description?: string | undefined
    scope?: string | undefined
    expiresInSecs?: number | undefined
    refreshable?: boolean | undefined
    /** The credential the request was made with ({@link LOGIN_BOUND} for a password login). */
    bound: MintingBound
    /** Cut the expiry to the bound rather than refuse a later one (when the caller chose no lifetime). */
    capsAtBound?: boolean | undefined
    /** Marks a console session (only the login routes set it). */
    isSession?: boolean | undefined
  }): Promise<CreatedToken> {
    if (input.expiresInSecs !== undefined && (!Number.isSafeInteger(input.expiresInSecs) || input.expiresInSecs < 0)) {
      throw invalidField('expires_in', 'expires_in must be a whole number of seconds (0 for no expiry)')
    }
    const scope = input.scope ?? DEFAULT_TOKEN_SCOPE
    const parsed = parseTokenScope(scope)
    let expiresInSecs = input.expiresInSecs ?? 0
    const max = (await this.settings?.get())?.tokenMaxExpirySecs ?? 0
    if (max > 0) {
      if (expiresInSecs > max) {
        throw invalidField('expires_in', `expires_in ${expiresInSecs} is longer than the maximum token lifetime the administrator set (${max} seconds)`)
      }
      if (expiresInSecs === 0) expiresInSecs = max
    }
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
    const refreshToken = input.refreshable ? REFRESH_PREFIX + randomBytes(32).toString('base64url') : undefined
    const now = Date.now()
    let expiresAt = expiresInSecs ? now + expiresInSecs * 1000 : null
    const notAfter = input.bound.notAfter
    if (input.capsAtBound && notAfter !== undefined && (expiresAt === null || expiresAt > notAfter)) expiresAt = notAfter
    checkMintingBound(input.bound, parsed, scope, expiresAt, now)
    const row: TokenTable = {
      id: randomUUID(),
      token_hash: hashToken(token),
      subject: input.subject,
      description: input.description ?? '',
      scope,
      created_at: now,
      expires_at: expiresAt,
      last_used_at: null,
      refresh_hash: refreshToken ? hashToken(refreshToken) : null,
      is_session: input.isSession ? 1 : 0,
      not_after: notAfter ?? null,
    }
    await this.db.insertInto('tokens').values(row).execute()
    return { ...toToken(row), token, ...(refreshToken ? { refreshToken } : {}) }
  }

  /**
   * Artifactory's `grant_type=refresh_token`: trades a refresh token (and the token it belongs to,
   * expired or not) for a new token with the same subject, scope, description and lifetime, and a
   * new refresh token. The old token is revoked in the same step; a refresh token works once.
   * The new token keeps the old one's bound: it expires no later than the credential that created
   * the first token of the chain (sooner than its lifetime says, if need be), and once that time
   * has passed the token cannot be refreshed (UNAUTHORIZED). `undefined` when the refresh token is
   * unknown (or already used).
   */
  async refresh(refreshToken: string, accessToken?: string): Promise<CreatedToken | undefined> {
    if (!refreshToken.startsWith(REFRESH_PREFIX)) return undefined
    const row = await this.db.selectFrom('tokens').selectAll().where('refresh_hash', '=', hashToken(refreshToken)).executeTakeFirst()
    if (!row) return undefined
    if (accessToken !== undefined && accessToken !== '' && hashToken(accessToken) !== row.token_hash) return undefined
    const notAfter = row.not_after ?? undefined
    if (notAfter !== undefined && notAfter <= Date.now()) {
      throw new TroveError('UNAUTHORIZED', `the credential that created this token expired at ${new Date(notAfter).toISOString()}: the token can no longer be refreshed`)
    }
    // Deleting first makes a concurrent second use of the same refresh token find nothing.
    const deleted = await this.db.deleteFrom('tokens').where('id', '=', row.id).executeTakeFirst()
    if (Number(deleted.numDeletedRows) === 0) return undefined
    await this.credentialsChanged()
    const lifetime = row.expires_at === null ? 0 : Math.round((row.expires_at - row.created_at) / 1000)
    return this.create({
      subject: row.subject,
      description: row.description,
      scope: row.scope,
      expiresInSecs: lifetime,
      refreshable: true,
      bound: { notAfter },
      capsAtBound: true,
    })
  }

  async list(subject?: string): Promise<AccessToken[]> {
    let query = this.db.selectFrom('tokens').selectAll().orderBy('created_at')
    if (subject !== undefined) query = query.where('subject', '=', subject)
    return (await query.execute()).map(toToken)
  }

  async get(id: string): Promise<AccessToken | undefined> {
    const row = await this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? toToken(row) : undefined
  }

  async revoke(id: string): Promise<void> {
    const result = await this.db.deleteFrom('tokens').where('id', '=', id).executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw notFound(`token '${id}' does not exist`)
    await this.credentialsChanged()
  }

  /**
   * The token's record when `token` is a valid, unexpired token, else `undefined`. Records the
   * time of use (coarsely, see {@link LAST_USED_RESOLUTION_MS}).
   */
  async verify(token: string): Promise<AccessToken | undefined> {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined
    const row = await this.db.selectFrom('tokens').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst()
    if (!row) return undefined
    const now = Date.now()
    if (row.expires_at !== null && row.expires_at <= now) return undefined
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
      await this.db.updateTable('tokens').set({ last_used_at: now }).where('id', '=', row.id).execute()
      row.last_used_at = now
    }
    return toToken(row)
  }

  static looksLikeToken(secret: string): boolean {
    return secret.startsWith(TOKEN_PREFIX)
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function toToken(row: TokenTable): AccessToken {
  return {
    id: row.id,
    subject: row.subject,
    description: row.description,
    scope: row.scope,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    isRefreshable: row.refresh_hash !== null && row.refresh_hash !== undefined,
    isSession: row.is_session === 1,
    notAfter: row.not_after ?? null,
  }
}
