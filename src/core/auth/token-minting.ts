import { TroveError, unauthorized } from '../errors.js'
import type { Principal } from './principal.js'
import { PROJECT_ROLES, roleActions } from './projects.js'
import type { AppliedPermissions, TokenScope } from './token-service.js'

/**
 * What a credential may hand on when it creates a token (docs/access.md, "Tokens"): a token it
 * creates has rights within the credential's scope and expires no later than the credential does.
 * Without this, a narrow or short-lived token could create a broad or everlasting one.
 */
export interface MintingBound {
  /** The credential's own scope; `undefined` for a login (a password, or a console session it created): any scope. */
  readonly scope?: TokenScope | undefined
  /** When the credential stops working (ms since the epoch); `undefined`: the new token may live for ever. */
  readonly notAfter?: number | undefined
}

/** A password (or single sign-on) login: it proved who the user is, and may create any token of theirs. */
export const LOGIN_BOUND: MintingBound = {}

/**
 * The bound of the credential a request was made with. A password and a console session create
 * any token; an access token only tokens within its scope and lifetime; a registry token none
 * (it is a credential for the registry API only).
 */
export function mintingBoundOf(principal: Principal): MintingBound {
  if (principal.kind !== 'user') throw unauthorized('authentication is required')
  switch (principal.via) {
    case 'password':
    case 'session':
      return LOGIN_BOUND
    case 'token':
      return { scope: principal.tokenScope ?? { applied: [] }, notAfter: principal.expiresAt }
    case 'registry-token':
      throw new TroveError('DENIED', 'a registry token cannot create access tokens')
  }
}

/**
 * Whether every right a token scoped `inner` can have is one a token scoped `outer` has, for the
 * same owner. Entry by entry, each entry of `inner` must fall within one entry of `outer`:
 * - `user` and `admin` hold everything (an admin scope still needs an administrator owner);
 * - `groups:<G>` holds `groups:<H>` when H is a subset of G;
 * - `roles:<P>:<R>` holds `roles:<P>:<S>` when S's actions are among R's (Viewer < Contributor <
 *   Developer < Project Admin); never another project's roles, never groups.
 * Anything else is refused: a narrower credential never names a broader kind of scope.
 */
export function scopeCovers(outer: TokenScope, inner: TokenScope): boolean {
  return inner.applied.length > 0 && inner.applied.every((wanted) => outer.applied.some((held) => entryCovers(held, wanted)))
}

function entryCovers(held: AppliedPermissions, wanted: AppliedPermissions): boolean {
  if (held.kind === 'user' || held.kind === 'admin') return true
  if (held.kind === 'groups') return wanted.kind === 'groups' && wanted.groups.every((g) => held.groups.includes(g))
  if (wanted.kind !== 'roles' || wanted.project !== held.project) return false
  // A role Trove does not know grants nothing, but is no role to hand on either.
  if (!wanted.roles.every((r) => r in PROJECT_ROLES)) return false
  const heldActions = roleActions(held.roles)
  return [...roleActions(wanted.roles)].every((a) => heldActions.has(a))
}

/**
 * Refuses (DENIED, 403) a token that would reach beyond `bound`: a scope it does not cover, or an
 * expiry after it (`null`: never expires). `scopeText` is the requested scope as given, for the message.
 */
export function checkMintingBound(bound: MintingBound, scope: TokenScope, scopeText: string, expiresAt: number | null, now: number): void {
  if (bound.scope !== undefined && !scopeCovers(bound.scope, scope)) {
    throw new TroveError(
      'DENIED',
      `a token scoped '${describeScope(bound.scope)}' cannot create a token scoped '${scopeText}': a token can only create tokens within its own scope (give a scope it covers; only a password, a console session or an unrestricted token creates user-wide or admin tokens)`,
    )
  }
  if (bound.notAfter !== undefined && (expiresAt === null || expiresAt > bound.notAfter)) {
    const left = Math.max(0, Math.floor((bound.notAfter - now) / 1000))
    throw new TroveError(
      'DENIED',
      `the credential of this request expires at ${new Date(bound.notAfter).toISOString()}: a token it creates must expire no later (send expires_in of at most ${left} seconds)`,
    )
  }
}

/** The scope in Artifactory's syntax, as `parseTokenScope` reads it back (names quoted when needed). */
export function describeScope(scope: TokenScope): string {
  if (scope.applied.length === 0) return '(none)'
  return scope.applied
    .map((a) => {
      if (a.kind === 'user' || a.kind === 'admin') return `applied-permissions/${a.kind}`
      if (a.kind === 'groups') return `applied-permissions/groups:${a.groups.map(quoted).join(',')}`
      return `applied-permissions/roles:${quoted(a.project)}:${a.roles.map(quoted).join(',')}`
    })
    .join(' ')
}

function quoted(name: string): string {
  return /[\s,:"]/.test(name) ? `"${name}"` : name
}
