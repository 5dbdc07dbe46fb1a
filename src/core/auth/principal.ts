import type { AccessScope } from './registry-tokens.js'
import type { TokenScope } from './token-service.js'

/** Who is making a request. */
export type Principal =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'user'
      readonly name: string
      readonly isAdmin: boolean
      /**
       * How the user proved who they are: `session` is the web console's session, an access token
       * created by a password or single sign-on login (it stands for that login when creating tokens).
       */
      readonly via: 'password' | 'session' | 'token' | 'registry-token'
      /** The access token (or session) used; for a registry token, the access token it was issued for. */
      readonly tokenId?: string
      /** When the credential stops working (ms since the epoch); none for a password. */
      readonly expiresAt?: number
      /** Set for registry tokens: the user's rights, narrowed to what the token grants. */
      readonly scope?: AccessScope
      /** Set for access tokens: the token's `applied-permissions` (the authorizer intersects them with the owner's rights). */
      readonly tokenScope?: TokenScope
    }

export const ANONYMOUS: Principal = { kind: 'anonymous' }

export function principalName(principal: Principal): string {
  return principal.kind === 'user' ? principal.name : 'anonymous'
}

/** Actions on a repository, in DESIGN.md's vocabulary. */
export const ACTIONS = ['read', 'annotate', 'deploy', 'delete', 'manage'] as const
export type Action = (typeof ACTIONS)[number]
