import type { AccessScope } from './registry-tokens.js'
import type { TokenScope } from './token-service.js'

/** Who is making a request. */
export type Principal =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'user'
      readonly name: string
      readonly isAdmin: boolean
      /** How the user proved who they are. */
      readonly via: 'password' | 'token' | 'registry-token'
      readonly tokenId?: string
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
